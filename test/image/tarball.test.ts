import test from 'ava';
import { chmod, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { detectCompression, type Compression } from '../../src/image/compression.js';
import { detectInit } from '../../src/image/init-detection.js';
import { normalizeEntryPath, readTarball, walkArchive, type ArchiveEntry } from '../../src/image/tarball.js';
import { UserError } from '../../src/lib/errors.js';
import { makeTree, packTree } from '../helpers/image-trees.js';
import { scratchDir } from '../helpers/scratch.js';

let work: string;

/** A tiny "rootfs" packed by GNU tar, then compressed by the real xz and zstd. */
async function makeTarball(name: string, files: Record<string, string>, compression: Compression): Promise<string> {
  const root = await scratchDir('root-', work);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), content);
  }
  await symlink('../proc/self/mounts', join(root, 'mtab-link'));
  await chmod(join(root, Object.keys(files)[0]), 0o750);
  const tar = join(work, `${name}.plain`);
  await execa('tar', ['--create', `--file=${tar}`, `--directory=${root}`, '--numeric-owner', '--sort=name', '.']);
  const out = join(work, name);
  if (compression === 'none') await execa('mv', [tar, out]);
  else await execa('sh', ['-c', `${compression} -c -q < "$1" > "$2" && rm "$1"`, 'sh', tar, out]);
  return out;
}

test.before(async () => {
  work = await scratchDir('boot-tarball-');
});
test.after.always(() => rm(work, { recursive: true, force: true }));

test('compression is judged by magic bytes, not by the name', async (t) => {
  const files = { 'etc/machine-id': 'uninitialized\n' };
  t.is(await detectCompression(await makeTarball('a.bin', files, 'xz')), 'xz');
  t.is(await detectCompression(await makeTarball('b.tar.xz', files, 'zstd')), 'zstd');
  t.is(await detectCompression(await makeTarball('c.tar.zst', files, 'none')), 'none');
});

test('readTarball lists every entry and returns only the contents asked for', async (t) => {
  for (const compression of ['none', 'xz', 'zstd'] as const) {
    const tarball = await makeTarball(`list-${compression}.tar`, { 'etc/machine-id': 'uninitialized\n', 'etc/shadow': 'root:!:1::::::\n', 'usr/bin/x': 'x' }, compression);
    const { entries, contents } = await readTarball(tarball, (path) => path === 'etc/machine-id');
    t.is(entries.get('etc/machine-id')?.type, 'File', compression);
    t.is(entries.get('etc/machine-id')?.mode, 0o750, compression);
    t.is(entries.get('etc')?.type, 'Directory', compression);
    t.is(entries.get('mtab-link')?.type, 'SymbolicLink', compression);
    t.is(entries.get('mtab-link')?.linkpath, '../proc/self/mounts', compression);
    t.is(contents.get('etc/machine-id')?.toString(), 'uninitialized\n', compression);
    t.false(contents.has('etc/shadow'), compression);
    t.true(entries.has('usr/bin/x'), compression);
  }
});

test('a damaged tarball is an error naming the file', async (t) => {
  const bad = join(work, 'bad.tar.zst');
  await writeFile(bad, Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(64, 7)]));
  const error = await t.throwsAsync(readTarball(bad), { instanceOf: UserError });
  t.true(error!.message.includes(bad), error!.message);
});

test('the init system comes from the name, else from the contents', async (t) => {
  // The name decides without reading (the content says systemd, the name openrc).
  t.is(await detectInit(await makeTarball('debian-bookworm-jitsi-openrc-0.1.0-amd64.tar', { 'lib/systemd/systemd': '' }, 'none')), 'openrc');
  t.is(await detectInit(await makeTarball('image-1.tar.xz', { 'sbin/openrc-run': '' }, 'xz')), 'openrc');
  t.is(await detectInit(await makeTarball('image-2.tar.zst', { 'usr/lib/systemd/systemd': '' }, 'zstd')), 'systemd');
  const neither = await makeTarball('image-3.tar', { 'etc/hostname': 'x\n' }, 'none');
  const error = await t.throwsAsync(detectInit(neither), { instanceOf: UserError });
  t.regex(error!.message, /pass --init/);
});

test('entry paths are normalised relative to the archive root', (t) => {
  t.is(normalizeEntryPath('./etc/x'), 'etc/x');
  t.is(normalizeEntryPath('etc/x/'), 'etc/x');
  t.is(normalizeEntryPath('/etc/x'), 'etc/x');
  t.is(normalizeEntryPath('./'), '');
  t.is(normalizeEntryPath('./etc/'), 'etc');
  t.is(normalizeEntryPath('././etc/x'), 'etc/x');
  t.is(normalizeEntryPath('usr/lib/os-release'), 'usr/lib/os-release');
});

test('walkArchive streams every entry and collects only the contents asked for, up to the limit', async (t) => {
  const root = await makeTree({ 'etc/keep': 'kept content', 'etc/long': 'z'.repeat(10_000), 'usr/skip': 'skipped', 'usr/link': { link: '../etc/keep' } });
  const seen: { entry: ArchiveEntry; content?: string }[] = [];
  const result = await walkArchive(await packTree(root, '.tar.xz'), {
    wantContent: (entry) => (entry.path.startsWith('etc/') ? 100 : false),
    onEntry: (entry, content) => seen.push({ entry, content: content?.toString() }),
  });
  t.is(result.compression, 'xz');
  t.is(result.entries, 7);
  t.deepEqual(result.problems, []);
  const byPath = new Map(seen.map((item) => [item.entry.path, item]));
  t.deepEqual([...byPath.keys()].sort(), ['', 'etc', 'etc/keep', 'etc/long', 'usr', 'usr/link', 'usr/skip']);
  t.is(byPath.get('etc/keep')!.content, 'kept content');
  t.is(byPath.get('etc/long')!.content, 'z'.repeat(100));
  t.is(byPath.get('etc/long')!.entry.size, 10_000);
  t.is(byPath.get('usr/skip')!.content, undefined);
  t.is(byPath.get('usr/link')!.entry.type, 'SymbolicLink');
  t.is(byPath.get('usr/link')!.entry.linkpath, '../etc/keep');
  t.is(byPath.get('etc/keep')!.entry.rawPath, './etc/keep');
});
