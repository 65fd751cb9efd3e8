/**
 * The native OpenRC script for jicofo (overlays/openrc-native/etc/init.d/jicofo), which Gentoo
 * images need because their OpenRC cannot run the jicofo package's Debian sysv script, tested
 * where OpenRC really runs here: the OpenRC test image (Debian) with the stand-in packages
 * installed by apt, the package's sysv script replaced by the native one the way the Gentoo
 * path does it (installJitsiServices moves it aside, the overlays stage copies
 * overlays/openrc-native) and taken out of the runlevels (as an image leaves it),
 * booted in a network namespace of its own and configured with `jitsi-meet-config --answers`.
 * Then jicofo runs as jicofo:jitsi under supervise-daemon, sees the bridge in the brewery, is
 * started again after it is killed, and `rc-service jicofo stop` stops it.
 *
 * Requires root (systemd-nspawn), gpg, dpkg-deb, javac/jar and the Debian mirror.
 */
import test from 'ava';
import { lstat, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { bootContainer, type Container } from '../../src/boot/index.js';
import { installJitsiServices } from '../../src/builder/gentoo/jitsi-effects.js';
import { PROJECT_ROOT } from '../../src/builder/pipeline.js';
import { applyOverlay } from '../../src/builder/stages/overlays.js';
import type { InstalledPackage } from '../../src/builder/gentoo/deb-unpack.js';
import { serveStandinRepoForTests } from '../helpers/jitsi-standin/index.js';
import { imageWithStandin } from '../helpers/jitsi-standin/install.js';
import { createNetns } from '../helpers/netns.js';
import { standinHealth, until } from '../helpers/jitsi-health.js';
import { scratchDir } from '../helpers/scratch.js';
import { giveLanAddress, LAN_ANSWERS } from '../helpers/configure-scenario.js';

const standin = serveStandinRepoForTests(test);

/** The two packages' part of a manifest as unpackDebs returns it (dpkg's file list of the package). */
async function manifestOf(root: string, controlDir: string): Promise<InstalledPackage[]> {
  const packages: InstalledPackage[] = [];
  for (const name of ['jicofo', 'jitsi-videobridge2']) {
    const list = (await readFile(join(root, 'var/lib/dpkg/info', `${name}.list`), 'utf8')).trim().split('\n');
    const files: string[] = [];
    for (const path of list) if (!(await lstat(join(root, path)).catch(() => undefined))?.isDirectory()) files.push(path);
    packages.push({ package: name, version: 'stand-in', sha256: '', files, directories: [], controlDir: join(controlDir, name) });
  }
  return packages;
}

test.serial('openrc: the native jicofo script runs jicofo as jicofo:jitsi under supervise-daemon, after a restart too', async (t) => {
  const { root, nspawn } = await imageWithStandin('openrc', standin.served.url, standin.key);
  // As an image leaves it: in no runlevel (the package's postinst added its sysv script).
  for (const level of await readdir(join(root, 'etc/runlevels'))) await rm(join(root, 'etc/runlevels', level, 'jicofo'), { force: true });
  const controlDir = await scratchDir('native-jicofo-control-');
  const done = await installJitsiServices(root, await manifestOf(root, controlDir), 'openrc');
  t.deepEqual(done.movedScripts.map(([from]) => from), ['/etc/init.d/jicofo']);
  await applyOverlay(join(PROJECT_ROOT, 'overlays/openrc-native'), root);
  t.true((await readFile(join(root, 'etc/init.d/jicofo'), 'utf8')).startsWith('#!/sbin/openrc-run\n'));

  const ns = await createNetns('ojcf');
  let container: Container | undefined;
  try {
    await giveLanAddress(ns.name);
    container = await bootContainer({ directory: root, init: 'openrc', netns: ns.name, settingsFile: nspawn });
    await container.waitUntilUp(180_000);
    const run = (argv: string[]) => container!.exec(argv, { reject: false, timeoutMs: 120_000 });
    const diagnostics = async () => {
      const logs = await run(['sh', '-c', 'rc-status; rc-service jicofo status; rc-service jitsi-videobridge2 status; tail -n 30 /var/log/jitsi/*.log']);
      return `${logs.stdout}${logs.stderr}`;
    };

    await writeFile(join(root, 'root/answers.yaml'), yaml.dump(LAN_ANSWERS));
    const configured = await container.exec(['jitsi-meet-config', '--answers', '/root/answers.yaml'], { timeoutMs: 300_000, reject: false });
    if (configured.exitCode !== 0) {
      t.fail(`jitsi-meet-config exited ${configured.exitCode}:\n${configured.stdout}${configured.stderr}\n${await diagnostics()}`);
      return;
    }
    try {
      await until('the bridge healthy', async () => (await standinHealth(ns, 8080)) === 200);
      await until('jicofo healthy (it sees a bridge in the brewery)', async () => (await standinHealth(ns, 8888)) === 200);
    } catch (error) {
      t.fail(`${(error as Error).message}\n${await diagnostics()}`);
      return;
    }

    const jicofo = async () =>
      (await run(['ps', '-eo', 'pid=,user:12=,group:12=,args='])).stdout
        .split('\n')
        .map((line) => line.trim().split(/\s+/))
        .find(([, , , program, ...args]) => program?.endsWith('java') && args.includes('--role=jicofo'));
    const first = await jicofo();
    t.like({ user: first?.[1], group: first?.[2] }, { user: 'jicofo', group: 'jitsi' }, await diagnostics());
    const supervisor = await run(['sh', '-c', 'ps -eo args= | grep "supervise-daemon jicofo "']);
    t.is(supervisor.exitCode, 0, `${supervisor.stdout}${await diagnostics()}`);
    const log = await run(['stat', '-c', '%U:%G %a', '/var/log/jitsi', '/var/log/jitsi/jicofo.log']);
    t.deepEqual(log.stdout.trim().split('\n'), ['root:jitsi 770', 'jicofo:jitsi 640']);

    await run(['kill', '-KILL', first![0]!]);
    try {
      await until('jicofo running again under a new PID', async () => {
        const now = await jicofo();
        return now !== undefined && now[0] !== first![0];
      }, 60_000);
      await until('the restarted jicofo healthy', async () => (await standinHealth(ns, 8888)) === 200);
    } catch (error) {
      t.fail(`${(error as Error).message}\n${await diagnostics()}`);
      return;
    }

    const stop = await run(['rc-service', 'jicofo', 'stop']);
    t.is(stop.exitCode, 0, `${stop.stdout}${stop.stderr}`);
    t.is(await jicofo(), undefined, await diagnostics());
    const status = await run(['rc-service', 'jicofo', 'status']);
    t.not(status.exitCode, 0, `${status.stdout}${status.stderr}`);

    const stopped = await container.stop();
    t.true(stopped.clean, `stop was forced after ${stopped.seconds} s`);
  } finally {
    await container?.stop().catch(() => undefined);
    await container?.dispose();
    await ns.delete();
  }
});
