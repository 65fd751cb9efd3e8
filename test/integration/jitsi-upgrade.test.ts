/**
 * Issue 8's upgrade path in a booted systemd test image with the Jitsi stand-in packages
 * (test/helpers/jitsi-standin): v1 installed the way a build does (debconf preseeded with the
 * placeholder hostname), `jitsi-meet-config --answers` inside, then `apt-get upgrade` to v2
 * inside the running container. Nothing is done by hand in between: the configurator's debconf
 * write-back and the image's apt hook must keep the server wired for its real hostname.
 *
 * The server is first made to look like one configured before the write-back existed (debconf
 * set back to the placeholder), so that the upgrade's maintainer scripts do what they do to
 * such a server (client proxy and jicofo's environment for the placeholder, a prosody host with
 * certificates and accounts for it) and the hook has to repair all of it; afterwards the bridge
 * and jicofo must be healthy again (jicofo only is once it sees the bridge in the brewery). Then
 * `dpkg-reconfigure`, which runs no apt hook, shows the write-back alone keeps the packages on
 * the real hostname.
 *
 * Requires root, systemd-nspawn, gpg, dpkg-deb, javac/jar and Debian's mirror (for v1's
 * dependencies, installed before the container boots into its own network namespace; the
 * upgrade then comes from a file: copy of the stand-in repository inside the container).
 */
import test from 'ava';
import { copyFile, cp, lstat, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import yaml from 'js-yaml';
import { bootContainer, type Container } from '../../src/boot/index.js';
import { testImage } from '../helpers/images.js';
import { createNetns, type Netns } from '../helpers/netns.js';
import { scratchDir } from '../helpers/scratch.js';
import { buildStandinRepo, createSigningKey, pinnedPackages, serveRepo, SUITE, VERSIONS, type SigningKey } from '../helpers/jitsi-standin/index.js';

const PLACEHOLDER = 'jitsi-placeholder.invalid';
const HOST = 'meet.jitsi.test';
const ADDRESS = '10.77.0.2';
const REPO_IN_IMAGE = '/srv/jitsi-standin';
const HOOK_LINE = /^jitsi-meet-config: re-applied the configuration after changes to (\S+, )*jicofo(, \S+)*( \(.*\))?; log: \/var\/log\/jitsi-meet-config\/after-packages\.log$/m;

let key: SigningKey | undefined;
let ns: Netns | undefined;
let container: Container | undefined;

test.after.always(async () => {
  await container?.stop();
  await container?.dispose();
  await ns?.delete();
  await key?.dispose();
});

/** Runs a command in the unpacked, not booted image with this machine's network (apt reaches the mirror and the loopback server). */
async function inImage(root: string, argv: string[], input?: string): Promise<string> {
  const result = await execa(
    'systemd-nspawn',
    ['--quiet', '--pipe', '--register=no', '--keep-unit', '--resolv-conf=copy-host', `--directory=${root}`, '--setenv=DEBIAN_FRONTEND=noninteractive', ...argv],
    { reject: false, all: true, timeout: 600_000, ...(input === undefined ? { stdin: 'ignore' as const } : { input }) },
  );
  if (result.exitCode !== 0) throw new Error(`${argv.join(' ')} exited ${result.exitCode}:\n${String(result.all).slice(-4000)}`);
  return String(result.all);
}

function hoconValue(text: string, key: string): string | undefined {
  const matches = [...text.matchAll(new RegExp(`^\\s*(?:[\\w.-]+\\.)?"?${key}"?\\s*[=:]\\s*"([^"]*)"`, 'gm'))];
  return matches.at(-1)?.[1];
}

const exists = (path: string) => lstat(path).then(() => true, () => false);

/** What jitsi-meet-prosody's postinst makes for `host`, as paths inside the image. */
function packageHostPaths(host: string): string[] {
  const store = `/var/lib/prosody/auth%2e${host.replace(/\./g, '%2e').replace(/-/g, '%2d')}`;
  return [
    `/etc/prosody/conf.avail/${host}.cfg.lua`,
    `/etc/prosody/conf.d/${host}.cfg.lua`,
    `/var/lib/prosody/${host}.crt`,
    `/var/lib/prosody/auth.${host}.crt`,
    `/etc/prosody/certs/${host}.crt`,
    `/etc/prosody/certs/auth.${host}.key`,
    `/usr/local/share/ca-certificates/auth.${host}.crt`,
    `${store}/accounts/focus.dat`,
    `${store}/accounts/jvb.dat`,
    `${store}/roster/focus.dat`,
  ];
}

test.serial('an apt-get upgrade of the Jitsi packages inside a configured container leaves it wired for its hostname, with no manual step', async (t) => {
  // ------------------------------------------------------------ an image with the v1 packages, as a build makes it
  key = await createSigningKey();
  const repoDir = await scratchDir('upgrade-repo-');
  await buildStandinRepo({ dir: repoDir, version: 'v1', extraVersions: ['v2'], signingKey: key });
  const image = await testImage('systemd');
  const root = join(await scratchDir('upgrade-root-'), 'rootfs');
  await mkdir(root, { mode: 0o755 });
  await execa('tar', ['--extract', `--file=${image.tarball}`, `--directory=${root}`, '--numeric-owner', '--same-permissions', '--xattrs', '--xattrs-include=*']);
  t.true(await exists(join(root, 'etc/apt/apt.conf.d/80jitsi-meet-config')), 'the image ships the apt hook');
  await writeFile(join(root, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  await mkdir(join(root, 'etc/apt/keyrings'), { recursive: true });
  await copyFile(key.keyring, join(root, 'etc/apt/keyrings/jitsi-standin.gpg'));
  const sources = join(root, 'etc/apt/sources.list.d/jitsi-standin.list');
  const served = await serveRepo(repoDir);
  try {
    await writeFile(sources, `deb [signed-by=/etc/apt/keyrings/jitsi-standin.gpg] ${served.url} ${SUITE}/\n`);
    await inImage(root, ['debconf-set-selections'], `jitsi-videobridge2 jitsi-videobridge/jvb-hostname string ${PLACEHOLDER}\n`);
    await inImage(root, ['apt-get', 'update']);
    const install = await inImage(root, ['apt-get', 'install', '-y', '--no-install-recommends', ...pinnedPackages('v1')]);
    t.notRegex(install, /^jitsi-meet-config: /m, 'the hook is quiet while there is no master config');
  } finally {
    await served.close();
  }
  // The upgrade comes from inside the container, which has no route to this machine's loopback.
  await cp(repoDir, join(root, REPO_IN_IMAGE), { recursive: true });
  await execa('chmod', ['-R', 'a+rX', join(root, REPO_IN_IMAGE)]);
  await writeFile(sources, `deb [signed-by=/etc/apt/keyrings/jitsi-standin.gpg] file:${REPO_IN_IMAGE} ${SUITE}/\n`);
  await inImage(root, ['apt-get', 'update', '-o', 'Dir::Etc::sourcelist=sources.list.d/jitsi-standin.list', '-o', 'Dir::Etc::sourceparts=-', '-o', 'APT::Get::List-Cleanup=0']);
  await rm(join(root, 'usr/sbin/policy-rc.d'));
  for (const path of packageHostPaths(PLACEHOLDER)) t.true(await exists(join(root, path)), `the build left ${path}`);

  // ------------------------------------------------------------ boot and configure
  ns = await createNetns('upgrade');
  const ip = (...args: string[]) => execa('ip', ['-n', ns!.name, ...args]);
  await ip('link', 'add', 'jm0', 'type', 'veth', 'peer', 'name', 'jm1');
  await ip('addr', 'add', `${ADDRESS}/24`, 'dev', 'jm0');
  await ip('link', 'set', 'jm0', 'up');
  await ip('link', 'set', 'jm1', 'up');
  container = await bootContainer({ directory: root, init: 'systemd', netns: ns.name, settingsFile: image.nspawn });
  await container.waitUntilUp(120_000);
  const run = (argv: string[], options: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {}) => container!.exec(argv, { reject: false, timeoutMs: 300_000, ...options });
  const debconf = async (question: string) => (await run(['debconf-communicate'], { input: `GET ${question}\n` })).stdout.trim();

  await writeFile(
    join(root, 'root/answers.yaml'),
    yaml.dump({ hostname: HOST, external_ip: ADDRESS, internal_ip: ADDRESS, localhost_alias: true, write_etc_hostname: true, jvb_max_memory: '512m', convener: { username: 'admin' }, tls: { mode: 'self-signed' } }),
  );
  const configured = await run(['jitsi-meet-config', '--answers', '/root/answers.yaml']);
  t.is(configured.exitCode, 0, `${configured.stdout}\n${configured.stderr}`);
  t.log(configured.stdout.split('\n').filter((line) => /debconf|removed|SUCCESS|FAILED|owner/.test(line)).join('\n'));
  const master = yaml.load(await readFile(join(root, 'etc/jitsi/master-config.yaml'), 'utf8')) as { secrets: { focus_password: string; jvb_password: string; turn_secret: string } };
  t.is(await debconf('jitsi-videobridge/jvb-hostname'), `0 ${HOST}`, 'configuring wrote the hostname into debconf');
  t.is(await debconf('jicofo/jicofo-authpassword'), `0 ${master.secrets.focus_password}`);
  t.is(await debconf('jitsi-videobridge/jvbsecret'), `0 ${master.secrets.jvb_password}`);
  t.is(await debconf('jitsi-meet-prosody/turn-secret'), `0 ${master.secrets.turn_secret}`);
  t.false(`${configured.stdout}${configured.stderr}`.includes(master.secrets.focus_password), 'no secret in the output');
  for (const path of packageHostPaths(PLACEHOLDER)) t.false(await exists(join(root, path)), `configuring removed the build's ${path}`);
  const jicofoEnv = await readFile(join(root, 'etc/jitsi/jicofo/config'), 'utf8');
  const jicofoConf = await readFile(join(root, 'etc/jitsi/jicofo/jicofo.conf'), 'utf8');
  t.is(hoconValue(jicofoConf, 'client-proxy'), `focus.${HOST}`);

  // A server configured before the write-back existed: debconf still names the placeholder.
  await run(['debconf-set-selections'], { input: `jitsi-videobridge2 jitsi-videobridge/jvb-hostname string ${PLACEHOLDER}\n` });

  // ------------------------------------------------------------ the upgrade, inside the running container
  const upgrade = await run(['apt-get', 'upgrade', '-y'], { timeoutMs: 900_000, env: { DEBIAN_FRONTEND: 'noninteractive' } });
  const aptOutput = `${upgrade.stdout}\n${upgrade.stderr}`;
  t.is(upgrade.exitCode, 0, aptOutput.slice(-4000));
  t.log(aptOutput.split('\n').filter((line) => line.startsWith('jitsi-meet-config')).join('\n'));
  t.regex(aptOutput, HOOK_LINE, 'the admin saw what the hook did');
  const versions = (await run(['dpkg-query', '-W', '-f', '${Package} ${Version}\\n', 'jicofo', 'jitsi-videobridge2', 'jitsi-meet-web', 'jitsi-meet-prosody'])).stdout;
  for (const [name, version] of Object.entries(VERSIONS.v2)) t.true(versions.includes(`${name} ${version}`), versions);

  t.is(hoconValue(await readFile(join(root, 'etc/jitsi/jicofo/jicofo.conf'), 'utf8'), 'client-proxy'), `focus.${HOST}`, "jicofo's client proxy is the real one");
  t.is(await readFile(join(root, 'etc/jitsi/jicofo/config'), 'utf8'), jicofoEnv, "jicofo's environment is the configurator's");
  for (const path of packageHostPaths(PLACEHOLDER)) t.false(await exists(join(root, path)), `no ${path} after the upgrade`);
  t.is(await debconf('jitsi-videobridge/jvb-hostname'), `0 ${HOST}`, 'the re-apply wrote the hostname back');
  const hookLog = await readFile(join(root, 'var/log/jitsi-meet-config/after-packages.log'), 'utf8');
  t.regex(hookLog, /^jitsi-meet-config: SUCCESS: /m);
  t.regex(hookLog, new RegExp(`removed /etc/prosody/conf\\.avail/${PLACEHOLDER.replace(/\./g, '\\.')}\\.cfg\\.lua \\(it was for another hostname\\)`));

  const prosodyCheck = await run(['prosodyctl', 'check', 'config']);
  t.is(prosodyCheck.exitCode, 0, `${prosodyCheck.stdout}${prosodyCheck.stderr}`);
  const nginxCheck = await run(['nginx', '-t']);
  t.is(nginxCheck.exitCode, 0, nginxCheck.stderr);
  for (const unit of ['prosody', 'nginx']) t.is((await run(['systemctl', 'is-active', unit])).stdout.trim(), 'active', unit);
  // And running: the bridge healthy, and jicofo healthy, which it is only once it sees the bridge
  // in the brewery (the stand-in daemons' health endpoints, asked from inside the container).
  // The re-apply restarted prosody; the units restart what lost its connection.
  const health = async (port: number) =>
    (await run(['node', '-e', `fetch('http://127.0.0.1:${port}/about/health').then((r) => console.log(r.status), () => console.log(0))`])).stdout.trim();
  const deadline = Date.now() + 90_000;
  let states = ['', ''];
  while (Date.now() < deadline) {
    states = [await health(8080), await health(8888)];
    if (states.every((state) => state === '200')) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const daemons = await run(['sh', '-c', 'systemctl is-active jitsi-videobridge2 jicofo; tail -n 5 /var/log/jitsi/*.log']);
  t.deepEqual(states, ['200', '200'], `the bridge and jicofo are healthy after the upgrade:\n${daemons.stdout}${daemons.stderr}`);

  // ------------------------------------------------------------ the write-back alone (no apt, so no hook)
  for (const name of ['jicofo', 'jitsi-meet-prosody']) {
    const reconfigured = await run(['dpkg-reconfigure', '-fnoninteractive', name], { env: { DEBIAN_FRONTEND: 'noninteractive' } });
    t.is(reconfigured.exitCode, 0, `${reconfigured.stdout}${reconfigured.stderr}`);
  }
  t.is(hoconValue(await readFile(join(root, 'etc/jitsi/jicofo/jicofo.conf'), 'utf8'), 'client-proxy'), `focus.${HOST}`, 'the packages configure themselves for the real hostname');
  t.is(await readFile(join(root, 'etc/jitsi/jicofo/config'), 'utf8'), jicofoEnv, "and keep jicofo's environment (it names the real host and the focus account)");
  for (const path of packageHostPaths(PLACEHOLDER)) t.false(await exists(join(root, path)), `no ${path} after reconfiguring`);
});
