/**
 * `jitsi-meet-config --check` against a real configured server, registered for one init system
 * by test/integration/check-<init>.test.ts. One container is booted and configured; every test
 * breaks exactly one thing, asserts that exactly the check for it fails (with its fix, exit 1)
 * and that exactly the checks needing it are skipped, then repairs it and waits until the
 * server checks healthy again, so the next test starts from a healthy server.
 *
 * The test images are built without Jitsi's packages (--jitsi-source none): the checks of
 * jicofo, the videobridge and focus's roster report "not applicable" here; their decisions are
 * covered by the unit tests (test/configurator/check/).
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { execa } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CHECKS, decideBrewery, decideRoster } from '../../src/configurator/check/checks.js';
import type { CheckResult } from '../../src/configurator/check/types.js';
import type { InitSystem } from '../../src/lib/init-systems.js';
import { ADDRESS, HOST, Scenario, LAN_ANSWERS } from './configure-scenario.js';
import { PROJECT_ROOT } from './images.js';

const ANSWERS = LAN_ANSWERS;

/** What does not apply on an image without Jitsi's packages and with a self-signed certificate. */
const NOT_APPLICABLE = [
  'service:jicofo',
  'service:jitsi-videobridge2',
  'listen:jicofo',
  'listen:videobridge',
  'xmpp:focus-roster',
  'xmpp:brewery',
  'health:videobridge',
  'health:jicofo',
  'letsencrypt',
];

interface Report {
  code: number;
  ok: boolean;
  checks: CheckResult[];
  text: string;
}

/** Every check that needs `name`, directly or through others. */
function dependents(names: readonly string[]): Set<string> {
  const found = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const check of CHECKS) {
      if (found.has(check.name)) continue;
      if (check.needs.some((need) => names.includes(need) || found.has(need))) {
        found.add(check.name);
        grew = true;
      }
    }
  }
  return found;
}

export function registerCheckTests(init: InitSystem): void {
  const scenario = new Scenario(init);
  const service = (name: string, action: 'start' | 'stop' | 'restart') =>
    scenario.container.exec(init === 'systemd' ? ['systemctl', action, name] : ['rc-service', name, action], { timeoutMs: 60_000 });

  async function check(): Promise<Report> {
    const json = await scenario.container.exec(['jitsi-meet-config', '--check', '--json'], { reject: false, timeoutMs: 60_000 });
    const parsed = JSON.parse(json.stdout) as { ok: boolean; checks: CheckResult[] };
    return { code: json.exitCode, ok: parsed.ok, checks: parsed.checks, text: json.stdout };
  }

  /** The server checks healthy (waits a little: a restarted service binds its ports a moment later). */
  async function healthy(t: ExecutionContext, what: string): Promise<Report> {
    let report = await check();
    for (let attempt = 0; attempt < 20 && report.code !== 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      report = await check();
    }
    const problems = report.checks.filter((c) => c.status === 'fail' || c.status === 'skipped');
    t.deepEqual(problems, [], `${what}: every check passes`);
    t.is(report.code, 0, what);
    return report;
  }

  /** Exactly `failing` fail (each with a fix matching), exactly the checks needing them are skipped, exit 1. */
  async function onlyThese(t: ExecutionContext, failing: Record<string, { detail: RegExp; fix: RegExp }>): Promise<Report> {
    let report = await check();
    // A stopped or restarted service settles within a few seconds.
    for (let attempt = 0; attempt < 10 && !Object.keys(failing).every((name) => report.checks.find((c) => c.name === name)?.status === 'fail'); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      report = await check();
    }
    const names = Object.keys(failing);
    t.deepEqual(report.checks.filter((c) => c.status === 'fail').map((c) => c.name).sort(), [...names].sort(), report.text);
    for (const [name, expected] of Object.entries(failing)) {
      const result = report.checks.find((c) => c.name === name)!;
      t.regex(result?.detail ?? '', expected.detail, name);
      t.regex(result?.fix ?? '', expected.fix, `${name}: fix`);
    }
    const expectedSkipped = [...dependents(names)].filter((name) => !NOT_APPLICABLE.includes(name)).sort();
    t.deepEqual(report.checks.filter((c) => c.status === 'skipped').map((c) => c.name).sort(), expectedSkipped, 'skipped: the checks needing the failed ones');
    for (const skipped of report.checks.filter((c) => c.status === 'skipped')) t.regex(skipped.detail, /skipped because .* failed$/);
    t.is(report.code, 1);
    t.false(report.ok);
    return report;
  }

  /** Replaces a file in the container for the length of `body`, then puts the original bytes back. */
  async function withFile(path: string, change: (text: string) => string, body: () => Promise<void>): Promise<void> {
    const file = scenario.path(path);
    const original = await readFile(file);
    await writeFile(file, change(original.toString('utf8')));
    try {
      await body();
    } finally {
      await writeFile(file, original);
    }
  }

  test.before(async () => {
    await scenario.start();
    await scenario.configure(ANSWERS);
  });
  test.after.always(async () => {
    await scenario.dispose();
  });

  test.serial('a healthy configured server: every check passes or does not apply, in seconds; the text report has one line per check', async (t) => {
    const started = Date.now();
    const report = await healthy(t, 'healthy server');
    t.true(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
    t.deepEqual(report.checks.filter((c) => c.status === 'not-applicable').map((c) => c.name), NOT_APPLICABLE);
    t.regex(report.checks.find((c) => c.name === 'service:jicofo')!.detail, /jicofo is not installed/);
    t.like(report.checks.find((c) => c.name === 'xmpp:jvb-login'), { status: 'pass', detail: `jvb@auth.${HOST} logs in with the password in /etc/jitsi/videobridge/jvb.conf` });
    t.like(report.checks.find((c) => c.name === 'turn:allocation'), { status: 'pass' });
    t.like(report.checks.find((c) => c.name === 'turn:loopback-refused'), { status: 'pass' });
    t.like(report.checks.find((c) => c.name === 'tls:trusted'), { status: 'warn' });
    const text = await scenario.container.exec(['jitsi-meet-config', '--check'], { timeoutMs: 60_000 });
    const lines = text.stdout.trimEnd().split('\n');
    t.is(lines.length, CHECKS.length + 1);
    t.regex(lines.at(-1)!, /^jitsi-meet-config: OK: \d+ passed, \d+ warning\(s\), 0 failed, 9 not applicable\.$/);
    t.true(lines.slice(0, -1).every((line) => /^[✔⚠·] [a-z:0-9-]+: /.test(line)), text.stdout);
    // It writes nothing.
    const before = await scenario.snapshot();
    await check();
    t.deepEqual(await scenario.snapshot(), before);
  });

  test.serial("the check's own XMPP client on the real prosody: roster query, brewery occupants (the bridge by its nickname), a refused password", async (t) => {
    // These queries back xmpp:focus-roster and xmpp:brewery, which need Jitsi's packages and so
    // do not apply on this image: here the jvb account plays the bridge.
    const credentials = await scenario.credentials();
    const probe = await scenario.ns.exec([process.execPath, '--import', 'tsx', join(PROJECT_ROOT, 'test/helpers/check-xmpp-probe.ts')], {
      input: JSON.stringify({ authDomain: `auth.${HOST}`, focusPassword: credentials.focus, jvbPassword: credentials.jvb, brewery: credentials.breweryJid }),
      timeoutMs: 60_000,
    });
    const out = JSON.parse(probe.stdout) as { jvbSees: string[] | string; roster: Array<{ jid: string; subscription: string }>; occupants: string[]; wrong: string };
    t.deepEqual(out.jvbSees, [], 'the bridge is alone in the brewery before focus comes');
    t.deepEqual(out.occupants, ['jvb-probe']);
    t.like(decideBrewery(credentials.breweryJid, 'jvb-probe', out.occupants, init), { status: 'pass' });
    // Without jitsi-meet-prosody nobody subscribes focus's roster: the roster check's decision on it.
    t.deepEqual(out.roster, []);
    t.like(decideRoster(HOST, out.roster), { status: 'fail', detail: `focus@auth.${HOST}'s roster does not hold focus.${HOST}: clients cannot reach jicofo` });
    t.is(out.wrong, 'not-authorized: login refused (not-authorized)');
  });

  test.serial('a stopped service: its check fails with the command to start it; its sockets and TURN are skipped', async (t) => {
    await service('coturn', 'stop');
    try {
      await onlyThese(t, {
        'service:coturn': { detail: /^coturn (is not running|: openrc counts it as started, but no coturn process runs)/, fix: init === 'systemd' ? /^systemctl restart coturn/ : /^rc-service coturn restart/ },
      });
    } finally {
      await service('coturn', 'start');
    }
    await healthy(t, 'after starting coturn');
  });

  test.serial('a wrong password in jvb.conf: only the jvb login fails, naming the file', async (t) => {
    await withFile('/etc/jitsi/videobridge/jvb.conf', (text) => text.replace(/PASSWORD = "([^"]+)"/, 'PASSWORD = "$1-corrupted"'), async () => {
      await onlyThese(t, {
        'xmpp:jvb-login': { detail: new RegExp(`^jvb@auth\\.${HOST.replace(/\./g, '\\.')} cannot log in with the password in /etc/jitsi/videobridge/jvb\\.conf \\(not-authorized\\)$`), fix: /--reapply/ },
      });
    });
    await healthy(t, 'jvb.conf restored');
  });

  test.serial('an expired own certificate: the certificate check fails with the date and what to do; what needs it is skipped', async (t) => {
    const dir = scenario.scratch;
    await execa('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${HOST}`, '-addext', `subjectAltName=DNS:${HOST}`, '-keyout', join(dir, 'expired.key'), '-out', join(dir, 'expired.csr')]);
    await writeFile(join(dir, 'index'), '');
    await writeFile(join(dir, 'serial'), '01\n');
    await writeFile(join(dir, 'ca.cnf'), `[ca]\ndefault_ca=c\n[c]\ndatabase=${dir}/index\nnew_certs_dir=${dir}\nserial=${dir}/serial\ndefault_md=sha256\npolicy=p\ncopy_extensions=copy\n[p]\ncommonName=supplied\n`);
    await execa('openssl', ['ca', '-batch', '-config', join(dir, 'ca.cnf'), '-selfsign', '-keyfile', join(dir, 'expired.key'), '-in', join(dir, 'expired.csr'), '-startdate', '20250101000000Z', '-enddate', '20250201000000Z', '-out', join(dir, 'expired.crt'), '-notext']);
    await writeFile(scenario.path('/root/expired.crt'), await readFile(join(dir, 'expired.crt')));
    await writeFile(scenario.path('/root/expired.key'), await readFile(join(dir, 'expired.key')));
    const configured = await scenario.configure({ ...ANSWERS, tls: { mode: 'own', cert: '/root/expired.crt', key: '/root/expired.key' } });
    // The configuring run ends with the same checks as its summary.
    t.regex(configured.stdout, /^✘ tls:certificate: .*it expired on 2025-02-01/m);
    t.regex(configured.stdout.trimEnd().split('\n').at(-1)!, /^jitsi-meet-config: SUCCESS: .*checks: .*1 failed.*\(the fixes are above\)/);
    await onlyThese(t, {
      'tls:certificate': { detail: /it expired on 2025-02-01/, fix: /^put a valid certificate for meet\.jitsi\.test and its key at \/root\/expired\.crt and \/root\/expired\.key, then run `jitsi-meet-config --reapply`$/ },
    });
    await scenario.configure(ANSWERS);
    await healthy(t, 'back to a self-signed certificate');
  });

  test.serial('the hostname pointed at another address in /etc/hosts: only the DNS check fails', async (t) => {
    await withFile('/etc/hosts', (text) => `10.9.9.9 ${HOST}\n${text}`, async () => {
      await onlyThese(t, { dns: { detail: /^meet\.jitsi\.test resolves to 10\.9\.9\.9 here, not to 10\.77\.0\.2$/, fix: /remove the entries for meet\.jitsi\.test that name 10\.9\.9\.9 from \/etc\/hosts/ } });
    });
    await healthy(t, '/etc/hosts restored');
  });

  test.serial("another program on one of the server's ports: ports-free names it and its pid", async (t) => {
    const started = await scenario.container.exec(['sh', '-c', `node -e "require('net').createServer().listen(${8888}, '127.0.0.1')" >/dev/null 2>&1 & echo $!`]);
    const pid = started.stdout.trim();
    t.regex(pid, /^\d+$/);
    try {
      await onlyThese(t, { 'ports-free': { detail: new RegExp(`^8888/tcp \\(jicofo's jicofo's REST \\(health\\)\\) is held by node \\(pid ${pid}\\)$`), fix: /stop the program that holds the port/ } });
    } finally {
      await scenario.container.exec(['kill', pid]);
    }
    await healthy(t, 'the port is free again');
  });

  /**
   * Restarts prosody for real. On OpenRC Debian's init script stops `--name lua5.2` while
   * bookworm's prosody runs as lua5.4, so its stop (and restart) leaves the running prosody
   * alone: there it is stopped by its PID first.
   */
  async function restartProsody(): Promise<void> {
    if (init === 'systemd') {
      await service('prosody', 'restart');
      return;
    }
    // /run is the container's own tmpfs: read it from inside.
    const pid = (await scenario.container.exec(['cat', '/run/prosody/prosody.pid'])).stdout.trim();
    await scenario.container.exec(['sh', '-c', `kill ${pid}; while kill -0 ${pid} 2>/dev/null; do sleep 0.1; done`], { timeoutMs: 20_000 });
    await service('prosody', 'restart');
  }

  const exposeProsody = async () => {
    await scenario.container.exec(['sed', '-i', 's/^c2s_interfaces = .*/c2s_interfaces = { "*" }/', '/etc/prosody/prosody.cfg.lua']);
    await restartProsody();
  };
  const exposed = {
    'loopback-only': { detail: /^prosody's c2s \(5222\/tcp\) listens on (0\.0\.0\.0|::) \(every address\).*: it must be reachable on 127\.0\.0\.1 only$/, fix: /^run `jitsi-meet-config --reapply`: it writes prosody's configuration back/ },
  };

  test.serial('prosody listening on every address: only loopback-only fails (the logins still work)', async (t) => {
    const original = await readFile(scenario.path('/etc/prosody/prosody.cfg.lua'));
    await exposeProsody();
    try {
      await onlyThese(t, exposed);
    } finally {
      await writeFile(scenario.path('/etc/prosody/prosody.cfg.lua'), original);
      await restartProsody();
    }
    await healthy(t, 'prosody.cfg.lua restored');
  });

  // On OpenRC the re-apply restarts prosody with prosodyctl: Debian's init script's restart is a
  // no-op there (see restartProsody), which made this a known failure before.
  test.serial('the fix loopback-only names (--reapply) puts prosody back on loopback', async (t) => {
    await exposeProsody();
    try {
      await onlyThese(t, exposed);
      const reapplied = await scenario.container.exec(['jitsi-meet-config', '--reapply'], { timeoutMs: 240_000 });
      t.regex(reapplied.stdout, /^restart prosody$/m);
      await healthy(t, 'after --reapply');
    } finally {
      await restartProsody();
    }
  });

  test.serial("a bridge mapping to another public address in jvb.conf: the NAT check fails", async (t) => {
    await withFile(
      '/etc/jitsi/videobridge/jvb.conf',
      (text) => text.replace(/mapping = \{/, `mapping = {\n        static-mappings = [\n          {\n            name = "stray"\n            local-address = "${ADDRESS}"\n            public-address = "192.0.2.9"\n          }\n        ]`),
      async () => {
        await onlyThese(t, { nat: { detail: /^the bridge announces 192\.0\.2\.9 \(jvb\.conf static mapping\), not 10\.77\.0\.2$/, fix: /--reapply/ } });
      },
    );
    await healthy(t, 'jvb.conf restored');
  });

  test.serial("coturn with another secret than prosody's: the allocation is refused (401) naming the mismatch; the loopback test is skipped", async (t) => {
    await scenario.container.exec(['sed', '-i', 's/^static-auth-secret=.*/static-auth-secret=not-the-shared-secret-0000/', '/etc/turnserver.conf']);
    await service('coturn', 'restart');
    await onlyThese(t, { 'turn:allocation': { detail: /refused an allocation: 401.*external_service_secret and coturn's static-auth-secret differ/, fix: /^run `jitsi-meet-config --reapply`: it writes the same secret to both/ } });
    await scenario.container.exec(['jitsi-meet-config', '--reapply'], { timeoutMs: 240_000 });
    await healthy(t, 'after --reapply');
  });

  test.serial('the server not started at boot: the boot check fails with the command', async (t) => {
    const disable = init === 'systemd' ? ['systemctl', 'disable', '--quiet', 'jitsi-meet-server.target'] : ['rc-update', 'del', 'jitsi-meet-server', 'default'];
    const enable = init === 'systemd' ? ['systemctl', 'enable', '--quiet', 'jitsi-meet-server.target'] : ['rc-update', 'add', 'jitsi-meet-server', 'default'];
    await scenario.container.exec(disable);
    try {
      await onlyThese(t, { boot: { detail: /^jitsi-meet-server is not enabled at boot/, fix: init === 'systemd' ? /^systemctl enable jitsi-meet-server\.target$/ : /^rc-update add jitsi-meet-server default$/ } });
    } finally {
      await scenario.container.exec(enable);
    }
    await healthy(t, 'enabled again');
  });
}
