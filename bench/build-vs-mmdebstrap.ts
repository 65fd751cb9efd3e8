/**
 * Benchmark: our full build against the baseline, in one run on this machine.
 *
 *   baseline: mmdebstrap (same suite, variant, mirror and package list) writing a tar
 *             stream to stdout, piped into `xz -T0 -<level>`
 *   ours:     `buildRootfs` with xz at the same level (every stage: bootstrap, overlays,
 *             configurator, cleanup, package list, .nspawn, pack), with `--jitsi-source none`:
 *             the baseline installs the recipe's Debian packages only, and Jitsi's repository
 *             is not reachable from our machines
 *
 * Prints wall time, the ratio ours/baseline (target <= 1.10), the tarball sizes and the
 * peak disk use of each (sampled every 500 ms: the bytes below the run's own scratch and
 * output directories). Usage (as root):
 *
 *   npm run bench -- [--init systemd|openrc] [--level N] [--suite bookworm] [--dir DIR] [--keep]
 */
import { execa } from 'execa';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { measure, mib } from './measure.js';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { buildRootfs, PROJECT_ROOT } from '../src/builder/pipeline.js';
import { recipePathFor, resolveRecipe } from '../src/builder/recipe/load.js';
import type { InitSystem } from '../src/lib/init-systems.js';

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index !== -1 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}

async function main(): Promise<void> {
  const init = option('init', 'systemd') as InitSystem;
  const level = Number(option('level', '6'));
  const suite = option('suite', 'bookworm');
  const root = option('dir', '/var/tmp/nspawn-jitsi-bench');
  const recipe = await resolveRecipe(recipePathFor(PROJECT_ROOT, 'debian', suite), { projectRoot: PROJECT_ROOT, init });
  const sourceDateEpoch = process.env.SOURCE_DATE_EPOCH ?? String(recipe.sourceDateEpoch);

  await rm(root, { recursive: true, force: true });
  const baselineTmp = join(root, 'baseline-tmp');
  const baselineOut = join(root, 'baseline-out');
  const oursTmp = join(root, 'ours-tmp');
  const oursOut = join(root, 'ours-out');
  for (const dir of [baselineTmp, baselineOut, oursTmp, oursOut]) await mkdir(dir, { recursive: true });

  const cores = (await execa('nproc')).stdout.trim();
  const versions = [
    (await execa('mmdebstrap', ['--version'])).stdout.trim(),
    (await execa('xz', ['--version'])).stdout.split('\n')[0],
    (await execa('tar', ['--version'])).stdout.split('\n')[0],
  ];
  console.log(`load average at the start: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`bench: debian ${suite} ${init}, ${recipe.packages.length} packages, xz -${level}, ${cores} cores; ${versions.join('; ')}`);

  const baselineTarball = join(baselineOut, `baseline-${suite}-${init}.tar.xz`);
  console.log('baseline: mmdebstrap ... - | xz -T0 ...');
  const baseline = await measure([baselineTmp, baselineOut], async () => {
    const env = { ...process.env, TMPDIR: baselineTmp, SOURCE_DATE_EPOCH: sourceDateEpoch };
    const mm = execa(
      'mmdebstrap',
      [
        `--variant=${recipe.variant}`,
        '--mode=root',
        '--format=tar',
        `--components=${recipe.components.join(',')}`,
        `--include=${recipe.packages.join(',')}`,
        '--quiet',
        recipe.suite,
        '-',
        recipe.mirror,
      ],
      { env, buffer: false, stdout: 'pipe', stderr: 'inherit' },
    );
    const xz = execa('xz', ['-T0', `-${level}`], { stdin: 'pipe', stdout: 'pipe', buffer: false, stderr: 'inherit' });
    mm.stdout!.pipe(xz.stdin!);
    await Promise.all([mm, xz, pipeline(xz.stdout!, createWriteStream(baselineTarball))]);
  });
  const baselineSize = (await stat(baselineTarball)).size;
  console.log(`baseline: ${baseline.seconds.toFixed(1)} s, ${mib(baselineSize)}, peak disk ${mib(baseline.peakBytes)}`);

  console.log('ours: nspawn-jitsi build --compression xz ...');
  let tarball = '';
  const ours = await measure([oursTmp, oursOut], async () => {
    // --no-cache: a cold build, like the baseline (the cache is measured by bench/cache-release-arm64.ts).
    const result = await buildRootfs({ init, suite, level, compression: 'xz', outDir: oursOut, workdirParent: oursTmp, renderer: 'silent', noCache: true, jitsiSource: 'none' });
    tarball = result.tarball;
  });
  const oursSize = (await stat(tarball)).size;
  console.log(`ours: ${ours.seconds.toFixed(1)} s, ${mib(oursSize)}, peak disk ${mib(ours.peakBytes)}`);

  const ratio = ours.seconds / baseline.seconds;
  // Other work on the machine skews both timings; say how busy it was.
  console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log('');
  console.log('| | wall time | tarball | peak disk |');
  console.log('| --- | --- | --- | --- |');
  console.log(`| baseline (mmdebstrap - \\| xz -T0 -${level}) | ${baseline.seconds.toFixed(1)} s | ${mib(baselineSize)} | ${mib(baseline.peakBytes)} |`);
  console.log(`| ours (nspawn-jitsi build, xz -${level}) | ${ours.seconds.toFixed(1)} s | ${mib(oursSize)} | ${mib(ours.peakBytes)} |`);
  console.log(`\nratio ours/baseline: ${ratio.toFixed(3)}x (target <= 1.10x): ${ratio <= 1.1 ? 'met' : 'NOT met'}`);
  if (process.argv.includes('--keep')) console.log(`kept in ${root}: ${(await readdir(root)).join(', ')}`);
  else await rm(root, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error((error as Error).stack ?? String(error));
  process.exitCode = 1;
});
