/**
 * The build's choices, ranges and defaults in one table: the CLI's option list and its
 * `--help` text, and the pipeline's checks and defaults, all read them from here.
 */
import { COMPRESSIONS, DEFAULT_LEVEL, LEVEL_RANGE, type Compression } from '../image/compression.js';
import { INIT_SYSTEMS } from '../lib/init-systems.js';

/** Distributions with a recipe and a bootstrap. Others come back here when they are implemented. */
export const DISTROS = ['debian'] as const;

export const BUILD_CHOICES = { init: INIT_SYSTEMS, distro: DISTROS, compression: COMPRESSIONS } as const;

export const BUILD_DEFAULTS = {
  distro: 'debian',
  suite: 'bookworm',
  /** Relative to where the command was run. */
  outDir: 'dist',
  compression: 'xz' as Compression,
} as const;

/** The widest level range over all compressions: what the command line accepts before it knows the compression. */
export const LEVEL_BOUNDS = {
  min: Math.min(...COMPRESSIONS.map((kind) => LEVEL_RANGE[kind][0])),
  max: Math.max(...COMPRESSIONS.map((kind) => LEVEL_RANGE[kind][1])),
};

/** `xz 0..9 (default 6), zstd 1..19 (default 19)`: the level of each compression that has one. */
export function levelHelp(): string {
  return COMPRESSIONS.filter((kind) => kind !== 'none')
    .map((kind) => `${kind} ${LEVEL_RANGE[kind][0]}..${LEVEL_RANGE[kind][1]} (default ${DEFAULT_LEVEL[kind]})`)
    .join(', ');
}
