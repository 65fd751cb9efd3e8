import test from 'ava';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { temporaryPathFor, writeFileAtomically } from '../../src/lib/atomic-write.js';
import { scratchDir } from '../helpers/scratch.js';


test('writes the whole file with the exact mode, replacing what was there, and leaves no temporary file', async (t) => {
  const dir = await scratchDir('atomic-write-');
  const target = join(dir, 'secret.conf');
  await writeFile(target, 'old');
  const umask = process.umask(0o077);
  try {
    await writeFileAtomically(target, 'new', { mode: 0o644 });
  } finally {
    process.umask(umask);
  }
  t.is(await readFile(target, 'utf8'), 'new');
  t.is((await stat(target)).mode & 0o7777, 0o644, 'the umask does not narrow the mode asked for');
  t.deepEqual(await readdir(dir), ['secret.conf']);
});

test('a failed write leaves the target as it was and no temporary file', async (t) => {
  const dir = await scratchDir('atomic-write-');
  await t.throwsAsync(writeFileAtomically(join(dir, 'missing-dir', 'x'), 'data'));
  t.deepEqual(await readdir(dir), []);
});

test('temporary files are hidden, beside the target and named after it', (t) => {
  t.regex(temporaryPathFor('/etc/nginx/site.conf'), /^\/etc\/nginx\/\.site\.conf\.[0-9a-f]{12}\.tmp$/);
});
