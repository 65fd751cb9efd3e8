/**
 * Issue 9's fault injection on a real booted server (the cached systemd test image, built with
 * --jitsi-source none: nginx, prosody, coturn). One boot, many faults: hostname changes between
 * meet.jitsi.test and meet2.jitsi.test are killed with SIGKILL at points spread over an
 * uninterrupted change's measured duration, one runs into a full disk, two runs with different
 * answers are started at once. After each, a plain re-run with the same answers must succeed
 * and the server must converge: `nginx -t` and `prosodyctl check config` pass, the master
 * config, nginx and prosody name the same host, the client probe works for it, and no temporary
 * file (one may hold the master config with its secrets) or TLS scratch is left.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import yaml from 'js-yaml';
import { isTemporaryName } from '../../src/lib/atomic-write.js';
import { ADDRESS, HOST, Scenario } from '../helpers/configure-scenario.js';

const OTHER = 'meet2.jitsi.test';
const KILL_POINTS = [0.03, 0.06, 0.1, 0.3, 0.5, 0.7, 0.9];
const RUN_TIMEOUT_MS = 180_000;
const PID_FILE = '/run/fault-injection.pid';

const answersFor = (hostname: string, extra: Record<string, unknown> = {}) => ({
  hostname,
  external_ip: ADDRESS,
  internal_ip: ADDRESS,
  localhost_alias: true,
  write_etc_hostname: true,
  jvb_max_memory: '512m',
  convener: { username: 'admin', password: 'correct horse battery staple' },
  tls: { mode: 'self-signed' },
  ...extra,
});

const scenario = new Scenario('systemd');
let current = HOST;

function answersPath(hostname: string, variant = ''): string {
  return `/root/answers-${hostname}${variant}.yaml`;
}

async function writeAnswers(hostname: string, extra: Record<string, unknown> = {}, variant = ''): Promise<string> {
  const path = answersPath(hostname, variant);
  await writeFile(scenario.path(path), yaml.dump(answersFor(hostname, extra)));
  return path;
}

/** Runs the configurator in the container under `sh`, which writes its PID (the configurator's, after exec) first. */
function startRun(answers: string, pidFile = PID_FILE) {
  return scenario.container.exec(['sh', '-c', `echo $$ > ${pidFile}; exec jitsi-meet-config --answers "$1"`, 'sh', answers], {
    reject: false,
    timeoutMs: RUN_TIMEOUT_MS,
  });
}

/** A plain run that must succeed; returns its output. */
async function plainRun(t: ExecutionContext, hostname: string, what: string): Promise<string> {
  const result = await startRun(answersPath(hostname));
  const output = `${result.stdout}\n${result.stderr}`;
  t.is(result.exitCode, 0, `${what}: the plain re-run fails:\n${output}`);
  t.regex(result.stdout.trimEnd().split('\n').at(-1) ?? '', /^jitsi-meet-config: SUCCESS: /, `${what}: ${output}`);
  return output;
}

/** Temporary files (lib/atomic-write names) anywhere under /etc and TLS scratch directories. */
async function leftovers(): Promise<string[]> {
  const found = await scenario.container.exec(['find', '/etc', '-xdev', '(', '-name', '.*.tmp', '-o', '-name', '.tls-*', ')'], { reject: false });
  return found.stdout
    .split('\n')
    .filter(Boolean)
    .filter((path) => isTemporaryName(path.split('/').at(-1)!) || /^\/etc\/jitsi\/tls\/\.tls-/.test(path));
}

/** Names nginx's enabled sites and prosody's enabled hosts serve, and the master config's hostname. */
async function servedNames(): Promise<{ master: string; nginx: string[]; prosody: string[] }> {
  const master = (yaml.load(await readFile(scenario.path('/etc/jitsi/master-config.yaml'), 'utf8')) as { hostname: string }).hostname;
  const namesIn = async (files: string[], pattern: RegExp) => {
    const names = new Set<string>();
    for (const file of files) {
      const text = await readFile(scenario.path(file), 'utf8').catch(() => '');
      for (const match of text.matchAll(pattern)) names.add(match[1]!);
    }
    return [...names].sort();
  };
  const sites = (await readdir(scenario.path('/etc/nginx/sites-enabled'))).map((entry) => `/etc/nginx/sites-enabled/${entry}`);
  // Prosody loads the host files its main config includes (Debian's conf.d/localhost.cfg.lua is not among them).
  const includes = await namesIn(['/etc/prosody/prosody.cfg.lua'], /^Include\s+"([^"]+)"/gm);
  const hostFiles = includes.map((include) => (include.startsWith('/') ? include : `/etc/prosody/${include}`));
  return {
    master,
    nginx: await namesIn(sites, /^\s*server_name\s+([^;\s]+)\s*;/gm),
    prosody: (await namesIn(hostFiles, /^VirtualHost\s+"([^"]+)"/gm)).filter((name) => !/^(guest|auth)\./.test(name)),
  };
}

/** Everything "converged" means for `hostname`. */
async function assertConverged(t: ExecutionContext, hostname: string, what: string): Promise<void> {
  const nginx = await scenario.container.exec(['nginx', '-t'], { reject: false });
  t.is(nginx.exitCode, 0, `${what}: nginx -t: ${nginx.stderr}`);
  const prosody = await scenario.container.exec(['prosodyctl', 'check', 'config'], { reject: false });
  t.is(prosody.exitCode, 0, `${what}: prosodyctl check config: ${prosody.stdout}${prosody.stderr}`);
  t.deepEqual(await servedNames(), { master: hostname, nginx: [hostname], prosody: [hostname] }, `${what}: master config, nginx and prosody agree`);
  t.deepEqual(await leftovers(), [], `${what}: no temporary file or TLS scratch left`);
  scenario.host = hostname;
  const credentials = await scenario.credentials();
  const report = await scenario.probe({ get: ['/config.js'], logins: scenario.clientLogins(credentials, await scenario.webConfigOnDisk()) });
  const configJs = report.get['/config.js'];
  t.true(configJs?.ok, `${what}: GET https://${hostname}/config.js: ${JSON.stringify(configJs).slice(0, 300)}`);
  t.regex(configJs?.body ?? '', new RegExp(`conference\\.${hostname.replace(/\./g, '\\.')}`), `${what}: config.js names ${hostname}`);
  for (const name of ['focus', 'jvb', 'convener', 'guest']) {
    t.true(report.logins[name]?.ok, `${what}: ${name} login: ${report.logins[name]?.error}`);
  }
  t.is(report.logins.convener?.joined?.[`probe-room@conference.${hostname}/convener`], true, `${what}: the convener opens a room`);
}

test.before(async () => {
  await scenario.start();
  await writeAnswers(HOST);
  await writeAnswers(OTHER);
  const first = await startRun(answersPath(HOST));
  if (first.exitCode !== 0) throw new Error(`first configure failed:\n${first.stdout}\n${first.stderr}`);
});
test.after.always(async () => {
  await scenario.dispose();
});

test.serial('hostname changes killed with SIGKILL at 3% to 90% of a run are repaired by a plain re-run', async (t) => {
  t.timeout(15 * 60_000);
  await assertConverged(t, HOST, 'first configure');
  // One uninterrupted change, timed: the kill points are fractions of it.
  const measured = Date.now();
  await plainRun(t, OTHER, 'uninterrupted change');
  const duration = Date.now() - measured;
  current = OTHER;
  t.log(`an uninterrupted hostname change took ${duration} ms`);
  await assertConverged(t, OTHER, 'uninterrupted change');

  let landed = 0;
  for (const fraction of KILL_POINTS) {
    const target = current === HOST ? OTHER : HOST;
    const what = `change to ${target} killed at ${fraction * 100}%`;
    await scenario.container.exec(['rm', '-f', PID_FILE]);
    const started = Date.now();
    const run = startRun(answersPath(target));
    await new Promise((resolve) => setTimeout(resolve, Math.round(duration * fraction)));
    // /run is the container's own tmpfs: read the PID file from inside. The PID is the container's.
    const pid = (await scenario.container.exec(['cat', PID_FILE], { reject: false })).stdout.trim();
    // Kill it from inside, by that PID only (and wait for the run whatever happens, so it cannot spill into the next test).
    const kill = /^\d+$/.test(pid) ? await scenario.container.exec(['kill', '-KILL', pid], { reject: false }) : undefined;
    const result = await run;
    t.regex(pid, /^\d+$/, `${what}: the run wrote its PID`);
    const killed = kill?.exitCode === 0 && !/jitsi-meet-config: (SUCCESS|FAILED)/.test(`${result.stdout}${result.stderr}`);
    if (killed) landed++;
    const lastLine = `${result.stdout}`.trimEnd().split('\n').at(-1);
    t.log(`${what}: ${killed ? 'killed' : `not killed (kill: ${kill?.exitCode} ${kill?.stderr.trim()})`} after ${Date.now() - started} ms; last line: ${lastLine}`);
    current = target;
    const rerun = await plainRun(t, target, what);
    t.log(`${what}: the re-run said: ${rerun.split('\n').filter((line) => /^(restart|reload|removed|\d+ file)/.test(line)).join(' | ')}`);
    await assertConverged(t, target, what);
  }
  t.true(landed >= KILL_POINTS.length - 1, `only ${landed} of ${KILL_POINTS.length} kills hit a running configurator`);
});

test.serial('a disk filled during a hostname change: a clear ENOSPC error naming the path, and a plain re-run converges', async (t) => {
  const target = current === HOST ? OTHER : HOST;
  const full = '/etc/jitsi/videobridge';
  // A 4 KiB tmpfs over one directory the configurator writes, filled up.
  await scenario.container.exec(['sh', '-c', `mount -t tmpfs -o size=4k tmpfs ${full} && (dd if=/dev/zero of=${full}/filler bs=1k count=64 2>/dev/null || true)`]);
  let result;
  try {
    result = await startRun(answersPath(target));
  } finally {
    await scenario.container.exec(['umount', full]);
  }
  current = target;
  t.is(result.exitCode, 1, `${result.stdout}\n${result.stderr}`);
  const lines = result.stderr.trimEnd().split('\n');
  t.regex(lines.at(-2) ?? '', new RegExp(`^jitsi-meet-config: \\S+ ${full}/\\S* failed: no space left on the device: free some space \\(ENOSPC\\); then run it again$`), result.stderr);
  t.regex(lines.at(-1) ?? '', /^jitsi-meet-config: FAILED: /);
  t.notRegex(result.stderr, /\n\s+at /, 'no stack trace');
  await plainRun(t, target, 'after the full disk');
  await assertConverged(t, target, 'after the full disk');
});

test.serial('two runs with different answers at once: one is refused with a clear message, the result is consistent', async (t) => {
  for (let round = 0; round < 2; round++) {
    const other = current === HOST ? OTHER : HOST;
    // Different answers: another hostname against the current one with another heap size.
    const sameHost = await writeAnswers(current, { jvb_max_memory: '768m' }, '-768m');
    const [a, b] = await Promise.all([startRun(answersPath(other), '/run/fault-a.pid'), startRun(sameHost, '/run/fault-b.pid')]);
    const outcomes = [a, b].map((result) => ({ code: result.exitCode, text: `${result.stdout}\n${result.stderr}` }));
    const refused = outcomes.filter((outcome) => /another jitsi-meet-config is running \(PID \d+\); wait until it has finished, then run it again/.test(outcome.text));
    const succeeded = outcomes.filter((outcome) => outcome.code === 0 && /jitsi-meet-config: SUCCESS: /.test(outcome.text));
    t.log(`round ${round}: exit codes ${outcomes.map((outcome) => outcome.code).join(', ')}`);
    // One waits (both succeed one after the other) or one is refused.
    t.true(succeeded.length === 2 || (succeeded.length === 1 && refused.length === 1 && refused[0]!.code === 1), outcomes.map((outcome) => outcome.text).join('\n----\n'));
    const winner = (await servedNames()).master;
    t.true(winner === other || winner === current, winner);
    current = winner;
    await assertConverged(t, winner, `concurrent runs, round ${round}`);
    // Every file is the winner's: the heap size, too, is the master config's.
    const master = yaml.load(await readFile(scenario.path('/etc/jitsi/master-config.yaml'), 'utf8')) as { jvb_max_memory: string };
    const jvb = await readFile(scenario.path('/etc/jitsi/videobridge/config'), 'utf8');
    t.is(/^VIDEOBRIDGE_MAX_MEMORY=(\S+)$/m.exec(jvb)?.[1], master.jvb_max_memory, 'the videobridge has the heap size of the master config');
  }
});

test.serial('after all the faults the server stops cleanly within 10 s', async (t) => {
  // A service left half-restarted by a killed run would turn the halt into a forced kill.
  const stopped = await scenario.container.stop();
  t.true(stopped.clean, `stop was forced after ${stopped.seconds} s`);
  t.true(stopped.seconds < 10, `stop took ${stopped.seconds} s`);
});
