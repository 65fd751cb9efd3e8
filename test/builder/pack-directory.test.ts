import test from 'ava';
import { scratchDir } from '../helpers/scratch.js';
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packDirectory } from '../../src/builder/pack-directory.js';



async function sampleTree(): Promise<string> {
  const root = await scratchDir('pack-tree-');
  await mkdir(join(root, 'etc/ssl'), { recursive: true });
  await writeFile(join(root, 'etc/hostname'), 'x\n');
  await writeFile(join(root, 'etc/ssl/big'), Buffer.alloc(3 * 1024 * 1024, 'jitsi'));
  await writeFile(join(root, 'usr-bin-ping'), 'binary');
  await chmod(join(root, 'usr-bin-ping'), 0o755);
  await symlink('etc/hostname', join(root, 'link'));
  await utimes(join(root, 'etc/hostname'), 1, 1); // older than the epoch: kept as is
  // Capabilities are an xattr; the image needs them kept (ping, for example).
  await execa('setcap', ['cap_net_raw+ep', join(root, 'usr-bin-ping')], { reject: false });
  return root;
}

const sha256 = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');

for (const compression of ['xz', 'zstd', 'none'] as const) {
  test(`${compression}: reproducible, hash matches the file, no temporary file left, metadata normalised`, async (t) => {
    const tree = await sampleTree();
    const out = await scratchDir('pack-out-');
    const level = compression === 'xz' ? 0 : 1;
    const first = await packDirectory({ rootfs: tree, destination: join(out, 'a'), compression, level, sourceDateEpoch: 1000, signal: new AbortController().signal });
    // Touch everything: mtimes newer than the epoch must not change the bytes.
    await utimes(join(tree, 'etc/ssl/big'), new Date(), new Date());
    const second = await packDirectory({ rootfs: tree, destination: join(out, 'b'), compression, level, sourceDateEpoch: 1000, signal: new AbortController().signal });
    t.is(first.sha256, second.sha256);
    t.is(first.sha256, await sha256(join(out, 'a')));
    t.deepEqual((await readdir(out)).sort(), ['a', 'b']);
    const flag = { xz: '--xz', zstd: '--zstd', none: '--no-auto-compress' }[compression];
    const { stdout } = await execa('tar', [flag, '--list', '--verbose', '--full-time', '--numeric-owner', '--file', join(out, 'a')]);
    t.regex(stdout, /0\/0 .* 1970-01-01 00:16:40 \.\/etc\/ssl\/big/, 'mtime clamped to the epoch, numeric owner');
    t.regex(stdout, /1970-01-01 00:00:01 \.\/etc\/hostname/, 'older mtimes kept');
    const names = stdout.split('\n').map((line) => line.replace(/ -> .*$/, '').split(' ').pop());
    t.deepEqual(names, [...names].sort(), 'sorted names');
  });
}

test('file capabilities survive packing (xattrs)', async (t) => {
  const tree = await sampleTree();
  const caps = await execa('getcap', [join(tree, 'usr-bin-ping')], { reject: false });
  if (!caps.stdout.includes('cap_net_raw')) return t.pass('setcap/getcap unavailable on this host: nothing to check');
  const out = await scratchDir('pack-out-');
  await packDirectory({ rootfs: tree, destination: join(out, 't.tar'), compression: 'none', level: 0, sourceDateEpoch: 1000, signal: new AbortController().signal });
  const unpacked = await scratchDir('pack-unpacked-');
  await execa('tar', ['--extract', '--xattrs', '--xattrs-include=*', '--file', join(out, 't.tar'), '--directory', unpacked]);
  const after = await execa('getcap', [join(unpacked, 'usr-bin-ping')]);
  t.regex(after.stdout, /cap_net_raw[=+]ep/);
});

test('an abort while packing leaves no file, and rejects with the abort reason', async (t) => {
  const tree = await sampleTree();
  await writeFile(join(tree, 'more'), Buffer.alloc(64 * 1024 * 1024, 7));
  const out = await scratchDir('pack-out-');
  const abort = new AbortController();
  const reason = new Error('stop now');
  setTimeout(() => abort.abort(reason), 150);
  const error = await t.throwsAsync(packDirectory({ rootfs: tree, destination: join(out, 'x.tar.xz'), compression: 'xz', level: 9, sourceDateEpoch: 1, signal: abort.signal }));
  t.is(error, reason);
  t.deepEqual(await readdir(out), []);
});

// The compressor can die while tar's output still sits unread in our pipe; that once left the
// pack waiting forever for tar's end. Aborting at many points finds that window.
test('aborts at many points in the first moments each reject with the reason, and leave no file', async (t) => {
  const tree = await scratchDir('pack-tree-');
  await writeFile(join(tree, 'more'), Buffer.alloc(64 * 1024 * 1024, 7));
  const out = await scratchDir('pack-out-');
  for (let delay = 0; delay < 60; delay++) {
    const abort = new AbortController();
    const reason = new Error(`stop after ${delay} ms`);
    setTimeout(() => abort.abort(reason), delay);
    const packing = packDirectory({ rootfs: tree, destination: join(out, 'x.tar.xz'), compression: 'xz', level: 9, sourceDateEpoch: 1, signal: abort.signal });
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<'stuck'>((resolve) => (timer = setTimeout(() => resolve('stuck'), 20_000)));
    const outcome = await Promise.race([packing.then(() => 'packed', (error: unknown) => error), stuck]);
    clearTimeout(timer);
    t.is(outcome, reason, `abort after ${delay} ms`);
    t.deepEqual(await readdir(out), [], `abort after ${delay} ms`);
  }
});

test('a failing tar (missing directory) fails the pack with its message and leaves no file', async (t) => {
  const out = await scratchDir('pack-out-');
  const error = await t.throwsAsync(
    packDirectory({ rootfs: '/nonexistent/rootfs', destination: join(out, 'x.tar.zst'), compression: 'zstd', level: 1, sourceDateEpoch: 1, signal: new AbortController().signal }),
  );
  t.regex(error!.message, /packing failed: .*tar/);
  t.regex(error!.message, /nonexistent/);
  t.deepEqual(await readdir(out), []);
});

test('a full output disk is one clear error naming the tarball, and leaves no partial file', async (t) => {
  const tree = await scratchDir('pack-full-tree-');
  await writeFile(join(tree, 'big'), (await import('node:crypto')).randomBytes(3 * 1024 * 1024));
  const out = await scratchDir('pack-full-out-');
  // The output directory on a 1 MiB tmpfs, in a mount namespace of this test's own.
  const script = `mount -t tmpfs -o size=1m tmpfs "$1" || exit 9; node --import tsx --input-type=module -e "$2"; status=$?; echo "left: [$(ls -A "$1")]"; exit $status`;
  const program = `import { packDirectory } from ${JSON.stringify(join(process.cwd(), 'src/builder/pack-directory.ts'))};
packDirectory({ rootfs: ${JSON.stringify(tree)}, destination: ${JSON.stringify(join(out, 'image.tar'))}, compression: 'none', level: 1, sourceDateEpoch: 1000, signal: new AbortController().signal })
  .then(() => { console.log('packed'); }, (e) => { console.log(e.constructor.name + ': ' + e.message); process.exitCode = 1; });`;
  const result = await execa('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', out, program], { reject: false, all: true });
  t.is(result.exitCode, 1, String(result.all));
  t.regex(String(result.all), new RegExp(`^UserError: \\S+ ${join(out, 'image.tar')}\\S* failed: no space left on the device: free some space \\(ENOSPC\\); then run it again$`, 'm'));
  t.regex(String(result.all), /^left: \[\]$/m, 'no temporary file left on the full disk');
});
