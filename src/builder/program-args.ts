/**
 * Pure builders of the argument arrays the build passes to host programs (mkosi style): no
 * processes, no file system, so each is unit-tested and the stages stay small.
 */
import { levelProblem, type Compression } from '../image/compression.js';
import { debCacheMmdebstrapArgs } from './deb-cache.js';

export interface MmdebstrapInput {
  suite: string;
  mirror: string;
  variant: string;
  components: string[];
  architecture?: string;
  packages: string[];
  /** Directory to create the rootfs in (must not exist or be empty). */
  target: string;
  verbose?: boolean;
  /** Package cache directory (deb-cache.ts); needs `architecture`. None: every .deb is downloaded. */
  cacheDir?: string;
}

/**
 * mmdebstrap in root mode writing a plain directory: later stages edit the tree in place
 * and the pack stage writes the one tarball, so nothing is packed twice.
 */
export function mmdebstrapArgs(input: MmdebstrapInput): string[] {
  const args = [
    `--variant=${input.variant}`,
    '--mode=root',
    '--format=directory',
    `--components=${input.components.join(',')}`,
  ];
  if (input.architecture) args.push(`--architectures=${input.architecture}`);
  if (input.packages.length > 0) args.push(`--include=${input.packages.join(',')}`);
  if (input.cacheDir) {
    if (!input.architecture) throw new Error('mmdebstrapArgs: a package cache needs the architecture');
    args.push(...debCacheMmdebstrapArgs(input.cacheDir, input.architecture));
  }
  // Default verbosity: its `I:` progress lines, and apt's reasons when something fails.
  if (input.verbose) args.push('--verbose');
  args.push(input.suite, input.target, input.mirror);
  return args;
}

/**
 * Runs `command` as PID 1 of fresh PID and mount namespaces, tied to the build's life:
 * - `setpriv --pdeathsig SIGKILL` (it execs unshare, which keeps the setting) kills unshare
 *   when the build process dies, however it dies (SIGKILL, the OOM killer);
 * - `unshare --kill-child` kills the namespace's PID 1 when unshare dies;
 * - when PID 1 of a namespace dies, the kernel ends every other process in it and drops every
 *   mount made inside (mmdebstrap mounts /proc, /sys and /dev in the chroot).
 * So nothing of it runs on, and nothing stays mounted, once the build is gone.
 */
export function isolatedCommand(command: string, args: string[]): { file: string; args: string[] } {
  return {
    file: 'setpriv',
    args: ['--pdeathsig', 'SIGKILL', '--', 'unshare', '--mount', '--propagation=private', '--pid', '--fork', '--kill-child', '--mount-proc', '--', command, ...args],
  };
}

/**
 * GNU tar writing the rootfs deterministically to stdout: sorted names, mtimes clamped to
 * SOURCE_DATE_EPOCH, numeric owners, pax format with xattrs (file capabilities) and without
 * atime/ctime or PID-dependent extended header names.
 */
export function tarArgs(rootfs: string, sourceDateEpoch: number): string[] {
  return [
    '--create',
    '--file=-',
    `--directory=${rootfs}`,
    '--sort=name',
    `--mtime=@${sourceDateEpoch}`,
    '--clamp-mtime',
    '--numeric-owner',
    '--one-file-system',
    '--format=pax',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    '--xattrs',
    '--xattrs-include=*',
    '.',
  ];
}

/**
 * Compressor reading stdin, writing stdout. xz: always the multi-threaded encoder (`-T0`;
 * since xz 5.4 that is multi-threaded even on one core), because the single-threaded one
 * (`-T1`) writes different bytes and the tarball must not depend on the machine. Block size
 * follows the level, not the thread count, so any core count gives the same bytes. zstd gives
 * the same bytes for any thread count.
 */
export function compressorCommand(compression: Exclude<Compression, 'none'>, level: number): { file: string; args: string[] } {
  const problem = levelProblem(compression, level);
  if (problem) throw new RangeError(problem);
  if (compression === 'xz') return { file: 'xz', args: ['--compress', '--stdout', `-${level}`, '--threads=0', '--check=crc64'] };
  return { file: 'zstd', args: ['--compress', '--stdout', '--quiet', `-${level}`, '-T0', '--no-progress'] };
}

/**
 * Environment for every child of the build: SOURCE_DATE_EPOCH set, and the variables that
 * would silently change tar's or a compressor's output removed.
 */
export function childEnvironment(base: NodeJS.ProcessEnv, sourceDateEpoch: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, SOURCE_DATE_EPOCH: String(sourceDateEpoch), LC_ALL: 'C.UTF-8' };
  for (const name of ['TAR_OPTIONS', 'XZ_OPT', 'XZ_DEFAULTS', 'ZSTD_CLEVEL', 'ZSTD_NBTHREADS', 'TZ']) delete env[name];
  return env;
}
