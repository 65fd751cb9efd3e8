/**
 * The build's choices, ranges and defaults in one table: the CLI's option list and its
 * `--help` text, and the pipeline's checks and defaults, all read them from here.
 */
import { COMPRESSIONS, DEFAULT_LEVEL, LEVEL_RANGE, type Compression } from '../image/compression.js';
import { ARCHITECTURES, isArchitecture, type Architecture } from '../host/emulation.js';
import { UserError } from '../lib/errors.js';
import { INIT_SYSTEMS, type InitSystem } from '../lib/init-systems.js';

/** Distributions images are built from (recipes/<distro>-<suite>.yaml). */
export const DISTROS = ['debian', 'gentoo'] as const;
export type Distro = (typeof DISTROS)[number];

/**
 * The recipe `--distro` picks when `--suite` is not given: Debian's stable release, and for
 * Gentoo (which has no releases) the profile release its recipe is named after.
 */
export const DEFAULT_SUITE: Readonly<Record<Distro, string>> = { debian: 'bookworm', gentoo: '23.0' };

/** `--init all` builds every init system. */
export const ALL_INITS = 'all';

export const BUILD_CHOICES = {
  init: [...INIT_SYSTEMS, ALL_INITS] as const,
  distro: DISTROS,
  compression: COMPRESSIONS,
  arch: ARCHITECTURES,
} as const;

export const BUILD_DEFAULTS = {
  distro: 'debian',
  /** Relative to where the command was run. */
  outDir: 'dist',
  compression: 'xz' as Compression,
  /**
   * Where downloaded .deb files (debs/, deb-cache.ts) and bootstrapped trees (bootstrap/,
   * bootstrap-cache.ts) are kept for the next build. Under /var/cache because builds run as
   * root and it is a cache: deleting it is always safe.
   */
  cacheDir: '/var/cache/nspawn-jitsi',
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

/**
 * `--arch amd64,arm64` -> ['amd64', 'arm64']: the architectures of a comma-separated list,
 * each once, in the order given. Unknown names are refused with the list of known ones.
 */
export function parseArchitectureList(text: string): Architecture[] {
  const names = text.split(',').map((name) => name.trim()).filter(Boolean);
  if (names.length === 0) throw new UserError(`--arch needs an architecture: ${ARCHITECTURES.join(', ')}, or a comma-separated list of them`);
  const result: Architecture[] = [];
  for (const name of names) {
    if (!isArchitecture(name)) throw new UserError(`--arch ${name}: unknown architecture (images are built for ${ARCHITECTURES.join(', ')})`);
    if (!result.includes(name)) result.push(name);
  }
  return result;
}

/** `--init all` -> every init system; a single name -> itself. */
export function initsFor(init: string): InitSystem[] {
  if (init === ALL_INITS) return [...INIT_SYSTEMS];
  if (!(INIT_SYSTEMS as readonly string[]).includes(init)) throw new UserError(`--init ${init}: unknown init system (${[...INIT_SYSTEMS, ALL_INITS].join(', ')})`);
  return [init as InitSystem];
}
