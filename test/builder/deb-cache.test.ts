/**
 * The package cache's mmdebstrap hooks, run the way mmdebstrap runs them (`sh -c HOOK exec ROOT`)
 * on scratch directories: what goes into the new root's apt cache, what comes back out.
 * That apt verifies what it finds in partial/ is shown by the warm build in the integration
 * tests and bench, not here.
 */
import test from 'ava';
import { execa } from 'execa';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { debCacheMmdebstrapArgs, shellQuote, sweepIncoming } from '../../src/builder/deb-cache.js';
import { mmdebstrapArgs } from '../../src/builder/program-args.js';
import { scratchDir } from '../helpers/scratch.js';

/** Runs one hook option (`--setup-hook=...`) as mmdebstrap does. */
async function runHook(option: string, root: string): Promise<string> {
  const script = option.slice(option.indexOf('=') + 1);
  const { stdout } = await execa('sh', ['-c', script, 'exec', root]);
  return stdout;
}

async function layout() {
  const dir = await scratchDir('deb-cache-');
  // A cache path a shell would trip on: a space and a quote.
  const cache = join(dir, "the cache's dir");
  const root = join(dir, 'root');
  await mkdir(cache, { recursive: true });
  await mkdir(join(root, 'var/cache/apt/archives'), { recursive: true });
  const [setupHook, skip, customizeHook] = debCacheMmdebstrapArgs(cache, 'arm64');
  return { dir, cache, root, setupHook, skip, customizeHook };
}

test('the options: a setup hook, essential debs kept, a customize hook', async (t) => {
  const { setupHook, skip, customizeHook } = await layout();
  t.true(setupHook.startsWith('--setup-hook=sh -c '));
  t.is(skip, '--skip=essential/unlink');
  t.true(customizeHook.startsWith('--customize-hook=sh -c '));
  t.is(shellQuote("it's"), `'it'\\''s'`);
});

test('sync in: only the build architecture and all, into partial/ where apt hashes them before use', async (t) => {
  const { cache, root, setupHook } = await layout();
  for (const name of ['nginx_1.22_arm64.deb', 'nginx_1.22_amd64.deb', 'tzdata_2024a_all.deb', 'notes.txt']) await writeFile(join(cache, name), name);
  const output = await runHook(setupHook, root);
  t.deepEqual((await readdir(join(root, 'var/cache/apt/archives/partial'))).sort(), ['nginx_1.22_arm64.deb', 'tzdata_2024a_all.deb']);
  t.deepEqual(await readdir(join(root, 'var/cache/apt/archives')), ['partial'], 'nothing in archives/ itself: apt would take it unchecked');
  t.regex(output, /offered 2 cached packages/);
});

test('sync in: a cache that does not exist yet offers nothing and is no error', async (t) => {
  const { dir, root } = await layout();
  const [setupHook] = debCacheMmdebstrapArgs(join(dir, 'missing'), 'amd64');
  t.regex(await runHook(setupHook, root), /offered 0 cached packages/);
});

test('sync out: new and changed debs stored whole, identical ones left, no temporary files', async (t) => {
  const { cache, root, customizeHook } = await layout();
  const archives = join(root, 'var/cache/apt/archives');
  await writeFile(join(cache, 'same_1_all.deb'), 'same');
  await writeFile(join(cache, 'changed_1_all.deb'), 'old bytes');
  const before = Date.now() / 1000 - 600;
  await utimes(join(cache, 'same_1_all.deb'), before, before);
  await writeFile(join(archives, 'same_1_all.deb'), 'same');
  await writeFile(join(archives, 'changed_1_all.deb'), 'new bytes');
  await writeFile(join(archives, 'fresh_2_arm64.deb'), 'fresh');
  const output = await runHook(customizeHook, root);
  t.regex(output, /stored 2 new packages/);
  t.deepEqual((await readdir(cache)).sort(), ['changed_1_all.deb', 'fresh_2_arm64.deb', 'same_1_all.deb']);
  t.is(await readFile(join(cache, 'changed_1_all.deb'), 'utf8'), 'new bytes');
  t.is(await readFile(join(cache, 'fresh_2_arm64.deb'), 'utf8'), 'fresh');
  const { mtimeMs } = await import('node:fs/promises').then(({ stat }) => stat(join(cache, 'same_1_all.deb')));
  t.true(mtimeMs < Date.now() - 300_000, 'an identical file is not rewritten');
});

test('sync out: creates the cache directory on first use', async (t) => {
  const { dir, root } = await layout();
  const fresh = join(dir, 'new', 'cache');
  await writeFile(join(root, 'var/cache/apt/archives/a_1_all.deb'), 'a');
  const [, , customizeHook] = debCacheMmdebstrapArgs(fresh, 'amd64');
  await runHook(customizeHook, root);
  t.deepEqual(await readdir(fresh), ['a_1_all.deb']);
});

test('temporary files of killed builds are swept after an hour, a running build\'s are not', async (t) => {
  const { cache } = await layout();
  await writeFile(join(cache, '.incoming-12-old_1_all.deb'), 'x');
  await writeFile(join(cache, '.incoming-13-new_1_all.deb'), 'x');
  await writeFile(join(cache, 'kept_1_all.deb'), 'x');
  const old = Date.now() / 1000 - 7200;
  await utimes(join(cache, '.incoming-12-old_1_all.deb'), old, old);
  t.deepEqual(await sweepIncoming(cache), ['.incoming-12-old_1_all.deb']);
  t.deepEqual((await readdir(cache)).sort(), ['.incoming-13-new_1_all.deb', 'kept_1_all.deb']);
});

test('mmdebstrap gets the cache options only with a cache, and always the architecture', (t) => {
  const base = { suite: 'bookworm', mirror: 'http://m/debian', variant: 'minbase', components: ['main'], packages: [], target: '/w/r', architecture: 'arm64' };
  const args = mmdebstrapArgs({ ...base, cacheDir: '/var/cache/x' });
  t.true(args.includes('--architectures=arm64'));
  t.true(args.includes('--skip=essential/unlink'));
  t.is(args.filter((a) => a.startsWith('--setup-hook=') || a.startsWith('--customize-hook=')).length, 2);
  t.deepEqual(args.slice(-3), ['bookworm', '/w/r', 'http://m/debian'], 'suite, target, mirror still last');
  t.false(mmdebstrapArgs(base).some((a) => a.includes('hook') || a.startsWith('--skip')));
  t.throws(() => mmdebstrapArgs({ ...base, architecture: undefined, cacheDir: '/c' }), { message: /needs the architecture/ });
});
