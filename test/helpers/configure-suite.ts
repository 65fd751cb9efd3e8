/**
 * The configure acceptance tests, registered for one init system by
 * test/integration/configure-<init>.test.ts. They run in order on one booted container.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { webTls } from '../../src/configurator/paths.js';
import { HOST, LAN_ANSWERS, Scenario, startPebble, type Credentials } from './configure-scenario.js';
import type { ProbeReport } from './jitsi-probe.js';
import { evaluateWebConfig } from './generated-files.js';
import type { InitSystem } from '../../src/lib/init-systems.js';

const SELF_SIGNED_ANSWERS = LAN_ANSWERS;

/** Asserts every client check of the acceptance criteria on a probe report. */
function assertServerWorks(t: ExecutionContext, report: ProbeReport, credentials: Credentials, what: string): void {
  const configJs = report.get['/config.js'];
  t.true(configJs?.ok, `${what}: GET https://${HOST}/config.js: ${JSON.stringify(configJs).slice(0, 300)}`);
  const served = evaluateWebConfig(configJs?.body ?? 'var config = {};');
  t.like(served.hosts, { domain: HOST, muc: `conference.${HOST}`, anonymousdomain: `guest.${HOST}` }, `${what}: config.js hosts`);
  t.is(served.bosh, `https://${HOST}/http-bind`);
  t.is(served.websocket, `wss://${HOST}/xmpp-websocket`);

  t.true(report.bosh?.ok, `${what}: BOSH session on /http-bind: ${JSON.stringify(report.bosh).slice(0, 500)}`);

  const brewery = `${credentials.breweryJid}`;
  t.true(report.logins.focus?.ok, `${what}: focus login: ${report.logins.focus?.error}`);
  t.is(report.logins.focus?.joined?.[`${brewery}/focus`], true, `${what}: focus joins the brewery`);
  t.true(report.logins.jvb?.ok, `${what}: jvb login: ${report.logins.jvb?.error}`);
  t.is(report.logins.jvb?.joined?.[`${brewery}/jvb-probe`], true, `${what}: jvb joins the brewery`);
  t.true(report.logins.convener?.ok, `${what}: convener login over the websocket: ${report.logins.convener?.error}`);
  t.is(report.logins.convener?.joined?.[`probe-room@conference.${HOST}/convener`], true, `${what}: the convener opens a room`);
  t.true(report.logins.guest?.ok, `${what}: anonymous guest over the websocket: ${report.logins.guest?.error}`);
  t.regex(report.logins.guest?.jid ?? '', new RegExp(`@guest\\.${HOST.replace(/\./g, '\\.')}/`), `${what}: guests are on the guest domain`);
  t.is(report.logins.guest?.joined?.[`probe-room@conference.${HOST}/guest`], true, `${what}: the guest joins the convener's room`);
  t.is(report.logins.guest?.joined?.[`guest-own-room@conference.${HOST}/guest`], 'not-allowed', `${what}: a guest cannot open a room`);
}

async function fullProbe(scenario: Scenario, credentials: Credentials) {
  return scenario.probe({
    get: ['/config.js'],
    boshDomain: `guest.${HOST}`,
    logins: scenario.clientLogins(credentials, await scenario.webConfigOnDisk()),
  });
}

export function registerConfigureTests(init: InitSystem): void {
  const scenario = new Scenario(init);
  let credentials: Credentials;
  let firstOutput = '';

  test.before(async () => {
    await scenario.start();
    firstOutput = (await scenario.configure(SELF_SIGNED_ANSWERS)).stdout;
    credentials = await scenario.credentials();
  });
  test.after.always(async () => {
    await scenario.dispose();
  });

  test.serial('configure --answers brings the server up: HTTPS config.js, BOSH, focus/jvb in the brewery, convener and guest rooms', async (t) => {
    t.regex(firstOutput, /^\d+ file\(s\) written, \d+ unchanged, \d+ removed/m);
    assertServerWorks(t, await fullProbe(scenario, credentials), credentials, 'first configure');
    const wrong = await scenario.probe({
      logins: [{ name: 'focus', service: 'xmpp://127.0.0.1:5222', domain: `auth.${HOST}`, username: 'focus', password: `${credentials.focus}x` }],
    });
    t.false(wrong.logins.focus?.ok, 'a wrong focus password is refused');
    t.regex(wrong.logins.focus?.error ?? '', /not-authorized/);
  });

  test.serial('coturn allocates with credentials derived from the shared secret and refuses a wrong secret', async (t) => {
    const good = await scenario.turnAllocation(credentials.turnSecret);
    t.true(good.ok, good.output);
    const bad = await scenario.turnAllocation(`${credentials.turnSecret}-wrong`);
    t.false(bad.ok, bad.output);
    t.regex(bad.output, /Cannot complete Allocation/);
  });

  test.serial('re-running with the same answers writes nothing and restarts nothing', async (t) => {
    const before = await scenario.snapshot();
    const rerun = await scenario.configure(SELF_SIGNED_ANSWERS);
    t.regex(rerun.stdout, /^0 file\(s\) written, \d+ unchanged, 0 removed$/m);
    t.notRegex(rerun.stdout, /^(restart|reload) /m);
    const after = await scenario.snapshot();
    const differing = [...new Set([...before.keys(), ...after.keys()])].filter((path) => before.get(path) !== after.get(path));
    t.deepEqual(differing, []);
    t.deepEqual(await scenario.credentials(), credentials, 'secrets kept');
  });

  test.serial('a crashed service is started again by re-running the configurator', async (t) => {
    const pid = (await scenario.container.exec(['pidof', 'turnserver'])).stdout.trim().split(/\s+/)[0];
    t.regex(pid, /^\d+$/, 'coturn runs');
    // A crash: killed by its PID, no stop through the init system.
    await scenario.container.exec(['kill', '-KILL', pid]);
    await scenario.container.exec(['sh', '-c', `while kill -0 ${pid} 2>/dev/null; do sleep 0.1; done`], { timeoutMs: 10_000 });
    const rerun = await scenario.configure(SELF_SIGNED_ANSWERS);
    t.regex(rerun.stdout.trimEnd().split('\n').at(-1) ?? '', /^jitsi-meet-config: SUCCESS: /);
    // OpenRC still counts the dead coturn as started: only the configurator's restart revives it.
    if (init === 'openrc') t.regex(rerun.stdout, /^restart coturn \(it was not running\)$/m, rerun.stdout);
    // coturn binds its ports a moment after its init script returns.
    let turn = await scenario.turnAllocation(credentials.turnSecret);
    for (let attempt = 0; attempt < 10 && !turn.ok; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      turn = await scenario.turnAllocation(credentials.turnSecret);
    }
    t.true(turn.ok, `${turn.output}\n--- configurator:\n${rerun.stdout}`);
  });

  test.serial('a configured server stops cleanly within 10 s; after a reboot it comes up by itself and everything still works', async (t) => {
    // Stopping with every service running is where a service that ignores its stop (coturn
    // without a pidfile its init script can find) turns into a forced 30-second kill.
    const stopped = await scenario.container.stop();
    t.true(stopped.clean, `stop was forced after ${stopped.seconds} s`);
    t.true(stopped.seconds < 10, `stop took ${stopped.seconds} s`);
    await scenario.container.reboot();
    assertServerWorks(t, await fullProbe(scenario, credentials), credentials, 'after reboot');
    const turn = await scenario.turnAllocation(credentials.turnSecret);
    t.true(turn.ok, turn.output);
  });

  test.serial('--rotate-secrets: the new passwords and TURN secret work everywhere, the old ones no longer do', async (t) => {
    const old = credentials;
    const output = (await scenario.configure(SELF_SIGNED_ANSWERS, ['--rotate-secrets'])).stdout;
    t.regex(output, /new secrets/);
    credentials = await scenario.credentials();
    t.not(credentials.focus, old.focus);
    t.not(credentials.jvb, old.jvb);
    t.not(credentials.turnSecret, old.turnSecret);
    assertServerWorks(t, await fullProbe(scenario, credentials), credentials, 'after rotation');
    const stale = await scenario.probe({
      logins: [
        { name: 'focus', service: 'xmpp://127.0.0.1:5222', domain: `auth.${HOST}`, username: 'focus', password: old.focus },
        { name: 'jvb', service: 'xmpp://127.0.0.1:5222', domain: `auth.${HOST}`, username: 'jvb', password: old.jvb },
      ],
    });
    t.false(stale.logins.focus?.ok, 'old focus password refused');
    t.false(stale.logins.jvb?.ok, 'old jvb password refused');
    t.true((await scenario.turnAllocation(credentials.turnSecret)).ok, 'new TURN secret works');
    t.false((await scenario.turnAllocation(old.turnSecret)).ok, 'old TURN secret refused');
  });

  test.serial("Let's Encrypt mode against a local ACME server (pebble): issued over http-01, served, renewed by the deploy hook", async (t) => {
    const pebble = await startPebble(scenario);
    const answers = { ...SELF_SIGNED_ANSWERS, tls: { mode: 'letsencrypt' }, letsencrypt: { email: `admin@${HOST}`, server: pebble.directory } };
    // REQUESTS_CA_BUNDLE: certbot must trust pebble's own TLS certificate (set explicitly, the image has none).
    const env = { REQUESTS_CA_BUNDLE: pebble.caFileInContainer };
    const output = (await scenario.configure(answers, [], env)).stdout;
    t.regex(output, /requesting a certificate/);
    const web = webTls(HOST);
    const issued = new X509Certificate(await readFile(scenario.path(web.cert)));
    t.regex(issued.issuer, /Pebble/, 'the canonical certificate comes from the ACME server');
    t.true(issued.subjectAltName?.includes(`DNS:${HOST}`));
    t.is((await scenario.servedCertificate()).fingerprint256, issued.fingerprint256, 'nginx serves it');
    // The chain nginx serves verifies against pebble's root: the full chain reached nginx.
    const trust = await scenario.trustFile([await pebble.rootCa()]);
    const served = await scenario.probe({ get: ['/config.js'] }, trust);
    t.true(served.get['/config.js']?.ok, JSON.stringify(served.get['/config.js']).slice(0, 300));

    // A renewal goes through certbot's deploy hook: new certificate in place and served.
    await scenario.container.exec(['certbot', 'renew', '--force-renewal', '--no-random-sleep-on-renew'], { env, timeoutMs: 120_000 });
    const renewed = new X509Certificate(await readFile(scenario.path(web.cert)));
    t.not(renewed.serialNumber, issued.serialNumber, 'renewal replaced the certificate');
    t.is((await scenario.servedCertificate()).fingerprint256, renewed.fingerprint256, 'nginx reloaded by the deploy hook');

    const rerun = await scenario.configure(answers, [], env);
    t.regex(rerun.stdout, /^0 file\(s\) written, \d+ unchanged, 0 removed$/m, 'a re-run after renewal changes nothing (the hook writes what the apply step would)');
    if (init === 'systemd') {
      const timer = await scenario.container.exec(['systemctl', 'is-enabled', 'certbot.timer'], { reject: false });
      t.is(timer.stdout.trim(), 'enabled', 'renewal is scheduled');
    } else {
      // Debian's /etc/cron.d/certbot renews where systemd is not PID 1: cron must run now and at boot.
      const cron = await scenario.container.exec(['rc-service', 'cron', 'status'], { reject: false });
      t.is(cron.exitCode, 0, `cron is running: ${cron.stdout}${cron.stderr}`);
      const runlevel = await scenario.container.exec(['rc-update', 'show', 'default'], { reject: false });
      t.regex(runlevel.stdout, /^\s*cron \|/m, 'cron starts at boot');
      const entry = await scenario.container.exec(['cat', '/etc/cron.d/certbot'], { reject: false });
      t.regex(entry.stdout, /certbot -q renew/, 'renewal is scheduled');
    }
    // jitsi-meet-config --check sees the same: renewal scheduled, the last attempt (the forced
    // renewal above) succeeded, and the certificate is no longer self-signed.
    const checked = await scenario.container.exec(['jitsi-meet-config', '--check', '--json'], { reject: false, timeoutMs: 60_000 });
    const results = (JSON.parse(checked.stdout) as { checks: Array<{ name: string; status: string; detail: string }> }).checks;
    t.like(results.find((c) => c.name === 'letsencrypt'), { status: 'pass' }, checked.stdout);
    t.regex(results.find((c) => c.name === 'letsencrypt')?.detail ?? '', /; the last attempt succeeded$/);
    t.like(results.find((c) => c.name === 'tls:trusted'), { status: 'pass' });
    t.like(results.find((c) => c.name === 'tls:served'), { status: 'pass' });
  });
}
