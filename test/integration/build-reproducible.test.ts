/**
 * Reproducibility: two builds of the same recipe against the same mirror state give
 * byte-identical tarballs, and the xz settings the build uses give the same bytes whatever the
 * number of cores. Builds are slow, so only one extra build is made here: the second copy of
 * the shared systemd test image, bootstrapped afresh (--no-cache) while the shared one may
 * have been unpacked from the bootstrap cache, so this also shows a cached bootstrap gives the
 * same bytes as a fresh one.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { compressorCommand } from '../../src/builder/program-args.js';
import { buildImage, CACHE_ROOT, imageInputsKey, testImage } from '../helpers/images.js';
import { scratchDir } from '../helpers/scratch.js';

/** Several MiB that compress like a rootfs does (text, some incompressible runs), the same every time. */
function sampleInput(): Buffer {
  const parts: Buffer[] = [];
  let seed = createHash('sha256').update('nspawn-jitsi-meet').digest();
  for (let i = 0; i < 48_000; i++) {
    seed = createHash('sha256').update(seed).digest();
    parts.push(Buffer.from(`/usr/share/doc/package-${i % 977}/changelog line ${i}: ${seed.toString('hex')}\n`));
    if (i % 50 === 0) parts.push(seed, createHash('sha512').update(seed).digest());
  }
  return Buffer.concat(parts);
}

async function compressWith(cpus: string | undefined, input: Buffer, args: string[]): Promise<Buffer> {
  const argv = cpus ? ['taskset', ['--cpu-list', cpus, 'xz', ...args]] as const : (['xz', args] as const);
  const result = await execa(argv[0], [...argv[1]], { input, encoding: 'buffer', stripFinalNewline: false, env: { XZ_DEFAULTS: '', XZ_OPT: '' } });
  return Buffer.from(result.stdout);
}

test('xz as the build calls it writes the same bytes on one core and on all cores', async (t) => {
  const { file, args } = compressorCommand('xz', 0);
  t.is(file, 'xz');
  const input = sampleInput();
  t.true(input.length > 4 * 1024 * 1024, 'input spans several xz blocks at level 0');
  const cores = (await execa('nproc', ['--all'])).stdout.trim();
  const oneCore = await compressWith('0', input, args);
  const allCores = await compressWith(undefined, input, args);
  t.true(oneCore.equals(allCores), `xz ${args.join(' ')}: ${cores} cores and one core gave different bytes`);
  // The multi-threaded encoder splits into blocks; the single-threaded one writes one block.
  // Several blocks on one core show the settings chose the multi-threaded encoder there too.
  const blocks = async (data: Buffer) => {
    const listed = await execa('xz', ['--robot', '--list', '-'], { input: data, reject: false });
    if (listed.exitCode !== 0) {
      // xz --list needs a seekable file.
      const dir = await scratchDir('xz-list-', join(CACHE_ROOT, '..'));
      try {
        const path = join(dir, 'sample.xz');
        await import('node:fs/promises').then((fs) => fs.writeFile(path, data));
        return Number((await execa('xz', ['--robot', '--list', path])).stdout.split('\n').find((l) => l.startsWith('totals'))!.split('\t')[2]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    return Number(listed.stdout.split('\n').find((l) => l.startsWith('totals'))!.split('\t')[2]);
  };
  t.true((await blocks(oneCore)) > 1, 'xz used its multi-threaded (block-splitting) encoder on one core');
  // And the single-threaded encoder really does differ, so the check above can fail.
  const singleThreaded = await compressWith('0', input, ['--compress', '--stdout', '-0', '--threads=1']);
  t.false(singleThreaded.equals(oneCore), 'xz -T1 differs from the build setting (otherwise this test proves nothing)');
});

test('two builds of the same recipe give byte-identical tarballs', async (t) => {
  const reference = await testImage('systemd');
  const scratch = await scratchDir('repro-', join(CACHE_ROOT, '..'));
  const second = await buildImage('systemd', join(scratch, 'second'), { logFile: join(scratch, 'second.log'), cache: false });
  // The image embeds the configurator bundle built from src/: if the sources changed between
  // the two builds (someone editing the checkout meanwhile), the tarballs differ for a reason
  // that has nothing to do with reproducibility. Say so rather than compare.
  const keyNow = await imageInputsKey();
  if (keyNow !== reference.key) {
    await rm(scratch, { recursive: true, force: true });
    t.fail('recipes/, overlays/, src/ or scripts/ changed while this test ran; the comparison proves nothing, run it again');
    return;
  }
  let first: { sha256: string; packages: string; tarball: string } = reference;
  if (second.sha256 !== reference.sha256) {
    const [a, b] = await Promise.all([readFile(reference.packages, 'utf8'), readFile(second.packages, 'utf8')]);
    if (a !== b) {
      // The cached image was built against an older mirror state: not a reproducibility
      // failure. Build the reference again now, against the same mirror state.
      t.log('package versions changed since the cached image was built; building the reference again');
      first = await buildImage('systemd', join(scratch, 'first'), { logFile: join(scratch, 'first.log'), cache: false });
    }
  }
  if (second.sha256 === first.sha256) {
    await rm(scratch, { recursive: true, force: true });
    t.pass();
    return;
  }
  // Kept for diagnosis.
  t.fail(`tarballs differ (${first.sha256} vs ${second.sha256}); compare with: diffoscope ${first.tarball} ${second.tarball}`);
});
