import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { detectCompression, normalizeEntryPath, walkArchive, type ArchiveEntry } from '../../../src/release/inspect/archive.js';
import { makeTree, packTree, removeAfter } from './fixtures.js';

const scratch = removeAfter(test);

test('entry paths are normalised relative to the archive root', (t) => {
  t.is(normalizeEntryPath('./'), '');
  t.is(normalizeEntryPath('./etc/'), 'etc');
  t.is(normalizeEntryPath('././etc/x'), 'etc/x');
  t.is(normalizeEntryPath('/etc/x'), 'etc/x');
  t.is(normalizeEntryPath('usr/lib/os-release'), 'usr/lib/os-release');
});

test('compression is detected from the content, not the name', async (t) => {
  const root = await makeTree({ 'a': 'a' });
  const zst = await packTree(root, '.tar.zst');
  const dir = await scratch('detect-');
  const misnamed = join(dir, 'image.tar.xz');
  await writeFile(misnamed, await readFile(zst));
  t.is(await detectCompression(misnamed), 'zstd');
  t.is(await detectCompression(await packTree(root, '.tar.xz')), 'xz');
  t.is(await detectCompression(await packTree(root, '.tar')), 'none');
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
