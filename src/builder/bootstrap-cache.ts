/**
 * The bootstrap cache: the root file system mmdebstrap made, kept (as a zstd tarball) for the
 * next build with the same inputs, so a rebuild after an overlay, configurator or script change
 * skips the whole apt solve, download and dpkg run (most of a build's time; under emulation
 * nearly all of it) and goes straight to the stages that changed.
 *
 * The key is what decides mmdebstrap's result: its arguments (suite, mirror, variant,
 * components, architecture, packages), mmdebstrap's version, SOURCE_DATE_EPOCH, and the
 * mirror's current InRelease for the suite. Any new package version in the archive changes
 * InRelease, so a cached bootstrap never holds older packages than a fresh one would; when
 * InRelease cannot be read the cache is not used at all (a fresh bootstrap, as without cache).
 * A cached tree is this machine's own earlier mmdebstrap output (which apt verified), kept
 * in a root-only directory (requirePrivateCacheDir refuses one others can write).
 *
 * Two kinds of tree are kept (stages/bootstrap.ts): the base, mmdebstrap's tree of the
 * packages every init system gets, keyed by its arguments, and the whole tree, the base with
 * one init system's packages installed, keyed by the base's arguments plus those packages.
 *
 * Two builds at once: each writes its tarball under a temporary name and renames it into
 * place; a reader extracts a whole file or finds none. Only the newest few are kept.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../lib/errors.js';

/** Trees kept: per architecture (two) the base every init system shares and the whole tree of each init (two). */
export const BOOTSTRAPS_KEPT = 6;
const SUFFIX = '.tar.zst';
const INCOMING_PREFIX = '.incoming-';

export interface BootstrapInputs {
  /** mmdebstrap's arguments without the target directory and the package cache hooks. */
  args: string[];
  mmdebstrapVersion: string;
  sourceDateEpoch: number;
  /** The suite's InRelease (or Release) as the mirror serves it now. */
  inRelease: Buffer;
}

export function bootstrapKey(inputs: BootstrapInputs): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ args: inputs.args, mmdebstrap: inputs.mmdebstrapVersion, sourceDateEpoch: inputs.sourceDateEpoch }));
  hash.update('\0').update(inputs.inRelease);
  return hash.digest('hex');
}

/** `<mirror>/dists/<suite>/InRelease`, or Release for a mirror without it; undefined when neither can be read. */
export async function fetchInRelease(mirror: string, suite: string, signal?: AbortSignal): Promise<Buffer | undefined> {
  const base = `${mirror.replace(/\/+$/, '')}/dists/${suite}`;
  for (const name of ['InRelease', 'Release']) {
    const url = `${base}/${name}`;
    try {
      if (url.startsWith('file:')) return await readFile(new URL(url));
      const timeout = AbortSignal.timeout(20_000);
      const response = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
      if (response.ok) return Buffer.from(await response.arrayBuffer());
    } catch {
      // try the next name; none readable means no caching, not a failed build
    }
  }
  return undefined;
}

export async function mmdebstrapVersion(): Promise<string> {
  const { stdout } = await execa('mmdebstrap', ['--version'], { stdin: 'ignore' });
  return stdout.trim();
}

export function cachedBootstrapPath(dir: string, key: string): string {
  return join(dir, `${key}${SUFFIX}`);
}

/** The cached tarball for `key` when there is one (its use is recorded for pruning). */
export async function findCachedBootstrap(dir: string, key: string): Promise<string | undefined> {
  const path = cachedBootstrapPath(dir, key);
  if (!(await stat(path).catch(() => undefined))?.isFile()) return undefined;
  const now = new Date();
  await utimes(path, now, now).catch(() => undefined);
  return path;
}

/** GNU tar extracting a cached bootstrap as it was: owners, modes, xattrs (file capabilities). */
export function extractArgs(tarball: string, rootfs: string): string[] {
  return ['--extract', '--zstd', `--file=${tarball}`, `--directory=${rootfs}`, '--numeric-owner', '--same-permissions', '--xattrs', '--xattrs-include=*'];
}

/** GNU tar packing a bootstrap into `file` (zstd -1: fast both ways; it is a cache, not a release). */
export function storeArgs(rootfs: string, file: string): string[] {
  return [
    '--create',
    '--use-compress-program=zstd -1 -T0 --quiet',
    `--file=${file}`,
    `--directory=${rootfs}`,
    '--numeric-owner',
    '--one-file-system',
    '--format=pax',
    '--xattrs',
    '--xattrs-include=*',
    '.',
  ];
}

/** A temporary name in `dir` for storing `key`, unique per process. */
export function incomingPath(dir: string, key: string): string {
  return join(dir, `${INCOMING_PREFIX}${process.pid}-${key}${SUFFIX}`);
}

/** Moves a finished tarball into place and removes all but the newest BOOTSTRAPS_KEPT (and stale temporary files). */
export async function commitBootstrap(dir: string, incoming: string, key: string, now = Date.now()): Promise<void> {
  await rename(incoming, cachedBootstrapPath(dir, key));
  const entries: { name: string; mtimeMs: number }[] = [];
  for (const name of await readdir(dir)) {
    const info = await stat(join(dir, name)).catch(() => undefined);
    if (!info) continue;
    if (name.startsWith(INCOMING_PREFIX)) {
      if (now - info.mtimeMs > 3600_000) await rm(join(dir, name), { force: true });
    } else if (name.endsWith(SUFFIX)) entries.push({ name, mtimeMs: info.mtimeMs });
  }
  entries.sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const old of entries.slice(BOOTSTRAPS_KEPT)) await rm(join(dir, old.name), { force: true });
}

/**
 * Makes the cache directory (root only) or checks the existing one: owned by us and writable by
 * nobody else, because whoever can write there could plant a root file system in our images.
 */
export async function requirePrivateCacheDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const info = await stat(dir);
  const uid = process.getuid?.() ?? 0;
  if (info.uid !== uid || (info.mode & 0o022) !== 0) {
    throw new UserError(
      `the cache directory ${dir} is ${info.uid !== uid ? `owned by uid ${info.uid}` : `writable by others (mode ${(info.mode & 0o777).toString(8)})`}: whoever can write there could put files into the images; chown root: and chmod go-w it, or pass another --cache-dir (or --no-cache)`,
    );
  }
}
