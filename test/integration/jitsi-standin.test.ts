/**
 * The stand-in for Jitsi's apt repository (test/helpers/jitsi-standin), checked the way issue 8
 * will use it:
 * - apt trusts it with its key and only with its key, and refuses tampered indices (apt on
 *   this host, in a sandboxed configuration under a scratch directory);
 * - its packages install with apt into the unpacked systemd and OpenRC test images
 *   (systemd-nspawn, not booted) from the loopback server, debconf preseeded with a placeholder
 *   hostname, and leave the side effects of Jitsi's packages; the upgrade to the second version
 *   set rewrites jicofo's client proxy from debconf as upstream's does;
 * - booted (systemd image, in a network namespace of its own), the packages' unit and init
 *   script run the stand-in daemons as jvb and jicofo with the configs the packages wrote, and
 *   both end up in the brewery.
 *
 * Requires root (systemd-nspawn), gpg, dpkg-deb, javac/jar (openjdk-17-jdk-headless) and the
 * Debian mirror for the image's own dependencies (prosody's Lua libraries).
 */
import test, { type ExecutionContext } from 'ava';
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { copyFile, cp, mkdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { bootContainer, type Container } from '../../src/boot/index.js';
import { testImage } from '../helpers/images.js';
import type { InitSystem as TestInit } from '../../src/lib/init-systems.js';
import { createNetns } from '../helpers/netns.js';
import { standinHealth, until } from '../helpers/jitsi-health.js';
import { scratchDir } from '../helpers/scratch.js';
import {
  buildStandinRepo,
  createSigningKey,
  pinnedPackages,
  serveRepo,
  SUITE,
  VERSIONS,
  type ServedRepo,
  type SigningKey,
} from '../helpers/jitsi-standin/index.js';
import type { CheckResult, CheckSession } from '../helpers/jitsi-standin/xmpp-check.js';

const scratch = (prefix: string) => scratchDir(prefix);
/** The placeholder hostname a build preseeds (issue 8: "debconf preseeded with placeholders"). */
const PLACEHOLDER = 'jitsi-placeholder.invalid';
const AUTH = `auth.${PLACEHOLDER}`;

let key: SigningKey;
let otherKey: SigningKey;
let repoDir: string;
let served: ServedRepo;
/** The image with the packages installed and upgraded, for the boot test after it. */
let installedRoot: string | undefined;

test.before(async () => {
  key = await createSigningKey();
  otherKey = await createSigningKey('Some other key (test only)');
  repoDir = await scratch('standin-repo-');
  // Both version sets in one repository, as Jitsi's keeps older versions: v1 is installed by
  // pinning, v2 arrives with apt-get upgrade.
  await buildStandinRepo({ dir: repoDir, version: 'v1', extraVersions: ['v2'], signingKey: key });
  served = await serveRepo(repoDir);
});

test.after.always(async () => {
  await served?.close();
  await key?.dispose();
  await otherKey?.dispose();
});

// ------------------------------------------------------------------ apt on this host, sandboxed

interface Sandbox {
  dir: string;
  options: string[];
}

/** An apt configuration of its own (sources, lists, cache, status, no trusted keys) under a scratch directory. */
async function aptSandbox(keyring: string, url: string): Promise<Sandbox> {
  const dir = await scratch('standin-apt-');
  for (const sub of ['etc/sources.list.d', 'etc/preferences.d', 'etc/trusted.gpg.d', 'etc/apt.conf.d', 'state/lists/partial', 'cache/archives/partial', 'log']) {
    await mkdir(join(dir, sub), { recursive: true });
  }
  await copyFile(keyring, join(dir, 'keyring.gpg'));
  await writeFile(join(dir, 'etc/sources.list'), `deb [signed-by=${join(dir, 'keyring.gpg')}] ${url} ${SUITE}/\n`);
  await writeFile(join(dir, 'state/status'), '');
  const options = [
    `Dir::Etc=${join(dir, 'etc')}`,
    `Dir::State=${join(dir, 'state')}`,
    `Dir::State::status=${join(dir, 'state/status')}`,
    `Dir::Cache=${join(dir, 'cache')}`,
    `Dir::Log=${join(dir, 'log')}`,
    // The unprivileged _apt user could not read a keyring under a root-only scratch directory.
    'APT::Sandbox::User=root',
  ].flatMap((option) => ['-o', option]);
  return { dir, options };
}

async function aptUpdate(sandbox: Sandbox) {
  return execa('apt-get', [...sandbox.options, 'update'], { reject: false, all: true, timeout: 120_000 });
}

test('apt-get update verifies the stand-in repository with its key (InRelease through gpgv)', async (t) => {
  const sandbox = await aptSandbox(key.keyring, served.url);
  const update = await aptUpdate(sandbox);
  t.is(update.exitCode, 0, update.all);
  t.notRegex(update.all ?? '', /^(W|E):/m, 'no warnings either');
  const policy = await execa('apt-cache', [...sandbox.options, 'policy', 'jicofo', 'jitsi-videobridge2', 'jitsi-meet-web', 'jitsi-meet-prosody'], { all: true });
  for (const version of ['v1', 'v2'] as const) {
    for (const packageVersion of Object.values(VERSIONS[version])) t.true(policy.stdout.includes(` ${packageVersion} `), `${packageVersion} listed:\n${policy.stdout}`);
  }
});

test('apt-get update refuses the repository when the keyring holds another key', async (t) => {
  const sandbox = await aptSandbox(otherKey.keyring, served.url);
  const update = await aptUpdate(sandbox);
  t.not(update.exitCode, 0, update.all);
  t.regex(update.all ?? '', new RegExp(`NO_PUBKEY ${key.fingerprint.slice(-16)}|is not signed`), update.all);
});

test('apt-get update refuses a repository whose Packages was changed after signing', async (t) => {
  const tampered = await scratch('standin-tampered-');
  await cp(repoDir, tampered, { recursive: true });
  const packagesFile = join(tampered, SUITE, 'Packages');
  const changed = (await readFile(packagesFile, 'utf8')).replace('Priority: optional', 'Priority: required');
  await writeFile(packagesFile, changed);
  await writeFile(`${packagesFile}.gz`, gzipSync(changed));
  const tamperedServer = await serveRepo(tampered);
  try {
    const update = await aptUpdate(await aptSandbox(key.keyring, tamperedServer.url));
    t.not(update.exitCode, 0, update.all);
    t.regex(update.all ?? '', /Hash Sum mismatch|File has unexpected size/, update.all);
  } finally {
    await tamperedServer.close();
  }
});

// ------------------------------------------------------------------ the packages in an unpacked test image

interface RunResult {
  exitCode: number;
  all: string;
}

/**
 * Runs a command in the unpacked image (not booted: PID 1 of this machine is not systemd, so
 * --keep-unit and --register=no). It shares this machine's network, which is how apt inside
 * reaches the stand-in on 127.0.0.1 and Debian's mirror.
 */
async function inRoot(root: string, argv: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const result = await execa(
    'systemd-nspawn',
    ['--quiet', '--pipe', '--register=no', '--keep-unit', '--resolv-conf=copy-host', `--directory=${root}`, '--setenv=DEBIAN_FRONTEND=noninteractive', ...argv],
    { reject: false, all: true, timeout: options.timeoutMs ?? 300_000, ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }) },
  );
  return { exitCode: result.exitCode ?? 128, all: String(result.all ?? '') };
}

async function mustRun(t: { fail(message: string): void }, root: string, argv: string[], options?: { input?: string; timeoutMs?: number }): Promise<string> {
  const result = await inRoot(root, argv, options);
  if (result.exitCode !== 0) {
    t.fail(`${argv.join(' ')} exited ${result.exitCode}:\n${result.all.slice(-4000)}`);
    throw new Error(`${argv.join(' ')} failed`);
  }
  return result.all;
}

/** `owner:group mode` of each path inside the image, as the image's own users and groups name them. */
async function owners(t: { fail(message: string): void }, root: string, paths: string[]): Promise<Record<string, string>> {
  const out = await mustRun(t, root, ['stat', '-c', '%n %U:%G %a', ...paths]);
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((line) => {
        const [path, ...rest] = line.split(' ');
        return [path!, rest.join(' ')];
      }),
  );
}

/** A prosody data file (`return { ... }`) read by Lua itself, one field printed. */
async function luaField(file: string, expression: string): Promise<string> {
  const { stdout } = await execa('lua5.4', ['-e', `local data = dofile(${JSON.stringify(file)}); print(${expression})`]);
  return stdout.trim();
}

function prosodyStore(host: string): string {
  return host.replace(/[^A-Za-z0-9]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

async function hoconValue(file: string, key: string): Promise<string | undefined> {
  // The last assignment wins in HOCON; the files here assign each key on its own line.
  const text = await readFile(file, 'utf8');
  const matches = [...text.matchAll(new RegExp(`^\\s*(?:[\\w.-]+\\.)?"?${key}"?\\s*[=:]\\s*"([^"]*)"`, 'gm'))];
  return matches.at(-1)?.[1];
}

/**
 * Unpacks the test image of `init`, installs the v1 packages with apt from the stand-in and
 * checks their side effects; returns the image's root.
 */
async function installAndCheck(t: ExecutionContext, init: TestInit): Promise<string> {
  const image = await testImage(init);
  const root = join(await scratch('standin-root-'), 'rootfs');
  await mkdir(root, { mode: 0o755 });
  await execa('tar', ['--extract', `--file=${image.tarball}`, `--directory=${root}`, '--numeric-owner', '--same-permissions', '--xattrs', '--xattrs-include=*']);

  // The packages start their services from postinst, as Jitsi's do; nothing may start here (the
  // image shares this machine's network), as nothing starts during an image build.
  await writeFile(join(root, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  await mkdir(join(root, 'etc/apt/keyrings'), { recursive: true });
  await copyFile(key.keyring, join(root, 'etc/apt/keyrings/jitsi-standin.gpg'));
  await writeFile(join(root, 'etc/apt/sources.list.d/jitsi-standin.list'), `deb [signed-by=/etc/apt/keyrings/jitsi-standin.gpg] ${served.url} ${SUITE}/\n`);
  await mustRun(t, root, ['debconf-set-selections'], { input: `jitsi-videobridge2 jitsi-videobridge/jvb-hostname string ${PLACEHOLDER}\n` });
  await mustRun(t, root, ['apt-get', 'update']);
  const install = await mustRun(t, root, ['apt-get', 'install', '-y', '--no-install-recommends', ...pinnedPackages('v1')], { timeoutMs: 600_000 });
  t.log(install.split('\n').filter((line) => /^Setting up (jicofo|jitsi-)/.test(line)).join('\n'));

  const versions = await mustRun(t, root, ['dpkg-query', '-W', '-f', '${Package} ${Version}\\n', 'jicofo', 'jitsi-videobridge2', 'jitsi-meet-web', 'jitsi-meet-prosody']);
  for (const [name, version] of Object.entries(VERSIONS.v1)) t.true(versions.includes(`${name} ${version}`), versions);

  // Users and groups.
  const ids = await mustRun(t, root, ['id', 'jvb']) + (await mustRun(t, root, ['id', 'jicofo']));
  t.regex(ids, /uid=\d+\(jvb\) gid=\d+\(jitsi\)/);
  t.regex(ids, /uid=\d+\(jicofo\) gid=\d+\(jitsi\)/);
  const passwd = await readFile(join(root, 'etc/passwd'), 'utf8');
  for (const user of ['jvb', 'jicofo']) {
    const uid = Number(passwd.split('\n').find((line) => line.startsWith(`${user}:`))?.split(':')[2]);
    t.true(uid > 0 && uid < 1000, `${user} is a system user (uid ${uid})`);
  }

  // The videobridge: config files for the placeholder with a generated secret, modes, sysctl, unit.
  const modes = await owners(t, root, [
    '/etc/jitsi/videobridge',
    '/etc/jitsi/videobridge/jvb.conf',
    '/etc/jitsi/videobridge/config',
    '/etc/jitsi/jicofo',
    '/etc/jitsi/jicofo/jicofo.conf',
    '/var/log/jitsi',
  ]);
  t.is(modes['/etc/jitsi/videobridge'], 'jvb:jitsi 750');
  t.is(modes['/etc/jitsi/videobridge/jvb.conf'], 'jvb:jitsi 640');
  t.is(modes['/etc/jitsi/jicofo'], 'jicofo:jitsi 750');
  t.is(modes['/etc/jitsi/jicofo/jicofo.conf'], 'jicofo:jitsi 640');
  t.is(modes['/var/log/jitsi']?.split(' ')[1], '770');
  const jvbConf = join(root, 'etc/jitsi/videobridge/jvb.conf');
  t.is(await hoconValue(jvbConf, 'DOMAIN'), AUTH);
  t.is(await hoconValue(jvbConf, 'MUC_JIDS'), `JvbBrewery@internal.${AUTH}`);
  const jvbSecret = await hoconValue(jvbConf, 'PASSWORD');
  t.regex(jvbSecret ?? '', /^[A-Za-z0-9]{16}$/);
  t.regex(await readFile(join(root, 'etc/jitsi/videobridge/config'), 'utf8'), new RegExp(`^JVB_HOSTNAME=${PLACEHOLDER.replace(/\./g, '\\.')}$`, 'm'));
  t.regex(await readFile(join(root, 'etc/sysctl.d/20-jvb-udp-buffers.conf'), 'utf8'), /^net\.core\.rmem_max=\d+$/m);
  // deb-systemd-helper enables the unit whatever the init: on OpenRC it is only the link.
  t.is(
    await readlink(join(root, 'etc/systemd/system/multi-user.target.wants/jitsi-videobridge2.service')),
    '/lib/systemd/system/jitsi-videobridge2.service',
    'the unit is enabled',
  );
  // The package brings no sysv script (the OpenRC image carries our own /etc/init.d/jitsi-videobridge2).
  const bridgeFiles = await mustRun(t, root, ['dpkg', '-L', 'jitsi-videobridge2']);
  t.false(bridgeFiles.split('\n').some((path) => path.startsWith('/etc/init.d/')), `no sysv script in the package:\n${bridgeFiles}`);

  // jicofo: sysv script only, registered in the runlevels; config files for the placeholder.
  t.truthy(await stat(join(root, 'etc/init.d/jicofo')));
  if (init === 'systemd') t.truthy(await stat(join(root, 'etc/rc2.d/S01jicofo')).catch(() => undefined), 'update-rc.d registered the script');
  else t.is(await readlink(join(root, 'etc/runlevels/default/jicofo')).catch(() => undefined), '/etc/init.d/jicofo', 'update-rc.d registered the script with OpenRC');
  await t.throwsAsync(stat(join(root, 'lib/systemd/system/jicofo.service')), undefined, 'no unit of its own');
  const jicofoConf = join(root, 'etc/jitsi/jicofo/jicofo.conf');
  t.is(await hoconValue(jicofoConf, 'client-proxy'), `focus.${PLACEHOLDER}`);
  t.is(await hoconValue(jicofoConf, 'brewery-jid'), `JvbBrewery@internal.${AUTH}`);
  const focusPassword = await hoconValue(jicofoConf, 'password');
  const jicofoEnv = await readFile(join(root, 'etc/jitsi/jicofo/config'), 'utf8');
  t.regex(jicofoEnv, new RegExp(`^JICOFO_AUTH_PASSWORD=${focusPassword}$`, 'm'));

  // jitsi-meet-prosody: host file and link, Include, certificates, CA store, accounts, roster.
  t.is(await readlink(join(root, `etc/prosody/conf.d/${PLACEHOLDER}.cfg.lua`)), `/etc/prosody/conf.avail/${PLACEHOLDER}.cfg.lua`);
  const hostFile = await readFile(join(root, `etc/prosody/conf.avail/${PLACEHOLDER}.cfg.lua`), 'utf8');
  t.true(hostFile.includes(`Component "focus.${PLACEHOLDER}" "client_proxy"`));
  t.regex(await readFile(join(root, 'etc/prosody/prosody.cfg.lua'), 'utf8'), /^Include "conf\.d\/\*\.cfg\.lua"$/m);
  for (const name of [PLACEHOLDER, AUTH]) {
    t.truthy(await stat(join(root, `var/lib/prosody/${name}.crt`)), `certificate for ${name}`);
    t.is(await readlink(join(root, `etc/prosody/certs/${name}.crt`)), `/var/lib/prosody/${name}.crt`);
  }
  t.is(await readlink(join(root, `usr/local/share/ca-certificates/${AUTH}.crt`)), `/var/lib/prosody/${AUTH}.crt`);
  const authCert = await readFile(join(root, `var/lib/prosody/${AUTH}.crt`), 'utf8');
  t.true((await readFile(join(root, 'etc/ssl/certs/ca-certificates.crt'), 'utf8')).includes(authCert.trim()), 'the auth certificate is in the CA bundle');
  const javaStore = await execa('keytool', ['-list', '-keystore', join(root, 'etc/ssl/certs/java/cacerts'), '-storepass', 'changeit'], { all: true });
  t.regex(javaStore.stdout, new RegExp(`debian:${AUTH.replace(/\./g, '\\.')}\\.pem`), "and in Java's store");
  const store = join(root, 'var/lib/prosody', prosodyStore(AUTH));
  for (const user of ['focus', 'jvb']) t.truthy(await stat(join(store, 'accounts', `${user}.dat`)), `account ${user}@${AUTH}`);
  t.is(await luaField(join(store, 'roster', 'focus.dat'), `data["focus.${PLACEHOLDER}"].subscription`), 'both');
  // The accounts hold the passwords the config files carry (SCRAM-SHA-1 stored key, as prosody's
  // internal_hashed keeps it).
  for (const [user, password] of [['focus', focusPassword], ['jvb', jvbSecret]] as const) {
    const file = join(store, 'accounts', `${user}.dat`);
    const [salt, iterations, storedKey] = await Promise.all(['data.salt', 'data.iteration_count', 'data.stored_key'].map((field) => luaField(file, field)));
    const salted = pbkdf2Sync(password ?? '', salt!, Number(iterations), 20, 'sha1');
    const clientKey = createHmac('sha1', salted).update('Client Key').digest();
    t.is(createHash('sha1').update(clientKey).digest('hex'), storedKey, `${user}@${AUTH} has the password of the config file`);
  }

  // jitsi-meet-web: static files.
  t.regex(await readFile(join(root, 'usr/share/jitsi-meet/index.html'), 'utf8'), /Jitsi Meet/);
  t.truthy(await stat(join(root, 'usr/share/jitsi-meet/libs')));
  return root;
}

test.serial("the packages install into the systemd test image with the side effects of Jitsi's, and v2 rewrites jicofo's client proxy", async (t) => {
  const root = await installAndCheck(t, 'systemd');
  const jicofoConf = join(root, 'etc/jitsi/jicofo/jicofo.conf');

  // ---------------------------------------------------------------- upgrade to v2
  // A configured server: the admin's real name in client-proxy and jicofo's config in the form
  // our configurator writes today (no JICOFO_AUTH_*).
  const REAL = 'meet.example.org';
  await writeFile(jicofoConf, (await readFile(jicofoConf, 'utf8')).replace(`"focus.${PLACEHOLDER}"`, `"focus.${REAL}"`));
  const configuratorEnv = `# written by the configurator\nJICOFO_HOST=127.0.0.1\nJICOFO_HOSTNAME=${REAL}\nJICOFO_OPTS=""\n`;
  await writeFile(join(root, 'etc/jitsi/jicofo/config'), configuratorEnv);
  await mustRun(t, root, ['apt-get', 'update']);
  await mustRun(t, root, ['apt-get', 'upgrade', '-y'], { timeoutMs: 600_000 });
  const upgraded = await mustRun(t, root, ['dpkg-query', '-W', '-f', '${Package} ${Version}\\n', 'jicofo', 'jitsi-videobridge2', 'jitsi-meet-web', 'jitsi-meet-prosody']);
  for (const [name, version] of Object.entries(VERSIONS.v2)) t.true(upgraded.includes(`${name} ${version}`), upgraded);
  t.is(await hoconValue(jicofoConf, 'client-proxy'), `focus.${PLACEHOLDER}`, 'the upgrade put the debconf hostname back into client-proxy');
  const rewritten = await readFile(join(root, 'etc/jitsi/jicofo/config'), 'utf8');
  t.not(rewritten, configuratorEnv, 'and rewrote the config that lacked the JICOFO_AUTH_* settings');
  t.regex(rewritten, new RegExp(`^JICOFO_HOSTNAME=${PLACEHOLDER.replace(/\./g, '\\.')}$`, 'm'));

  // A config that names the focus account for the debconf hostname is kept (marked to tell).
  await writeFile(join(root, 'etc/jitsi/jicofo/config'), `# kept\n${rewritten}`);
  await mustRun(t, root, ['dpkg-reconfigure', '-fnoninteractive', 'jicofo']);
  t.regex(await readFile(join(root, 'etc/jitsi/jicofo/config'), 'utf8'), /^# kept$/m, 'a complete config for the hostname survives a configure');

  installedRoot = root;
});

test.serial("the packages install into the OpenRC test image with the side effects of Jitsi's", async (t) => {
  await installAndCheck(t, 'openrc');
});

// ------------------------------------------------------------------ the packages' own services, booted

const CHECK = join(dirname(fileURLToPath(import.meta.url)), '../helpers/jitsi-standin/xmpp-check.ts');


test.serial("booted, the packages' unit and init script run the daemons as their users with the packages' own configs", async (t) => {
  if (!installedRoot) {
    t.fail('needs the image the install test left');
    return;
  }
  const root = installedRoot;
  const image = await testImage('systemd');
  // Booted, services may start (the container has a network namespace of its own).
  await rm(join(root, 'usr/sbin/policy-rc.d'));
  const ns = await createNetns('standin-boot');
  let container: Container | undefined;
  try {
    container = await bootContainer({ directory: root, init: 'systemd', netns: ns.name, settingsFile: image.nspawn });
    await container.waitUntilUp(120_000);
    const run = (argv: string[]) => container!.exec(argv, { reject: false, timeoutMs: 120_000 });
    // prosody stays off in our images until configured; here the packages' own host file is used.
    const prosody = await run(['systemctl', 'start', 'prosody']);
    t.is(prosody.exitCode, 0, prosody.stderr);
    // systemctl returns once prosody runs, not once it listens.
    await until('prosody listening on 5222', async () => (await ns.exec(['ss', '-Hltn', 'sport = :5222'])).stdout.trim() !== '');
    // Both services were started at boot, before prosody ran, and could not log in.
    for (const command of [['systemctl', 'restart', 'jitsi-videobridge2'], ['/etc/init.d/jicofo', 'restart']]) {
      const restarted = await run(command);
      t.is(restarted.exitCode, 0, `${command.join(' ')}: ${restarted.stdout}${restarted.stderr}`);
    }
    try {
      await until('the bridge healthy', async () => (await standinHealth(ns, 8080)) === 200);
      await until('jicofo healthy (it sees the bridge)', async () => (await standinHealth(ns, 8888)) === 200);
    } catch (error) {
      const logs = await run(['sh', '-c', 'tail -n 20 /var/log/jitsi/*.log; systemctl status --no-pager jitsi-videobridge2 jicofo; tail -n 20 /var/log/prosody/prosody.log']);
      t.fail(`${(error as Error).message}\n${logs.stdout}${logs.stderr}`);
      return;
    }
    // Running as their users, with the heap limit the launchers set.
    const processes = await run(['ps', '-eo', 'user:12,args']);
    const javaLines = processes.stdout.split('\n').filter((line) => line.includes(' java '));
    t.truthy(javaLines.find((line) => /^jvb\s.*--role=videobridge/.test(line)), processes.stdout);
    t.truthy(javaLines.find((line) => /^jicofo\s.*--role=jicofo/.test(line)), processes.stdout);
    t.true(javaLines.every((line) => line.includes('-Xmx3072m')), javaLines.join('\n'));
    t.is((await run(['systemctl', 'is-active', 'jitsi-videobridge2'])).stdout.trim(), 'active');
    t.is((await run(['/etc/init.d/jicofo', 'status'])).exitCode, 0);

    // Every stand-in plugin the packages' host file names loaded.
    // (prosody logs a module it cannot load at level error, which Debian's config sends to prosody.err.)
    t.regex(await readFile(join(root, 'var/log/prosody/prosody.log'), 'utf8'), /client_proxy\tinfo\t\S+ is online: forwarding to it/);
    const prosodyErrors = await readFile(join(root, 'var/log/prosody/prosody.err'), 'utf8').catch(() => '');
    t.notRegex(prosodyErrors, /error/i, prosodyErrors);

    // Seen from the namespace: both in the brewery, and a guest's conference request answered
    // through focus.<H> (jitsi-anonymous login, client proxy, roster subscription, jicofo).
    const jicofoConf = join(root, 'etc/jitsi/jicofo/jicofo.conf');
    const jvbConf = join(root, 'etc/jitsi/videobridge/jvb.conf');
    const caBundle = join(await scratch('standin-ca-'), 'ca.pem');
    await writeFile(caBundle, (await readFile(join(root, `var/lib/prosody/${PLACEHOLDER}.crt`), 'utf8')) + (await readFile(join(root, `var/lib/prosody/${AUTH}.crt`), 'utf8')));
    const plan: CheckSession[] = [
      { label: 'observer', service: 'xmpp://127.0.0.1:5222', domain: AUTH, username: 'focus', password: await hoconValue(jicofoConf, 'password'), join: `JvbBrewery@internal.${AUTH}/observer` },
      { label: 'guest', service: 'xmpp://127.0.0.1:5222', domain: PLACEHOLDER, conferenceRequest: { to: `focus.${PLACEHOLDER}`, room: `standup@conference.${PLACEHOLDER}` } },
    ];
    const check = await ns.exec([process.execPath, '--import', 'tsx', CHECK, JSON.stringify(plan)], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: caBundle } as Record<string, string>,
      timeoutMs: 120_000,
    });
    const [observer, guest] = JSON.parse(check.stdout.trim().split('\n').at(-1)!) as CheckResult[];
    const report = JSON.stringify([observer, guest]);
    t.is(observer?.joined, 'joined', report);
    const nicks = (observer?.occupants ?? []).map((occupant) => `${occupant.nick}${occupant.bridge ? ' (bridge)' : ''}`).sort();
    t.deepEqual(nicks, ['focus', `${await hoconValue(jvbConf, 'MUC_NICKNAME')} (bridge)`].sort(), report);
    t.is(guest?.login, 'online', report);
    t.like(guest?.conference as object, { from: `focus.${PLACEHOLDER}`, ready: 'true' }, report);

    // A bridge that cannot log in fails its service, which systemd starts again (the image's
    // drop-in restarts it on failure, as upstream's unit does).
    const good = await readFile(jvbConf, 'utf8');
    await writeFile(jvbConf, good.replace(/PASSWORD = "[^"]*"/, 'PASSWORD = "not-the-password"'));
    await run(['systemctl', 'restart', 'jitsi-videobridge2']);
    await until('the bridge service failed and was restarted', async () => Number((await run(['systemctl', 'show', '--property=NRestarts', '--value', 'jitsi-videobridge2'])).stdout.trim()) >= 1, 60_000);
    const journal = await run(['journalctl', '-u', 'jitsi-videobridge2', '--no-pager', '-n', '50']);
    t.regex(journal.stdout, /status=1\/FAILURE/, journal.stdout);
    t.regex(await readFile(join(root, 'var/log/jitsi/jvb.log'), 'utf8'), /authentication as jvb@\S+ failed: not-authorized/);
    await writeFile(jvbConf, good);
  } finally {
    await container?.stop();
    await container?.dispose();
    await ns.delete();
  }
});
