/**
 * Benchmark for issue 13, side by side in one run on this machine, every build at zstd -3
 * with `--jitsi-source none` (Jitsi's repository is not reachable from our machines):
 *
 *   (a) cold vs warm: the systemd image with an empty cache directory, then the same build
 *       again with the cache the first one filled (what a rebuild after an overlay or
 *       configurator change does: those stages run either way, the bootstrap is reused).
 *       Target: warm <= 40% of cold.
 *   (b) `--init all` (both images, one release, one fresh cache) against one cold build of the
 *       systemd image, in alternating order over several rounds (--rounds, default 2), and
 *       against two separate cold builds (systemd and OpenRC); the time of each variant is
 *       printed too (the second one starts from the first one's base).
 *       Target: --init all <= 1.6 times one cold build.
 *   (c) the systemd image for arm64 under qemu-user emulation, cold.
 *
 * Each run gets its own scratch, output and cache directories; peak disk is sampled every
 * 500 ms over those three (the cache counts: it is what a warm build pays for). Before each
 * run, untimed, `sync` writes out what the earlier ones left in the page cache. Usage, as root:
 *
 *   npx tsx bench/cache-release-arm64.ts [--dir DIR] [--rounds N] [--skip-arm64] [--keep]
 */
import { execa } from 'execa';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { buildRootfs, type BuildOptions } from '../src/builder/pipeline.js';
import { buildRelease } from '../src/builder/release-build.js';
import { hostArchitecture } from '../src/host/tools.js';
import { measure, mib } from './measure.js';

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index !== -1 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}

interface Row {
  what: string;
  seconds: number;
  peakBytes: number;
  tarballs: number;
}

async function main(): Promise<void> {
  const root = option('dir', '/var/tmp/nspawn-jitsi-bench-13');
  const rounds = Number(option('rounds', '2'));
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a whole number of at least 1, not ${option('rounds', '2')}`);
  await rm(root, { recursive: true, force: true });
  const common: Omit<BuildOptions, 'init'> = { compression: 'zstd', level: 3, jitsiSource: 'none', renderer: 'silent' };
  const rows: Row[] = [];
  const loads: string[] = [];
  const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
  /** One measured piece of work with its own directories. */
  const run = async (name: string, cacheFrom: string | undefined, work: (dirs: { tmp: string; out: string; cache: string }) => Promise<void>) => {
    const dirs = { tmp: join(root, name, 'tmp'), out: join(root, name, 'out'), cache: cacheFrom ?? join(root, name, 'cache') };
    for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true, mode: 0o755 });
    // Untimed: what earlier runs wrote reaches the disk now, not during this run (a build
    // started on a machine that has just written gigabytes is slowed by that write-back).
    await execa('sync');
    loads.push(`${name}: load ${load()} at the start`);
    console.log(`${name}: starting (load ${load()})`);
    const measured = await measure(Object.values(dirs), () => work(dirs));
    let tarballs = 0;
    for (const file of await readdir(dirs.out)) if (/\.tar\.zst$/.test(file)) tarballs += (await stat(join(dirs.out, file))).size;
    rows.push({ what: name, ...measured, tarballs });
    console.log(`${name}: ${measured.seconds.toFixed(1)} s, peak disk ${mib(measured.peakBytes)}, tarballs ${mib(tarballs)}`);
    return dirs;
  };
  const versions = [(await execa('mmdebstrap', ['--version'])).stdout.trim(), (await execa('zstd', ['--version'])).stdout.trim()];
  const qemu = (await execa('dpkg-query', ['-W', '-f', '${Version}', 'qemu-user-static'], { reject: false })).stdout.trim();
  console.log(`bench 13: ${(await execa('nproc')).stdout.trim()} cores, host ${await hostArchitecture()}; ${versions.join('; ')}; qemu-user-static ${qemu || 'not installed'}`);
  const coldSystemd = (round: number) =>
    run(`a-cold-systemd-${round}`, undefined, async ({ tmp, out, cache }) => {
      await buildRootfs({ ...common, init: 'systemd', outDir: out, workdirParent: tmp, cacheDir: cache });
    });
  const initAll = (round: number) =>
    run(`b-init-all-${round}`, undefined, async ({ tmp, out, cache }) => {
      const release = await buildRelease({ ...common, inits: ['systemd', 'openrc'], outDir: out, workdirParent: tmp, cacheDir: cache });
      const [first] = release.variants;
      console.log(`b-init-all-${round}: ${release.variants.map((variant) => `${variant.init} ${variant.seconds} s`).join(', ')}; ${(release.seconds / first!.seconds).toFixed(2)}x its own first variant`);
    });
  // A build's time depends on its place in a sequence (the page cache, the disk's write-back,
  // the mirror), so the two builds (b) compares alternate: the cold build first in odd rounds,
  // --init all first in even ones. The warm build (a) reuses round 1's cold cache; the cold
  // OpenRC build and arm64 run once.
  for (let round = 1; round <= rounds; round++) {
    if (round % 2 === 1) {
      const cold = await coldSystemd(round);
      if (round === 1) {
        await run('a-warm-systemd', cold.cache, async ({ tmp, out, cache }) => {
          await buildRootfs({ ...common, init: 'systemd', outDir: out, workdirParent: tmp, cacheDir: cache });
        });
      }
      await initAll(round);
    } else {
      await initAll(round);
      await coldSystemd(round);
    }
  }
  await run('b-cold-openrc', undefined, async ({ tmp, out, cache }) => {
    await buildRootfs({ ...common, init: 'openrc', outDir: out, workdirParent: tmp, cacheDir: cache });
  });
  if (!process.argv.includes('--skip-arm64')) {
    await run('c-cold-systemd-arm64', undefined, async ({ tmp, out, cache }) => {
      await buildRootfs({ ...common, init: 'systemd', architecture: 'arm64', outDir: out, workdirParent: tmp, cacheDir: cache });
    });
  }
  console.log(`load average at the end: ${load()}`);
  console.log(loads.join('\n'));
  const seconds = (name: string) => rows.find((row) => row.what === name)?.seconds ?? NaN;
  const mean = (prefix: string) => {
    const matching = rows.filter((row) => row.what.startsWith(prefix));
    return matching.reduce((sum, row) => sum + row.seconds, 0) / matching.length;
  };
  console.log('\n| run | wall time | peak disk | tarballs |');
  console.log('| --- | --- | --- | --- |');
  for (const row of rows) console.log(`| ${row.what} | ${row.seconds.toFixed(1)} s | ${mib(row.peakBytes)} | ${mib(row.tarballs)} |`);
  const warmRatio = seconds('a-warm-systemd') / seconds('a-cold-systemd-1');
  console.log(`\n(a) warm/cold: ${(warmRatio * 100).toFixed(0)}% (target <= 40%): ${warmRatio <= 0.4 ? 'met' : 'NOT met'}`);
  for (let round = 1; round <= rounds; round++) {
    const ratio = seconds(`b-init-all-${round}`) / seconds(`a-cold-systemd-${round}`);
    console.log(`(b) round ${round} (${round % 2 === 1 ? 'cold build first' : '--init all first'}): --init all ${seconds(`b-init-all-${round}`).toFixed(1)} s = ${ratio.toFixed(2)}x the cold build of the same round`);
  }
  const allRatio = mean('b-init-all-') / mean('a-cold-systemd-');
  console.log(`(b) over ${rounds} round(s): --init all ${mean('b-init-all-').toFixed(1)} s on average = ${allRatio.toFixed(2)}x one cold build (${mean('a-cold-systemd-').toFixed(1)} s on average) (target <= 1.6x): ${allRatio <= 1.6 ? 'met' : 'NOT met'}; two separate cold builds: ${(seconds('a-cold-systemd-1') + seconds('b-cold-openrc')).toFixed(1)} s`);
  if (rows.some((row) => row.what === 'c-cold-systemd-arm64')) console.log(`(c) arm64 under emulation: ${seconds('c-cold-systemd-arm64').toFixed(1)} s = ${(seconds('c-cold-systemd-arm64') / mean('a-cold-systemd-')).toFixed(1)}x the native cold build`);
  if (process.argv.includes('--keep')) console.log(`kept in ${root}`);
  else await rm(root, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error((error as Error).stack ?? String(error));
  process.exitCode = 1;
});
