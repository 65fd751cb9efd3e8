/**
 * The build with Jitsi's packages (the jitsi-packages stage and the jitsi-* cleanup steps),
 * against the signed stand-in of Jitsi's repository (test/helpers/jitsi-standin) on loopback
 * HTTP. Jitsi's real repository is not reachable here, so the stand-in is the only repository
 * these builds ever saw; the stand-in's maintainer scripts leave the side effects Jitsi's leave.
 *
 * - a mirror whose key is not the recipe's pinned one is refused before anything is built;
 * - with the stand-in's key given (--jitsi-key, as for a mirror its operator re-signs), both
 *   init systems build: the four packages installed (systemd: a recipe pinning the v1 set;
 *   OpenRC: the newest), none of their per-host side effects in the tarball, inspect clean,
 *   the apt source and key kept, the services off;
 * - the systemd image so built boots and configures (LAN-only answers): jicofo and the bridge
 *   run as their users and are healthy, i.e. both in the brewery;
 * - a repository signed by another key than the trusted one fails with apt's reason (a file:
 *   mirror, so that path is exercised too).
 *
 * Requires root, mmdebstrap, the Debian mirror, gpg, dpkg-deb and a JDK (the stand-in).
 */
import test from 'ava';
import { copyFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { formatFingerprint, JITSI_PLACEHOLDER_HOSTNAME } from '../../src/builder/jitsi-repository.js';
import type { InitSystem } from '../../src/lib/init-systems.js';
import { buildStandinRepo, createSigningKey, serveRepo, VERSIONS, type ServedRepo, type SigningKey, type StandinVersion } from '../helpers/jitsi-standin/index.js';
import { BUILD_CACHE, PROJECT_ROOT } from '../helpers/images.js';
import { HOST, LAN_ANSWERS, Scenario } from '../helpers/configure-scenario.js';
import { STANDIN_HEALTH_PORTS, standinHealth } from '../helpers/jitsi-health.js';
import { binaryOutput } from '../helpers/binary-output.js';
import { scratchDir } from '../helpers/scratch.js';

const PINNED = 'FFD65A0DA2BEBDEB73D44C8BB4D2D216F1FD7806';
const JITSI_PACKAGES = ['jicofo', 'jitsi-videobridge2', 'jitsi-meet-web', 'jitsi-meet-prosody'] as const;

/** The systemd image built against the stand-in, for the boot test after it. */
let builtSystemd: { tarball: string; nspawn: string } | undefined;
let key: SigningKey;
let otherKey: SigningKey;
let served: ServedRepo;
let repoDir: string;

test.before(async () => {
  key = await createSigningKey();
  otherKey = await createSigningKey('Some other key (test only)');
  repoDir = await scratchDir('build-jitsi-repo-');
  await buildStandinRepo({ dir: repoDir, version: 'v1', extraVersions: ['v2'], signingKey: key });
  // A mirror serves its key next to stable/, as Jitsi's site does.
  await copyFile(key.keyring, join(repoDir, 'jitsi-key.gpg.key'));
  served = await serveRepo(repoDir);
});

test.after.always(async () => {
  await served?.close();
  await key?.dispose();
  await otherKey?.dispose();
});

interface BuildRun {
  exitCode: number;
  output: string;
  out: string;
}

async function build(init: InitSystem, args: string[]): Promise<BuildRun> {
  const out = await scratchDir('build-jitsi-out-');
  const result = await execa(
    process.execPath,
    // The test images' cache: same bootstrap, and never the host's /var/cache.
    ['--import', 'tsx', join(PROJECT_ROOT, 'src/cli/main.ts'), 'build', '--init', init, '--out', out, '--compression', 'zstd', '--level', '1', '--plain', '--cache-dir', BUILD_CACHE, ...args],
    { cwd: PROJECT_ROOT, reject: false, all: true, stdin: 'ignore', env: { FORCE_COLOR: '0', NO_COLOR: '1' }, timeout: 20 * 60_000 },
  );
  return { exitCode: result.exitCode ?? 128, output: String(result.all ?? ''), out };
}

/** A recipe that is the bookworm recipe with the Jitsi packages pinned to one version set. */
async function pinnedRecipe(version: StandinVersion): Promise<string> {
  const dir = await scratchDir('build-jitsi-recipe-');
  const file = join(dir, 'pinned.yaml');
  const packages = JITSI_PACKAGES.map((name) => `    - { name: ${name}, version: "${VERSIONS[version][name]}" }`).join('\n');
  await writeFile(
    file,
    [
      `include: [${join(PROJECT_ROOT, 'recipes/debian-bookworm.yaml')}]`,
      'jitsi:',
      '  repository: https://download.jitsi.org',
      '  key-url: https://download.jitsi.org/jitsi-key.gpg.key',
      `  key-fingerprint: ${PINNED}`,
      '  packages:',
      packages,
      '  services-off: [jicofo, jitsi-videobridge2]',
      '',
    ].join('\n'),
  );
  return file;
}

async function tarball(out: string): Promise<string> {
  const name = (await readdir(out)).find((entry) => entry.endsWith('.tar.zst'));
  if (!name) throw new Error(`no tarball in ${out}: ${(await readdir(out)).join(', ')}`);
  return join(out, name);
}

async function fileIn(archive: string, path: string): Promise<string> {
  const { stdout } = await execa('tar', ['--zstd', '--extract', '--to-stdout', `--file=${archive}`, `./${path}`], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

test.serial("a mirror whose key is not the recipe's pinned one is refused before anything is built", async (t) => {
  const run = await build('systemd', ['--jitsi-source', served.url]);
  t.is(run.exitCode, 1, run.output);
  t.true(run.output.includes(formatFingerprint(key.fingerprint)), `names the key that arrived:\n${run.output}`);
  t.true(run.output.includes(formatFingerprint(PINNED)), 'and the one the recipe pins');
  t.true(run.output.includes('--jitsi-key'), 'and what to do for a re-signed mirror');
  t.regex(run.output, /Check inputs \[FAILED/, 'it failed while checking the inputs');
  t.notRegex(run.output, /Bootstrap the root file system/, 'so nothing was bootstrapped or installed');
  t.deepEqual(await readdir(run.out), [], 'nothing written');
});

const expectations: Record<InitSystem, { version: StandinVersion; pinned: boolean }> = {
  systemd: { version: 'v1', pinned: true },
  openrc: { version: 'v2', pinned: false },
};

for (const init of ['systemd', 'openrc'] as const) {
  const { version, pinned } = expectations[init];
  test.serial(`${init}: Jitsi's packages (${pinned ? 'pinned v1 set' : 'newest'}) from a re-signed mirror, none of their per-host state, inspect clean, services off`, async (t) => {
    const keyFile = join(await scratchDir('build-jitsi-key-'), 'mirror-key.gpg');
    await copyFile(key.keyring, keyFile);
    const args = ['--jitsi-source', served.url, '--jitsi-key', keyFile, ...(pinned ? ['--recipe', await pinnedRecipe(version)] : [])];
    const run = await build(init, args);
    if (run.exitCode !== 0) {
      t.fail(`build failed (exit ${run.exitCode}):\n${run.output.split('\n').slice(-40).join('\n')}`);
      return;
    }
    t.true(run.output.includes(`Jitsi repository key ${formatFingerprint(key.fingerprint)} from ${keyFile} (--jitsi-key`), 'the log prints the fingerprint of the key given');
    for (const step of ['jitsi-placeholder-host', 'jitsi-placeholder-certificates', 'jitsi-placeholder-accounts', 'jitsi-generated-configs', 'debconf-secrets']) {
      t.regex(run.output, new RegExp(`${step}: removed`), `${step} found something to remove (the stand-in's scripts made it)`);
    }
    const archive = await tarball(run.out);

    // The versions, in .packages and in inspect.
    const packageList = await readFile(join(run.out, (await readdir(run.out)).find((f) => f.endsWith('.packages'))!), 'utf8');
    const report = JSON.parse((await execa(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'src/cli/main.ts'), 'inspect', '--json', archive], { cwd: PROJECT_ROOT })).stdout) as {
      components: { package: string; version: string }[];
      findings: { severity: string; path: string; message: string }[];
    };
    for (const name of JITSI_PACKAGES) {
      t.regex(packageList, new RegExp(`^${name} ${VERSIONS[version][name].replace(/[.+]/g, '\\$&')} all$`, 'm'), `${name} ${VERSIONS[version][name]} in .packages`);
      t.is(report.components.find((c) => c.package === name)?.version, VERSIONS[version][name], `${name} in inspect`);
    }
    t.deepEqual(report.findings.filter((f) => f.severity === 'error'), [], 'inspect: no errors');
    for (const absent of ['jitsi-meet-turnserver', 'jitsi-meet-web-config', 'jitsi-meet ']) t.false(packageList.includes(`\n${absent}`), `${absent.trim()} not installed`);

    // None of the placeholder's state, and no generated config with a password.
    const { stdout: listing } = await execa('tar', ['--zstd', '--list', `--file=${archive}`], { maxBuffer: 256 * 1024 * 1024 });
    const entries = listing.split('\n');
    const placeholderEntries = entries.filter((entry) => entry.includes(JITSI_PLACEHOLDER_HOSTNAME) || entry.includes('jitsi%2dplaceholder'));
    t.deepEqual(placeholderEntries, [], 'no file names the placeholder');
    for (const generated of ['etc/jitsi/jicofo/jicofo.conf', 'etc/jitsi/jicofo/config', 'etc/jitsi/videobridge/jvb.conf', 'etc/jitsi/videobridge/config']) {
      t.false(entries.includes(`./${generated}`), `no ${generated}`);
    }
    t.true(entries.includes('./etc/jitsi/videobridge/logging.properties'), 'packaged defaults stay');
    const passwords = await fileIn(archive, 'var/cache/debconf/passwords.dat');
    t.regex(passwords, /^Name: jicofo\/jicofo-authpassword$/m, "the question is still registered");
    t.notRegex(passwords, /^Value:/m, 'but no secret answer is kept');
    const config = await fileIn(archive, 'var/cache/debconf/config.dat');
    t.regex(config, new RegExp(`^Name: jitsi-videobridge/jvb-hostname\\n(?:.+\\n)*?Value: ${JITSI_PLACEHOLDER_HOSTNAME.replace(/\./g, '\\.')}$`, 'm'), 'the placeholder hostname stays preseeded');
    const bundle = await fileIn(archive, 'etc/ssl/certs/ca-certificates.crt');
    const dir = await scratchDir('build-jitsi-cacerts-');
    await writeFile(join(dir, 'cacerts'), await binaryOutput('tar', ['--zstd', '--extract', '--to-stdout', `--file=${archive}`, './etc/ssl/certs/java/cacerts']));
    const javaStore = await execa('keytool', ['-list', '-keystore', join(dir, 'cacerts'), '-storepass', 'changeit']);
    t.notRegex(javaStore.stdout, /placeholder/, "Java's store trusts no placeholder certificate");
    const certificates = bundle.split('-----END CERTIFICATE-----').length - 1;
    t.true(certificates > 100, `the CA bundle is whole (${certificates} certificates)`);

    // Users, the apt source and its key.
    const passwd = await fileIn(archive, 'etc/passwd');
    t.regex(passwd, /^jvb:/m);
    t.regex(passwd, /^jicofo:/m);
    t.regex(await fileIn(archive, 'etc/group'), /^jitsi:/m);
    const sources = await fileIn(archive, 'etc/apt/sources.list.d/jitsi-stable.list');
    t.regex(sources, new RegExp(`^deb \\[signed-by=/usr/share/keyrings/jitsi-keyring\\.gpg\\] ${served.url.replace(/[./]/g, '\\$&')} stable/$`, 'm'));
    const keyringFile = join(dir, 'jitsi-keyring.gpg');
    await writeFile(keyringFile, await binaryOutput('tar', ['--zstd', '--extract', '--to-stdout', `--file=${archive}`, './usr/share/keyrings/jitsi-keyring.gpg']));
    const shown = await execa('gpg', ['--batch', '--show-keys', '--with-colons', keyringFile], { env: { ...process.env, GNUPGHOME: dir } });
    t.regex(shown.stdout, new RegExp(`^fpr:+${key.fingerprint}:`, 'm'), 'the keyring holds exactly the trusted key');

    // Off until configured.
    if (init === 'systemd') {
      t.false(entries.some((entry) => /etc\/systemd\/system\/.*\.wants\/jitsi-videobridge2\.service$/.test(entry)), 'the bridge unit is not enabled');
      t.false(entries.some((entry) => /etc\/rc[2-5]\.d\/S\d\djicofo$/.test(entry)), 'jicofo is in no runlevel');
      const nspawn = (await readdir(run.out)).find((f) => f.endsWith('.nspawn'))!;
      builtSystemd = { tarball: archive, nspawn: join(run.out, nspawn) };
    } else {
      t.false(entries.some((entry) => /etc\/runlevels\/[^/]+\/(jicofo|jitsi-videobridge2)$/.test(entry)), 'neither is in a runlevel');
      t.true(entries.includes('./etc/init.d/jitsi-videobridge2'), 'the bridge has an OpenRC service');
    }
  });
}

test.serial('the systemd image so built boots and configures: jicofo and the bridge run as their users, both in the brewery', async (t) => {
  if (!builtSystemd) {
    t.fail('needs the systemd image the build test made');
    return;
  }
  const scenario = new Scenario('systemd', builtSystemd);
  try {
    await scenario.start();
    const result = await scenario.configure(LAN_ANSWERS);
    t.regex(result.stdout, /SUCCESS/);
    // The stand-in daemons answer /about/health: the bridge once logged in and in the brewery,
    // jicofo only once it sees a bridge there (as the real ones).
    const deadline = Date.now() + 90_000;
    let bridge = 0;
    let jicofo = 0;
    while (Date.now() < deadline && (bridge !== 200 || jicofo !== 200)) {
      [bridge, jicofo] = [await standinHealth(scenario.ns, STANDIN_HEALTH_PORTS.bridge), await standinHealth(scenario.ns, STANDIN_HEALTH_PORTS.jicofo)];
      if (bridge !== 200 || jicofo !== 200) await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const ps = await scenario.container.exec(['ps', '-eo', 'user:12,args'], { reject: false });
    const logs = bridge === 200 && jicofo === 200 ? '' : (await scenario.container.exec(['sh', '-c', 'tail -n 20 /var/log/jitsi/*.log; journalctl -n 30 --no-pager -u jitsi-videobridge2 -u jicofo'], { reject: false })).stdout;
    // Only the configurator's check lines: its output also holds the generated convener password.
    const checks = result.stdout.split('\n').filter((line) => /^[✔⚠✘·-] [a-z]/.test(line)).join('\n');
    t.is(bridge, 200, `the bridge is healthy\n${ps.stdout}\n${logs}\n--- the configurator's checks:\n${checks}`);
    t.is(jicofo, 200, 'jicofo is healthy: it sees the bridge in the brewery');
    const java = ps.stdout.split('\n').filter((line) => line.includes(' java '));
    t.truthy(java.find((line) => /^jvb\s/.test(line)), ps.stdout);
    t.truthy(java.find((line) => /^jicofo\s/.test(line)), ps.stdout);

    // jitsi-meet-config --check sees the same: the checks of jicofo and the bridge apply and pass.
    const JITSI_CHECKS = ['service:jicofo', 'service:jitsi-videobridge2', 'listen:jicofo', 'xmpp:focus-roster', 'xmpp:brewery', 'health:videobridge', 'health:jicofo'];
    const check = async () => {
      const run = await scenario.container.exec(['jitsi-meet-config', '--check', '--json'], { reject: false, timeoutMs: 60_000 });
      return { code: run.exitCode, checks: (JSON.parse(run.stdout) as { checks: Array<{ name: string; status: string; detail: string; fix?: string }> }).checks };
    };
    const text = await scenario.container.exec(['jitsi-meet-config', '--check'], { reject: false, timeoutMs: 60_000 });
    t.log(text.stdout);
    const healthy = await check();
    for (const name of JITSI_CHECKS) t.like(healthy.checks.find((c) => c.name === name), { status: 'pass' }, name);
    // The stand-in bridge serves only its health port: no colibri websockets (9090), no media (10000/udp).
    t.like(healthy.checks.find((c) => c.name === 'listen:videobridge'), {
      status: 'fail',
      detail: "nothing listens on 9090/tcp (the bridge's public HTTP (colibri websockets)); nothing listens on 10000/udp (media)",
    });
    t.regex(healthy.checks.find((c) => c.name === 'xmpp:brewery')!.detail, new RegExp(`^the bridge jvb-${HOST.replace(/\./g, '\\.')} is in JvbBrewery@internal\\.auth\\.`));
    // The bridge stopped: its check fails, and exactly what needs it is skipped.
    await scenario.container.exec(['systemctl', 'stop', 'jitsi-videobridge2']);
    const stopped = await check();
    t.is(stopped.code, 1);
    t.like(stopped.checks.find((c) => c.name === 'service:jitsi-videobridge2'), { status: 'fail', detail: 'jitsi-videobridge2 is not running', fix: 'systemctl restart jitsi-videobridge2; if it stops again, read journalctl -u jitsi-videobridge2' });
    const skipped = ['listen:videobridge', 'xmpp:brewery', 'health:videobridge', 'health:jicofo'];
    t.deepEqual(stopped.checks.filter((c) => c.status === 'skipped').map((c) => c.name), skipped);
    t.deepEqual(
      stopped.checks.filter((c) => c.status === 'fail').map((c) => c.name),
      ['service:jitsi-videobridge2', ...healthy.checks.filter((c) => c.status === 'fail' && !skipped.includes(c.name)).map((c) => c.name)],
      'nothing else fails than before',
    );
    await scenario.container.exec(['systemctl', 'start', 'jitsi-videobridge2']);

    // focus's roster without its subscription to focus.<H>: exactly the roster check fails,
    // naming the fix, and that fix (--reapply subscribes again) makes it pass. prosody keeps the
    // roster of an account that is online in memory, so the stored roster is removed while jicofo
    // is stopped and prosody restarted; the bridge, dropped by the restart, is restarted by its unit.
    const roster = scenario.path(`/var/lib/prosody/auth%2e${HOST.replace(/\./g, '%2e')}/roster/focus.dat`);
    t.regex(await readFile(roster, 'utf8'), new RegExp(`focus\\.${HOST.replace(/\./g, '\\.')}`), 'the roster file holds the subscription');
    await scenario.container.exec(['systemctl', 'stop', 'jicofo']);
    await scenario.container.exec(['rm', '-f', `/var/lib/prosody/auth%2e${HOST.replace(/\./g, '%2e')}/roster/focus.dat`]);
    await scenario.container.exec(['systemctl', 'restart', 'prosody']);
    await scenario.container.exec(['systemctl', 'start', 'jicofo']);
    const othersHealthy = (report: Awaited<ReturnType<typeof check>>) =>
      JITSI_CHECKS.filter((name) => name !== 'xmpp:focus-roster').every((name) => report.checks.find((c) => c.name === name)?.status === 'pass');
    let unsubscribed = await check();
    for (let attempt = 0; attempt < 60 && !othersHealthy(unsubscribed); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      unsubscribed = await check();
    }
    t.is(unsubscribed.code, 1);
    t.like(unsubscribed.checks.find((c) => c.name === 'xmpp:focus-roster'), {
      status: 'fail',
      detail: `focus@auth.${HOST}'s roster does not hold focus.${HOST}: clients cannot reach jicofo`,
      fix: `run \`jitsi-meet-config --reapply\` (it subscribes focus's roster), or: prosodyctl mod_roster_command subscribe focus.${HOST} focus@auth.${HOST}`,
    });
    t.deepEqual(
      unsubscribed.checks.filter((c) => c.status === 'fail').map((c) => c.name).sort(),
      ['xmpp:focus-roster', ...healthy.checks.filter((c) => c.status === 'fail').map((c) => c.name)].sort(),
      'nothing else fails than before',
    );
    const reapplied = await scenario.container.exec(['jitsi-meet-config', '--reapply'], { reject: false, timeoutMs: 240_000 });
    t.is(reapplied.exitCode, 0, reapplied.stdout.split('\n').filter((line) => /FAILED|roster|warning/.test(line)).join('\n'));
    let resubscribed = await check();
    for (let attempt = 0; attempt < 20 && resubscribed.checks.find((c) => c.name === 'xmpp:focus-roster')?.status !== 'pass'; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      resubscribed = await check();
    }
    t.like(resubscribed.checks.find((c) => c.name === 'xmpp:focus-roster'), { status: 'pass' }, 'the fix it names repairs it');
  } finally {
    await scenario.dispose();
  }
});

test.serial('a repository signed by another key than the trusted one fails with apt\'s reason', async (t) => {
  const keyFile = join(await scratchDir('build-jitsi-key-'), 'wrong-key.gpg');
  await copyFile(otherKey.keyring, keyFile);
  // As a file: mirror, which the build shows read-only inside the root: apt reading its signed
  // index (and refusing it) is what proves that path works too.
  const run = await build('systemd', ['--jitsi-source', pathToFileURL(repoDir).href, '--jitsi-key', keyFile]);
  t.is(run.exitCode, 1, run.output.split('\n').slice(-30).join('\n'));
  t.regex(run.output, new RegExp(`is not signed by the trusted key ${formatFingerprint(otherKey.fingerprint).replace(/ /g, ' +')}`), run.output.split('\n').slice(-30).join('\n'));
  t.regex(run.output, /NO_PUBKEY|not signed/, "apt's own words are quoted");
  t.deepEqual(await readdir(run.out), [], 'nothing written');
});
