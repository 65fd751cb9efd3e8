/**
 * An arm64 image built on this amd64 machine under qemu-user emulation (qemu-user-static and
 * binfmt_misc; `bash scripts/install-host-deps.sh` sets both up), at a fast compression level
 * and without Jitsi's packages (`--jitsi-source none`, like every shared test image): inspect
 * reports arm64 and no error, the package list is arm64's, and it boots under systemd-nspawn
 * (its init emulated too) to multi-user.target with no failed unit and stops cleanly.
 *
 * Two things differ from a boot on arm64 hardware, both handled by the boot helper for
 * emulated boots only: the stop signal is shifted (src/boot/emulated-signals.ts; unshifted,
 * systemd isolates rescue.target instead of halting), and units with credentials get a
 * drop-in clearing them in the unpacked copy (src/boot/emulated-credentials.ts; qemu-user
 * cannot clone() into a mount namespace, so they would fail at step CREDENTIALS).
 *
 * Only the systemd image is built for arm64 here: an emulated build takes about 7 times a
 * native one, the suite cannot afford two, and systemd is the init that needs the emulation
 * handling this test exists for: its halt signal is a real-time signal, which qemu-user shifts
 * (src/boot/emulated-signals.ts), while the OpenRC image's SIGPWR passes through unchanged.
 * The OpenRC arm64 image builds the same way (`--init openrc --arch arm64`) but is not booted
 * by the suite.
 */
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { bootContainer, type Container } from '../../src/boot/index.js';
import { hostArchitecture } from '../../src/host/tools.js';
import { errorCount, formatInspectReport, inspectTarball } from '../../src/release/inspect/index.js';
import { testImage, type TestImage } from '../helpers/images.js';
import { createNetns } from '../helpers/netns.js';

let image: TestImage | undefined;
let container: Container | undefined;
let netnsDelete: (() => Promise<void>) | undefined;

test.after.always(async () => {
  await container?.dispose();
  await netnsDelete?.();
});

test.serial('arm64: builds under emulation; inspect says arm64 and finds no error', async (t) => {
  t.timeout(60 * 60_000, 'an emulated build takes about 7 times a native one');
  if ((await hostArchitecture()) === 'arm64') t.log('this host is arm64: the image is built natively here');
  image = await testImage('systemd', 'arm64');
  t.regex(image.tarball, /-arm64\.tar\.zst$/);
  const report = await inspectTarball(image.tarball);
  t.is(report.architecture, 'arm64');
  t.is(report.init.name, 'systemd');
  t.is(errorCount(report), 0, formatInspectReport(report));
  const packages = (await readFile(image.packages, 'utf8')).trim().split('\n').map((line) => line.split(' '));
  t.deepEqual([...new Set(packages.map(([, , arch]) => arch))].sort(), ['all', 'arm64'], 'only arm64 and all packages in .packages');
  t.true(packages.some(([name, , arch]) => name === 'systemd' && arch === 'arm64'));
});

test.serial('arm64: boots under emulation to multi-user.target with no failed unit, and stops cleanly', async (t) => {
  t.timeout(15 * 60_000);
  if (!image) return t.fail('the image was not built');
  const ns = await createNetns('img-arm');
  netnsDelete = () => ns.delete();
  container = await bootContainer({ tarball: image.tarball, init: 'systemd', netns: ns.name, settingsFile: image.nspawn, log: () => {} });
  try {
    await container.waitUntilUp(600_000);
  } catch (error) {
    return t.fail(`${(error as Error).message}\n${await container.logTail(40)}`);
  }
  const exec = async (argv: string[]) => (await container!.exec(argv, { reject: false, timeoutMs: 120_000 })).stdout.trim();
  t.is(await exec(['uname', '-m']), 'aarch64', 'programs in the container run as aarch64');
  t.is(await exec(['systemctl', 'is-active', 'multi-user.target']), 'active');
  const failed = await exec(['systemctl', 'list-units', '--failed', '--plain', '--no-legend']);
  const journal = failed ? await exec(['journalctl', '-b', '--no-pager', '-p', 'warning', '-n', '40']) : '';
  t.is(failed, '', `failed units:\n${failed}\n${journal}`);

  const initPid = container.initPid;
  const stopped = await container.stop(60_000);
  t.true(stopped.clean, `stop was forced after ${stopped.seconds} s:\n${await container.logTail(30)}`);
  t.throws(() => process.kill(initPid, 0), undefined, 'the container init is gone');
  t.log(`booted and stopped under emulation; stop took ${stopped.seconds.toFixed(2)} s`);
});
