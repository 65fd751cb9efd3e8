/**
 * Build-once images for integration tests. Every test file that needs a real image calls
 *
 *   const image = await testImage('systemd');   // { tarball, nspawn, packages, sha256 }
 *
 * and all of them share one build per init system and architecture (`testImage('systemd',
 * 'arm64')` builds under emulation): the first caller builds with the project's own CLI
 * (`nspawn-jitsi build --compression zstd --level 1`, fast), later callers (other ava worker
 * processes included) reuse it. The key of an image is a hash of everything that goes into it
 * (recipes/, overlays/, src/, scripts/, package.json, package-lock.json); images live in
 * .cache/test-images/<init>-<arch>-<key prefix>/, so a change to any of those makes the next
 * caller build a new one, while a run still using the old one keeps its files. Images of other
 * keys are deleted when they have not been used for two hours.
 *
 * A rebuild after a change under src/ or overlays/ is quick: the builds share the build cache
 * .cache/build-cache/ (--cache-dir), so the bootstrap (mmdebstrap, most of a build's time) is
 * unpacked from the previous build's whenever the recipe's packages, the mirror's state and
 * mmdebstrap are unchanged, and .deb files are not downloaded twice.
 *
 * Two workers never build the same image at once: the builder holds the lock directory
 * .cache/test-images/<init>.lock (mkdir is atomic) with its PID inside; others wait for it and
 * then reuse its result. A lock whose owner PID is gone is stale and taken over. A failed
 * build leaves the previous image alone and its log at .cache/test-images/<init>-<arch>.build.log.
 *
 * Never copy a test image somewhere else and boot it while the cache may be rebuilt: boot it
 * through bootContainer, which unpacks it first.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { projectVersion } from '../../src/builder/pipeline.js';
import { processExists } from '../../src/host/proc.js';
import { hostArchitecture } from '../../src/host/tools.js';
import { artifactStem, packageListName, settingsFileName, tarballName } from '../../src/image/artifact-names.js';
import type { InitSystem } from '../../src/lib/init-systems.js';

export interface TestImage {
  init: InitSystem;
  /** The zstd-compressed rootfs tarball. */
  tarball: string;
  /** The `.nspawn` settings file built with it. */
  nspawn: string;
  /** The `.packages` list built with it. */
  packages: string;
  /** SHA-256 (hex) of the tarball bytes. */
  sha256: string;
  /** Hash of the build inputs this image was made from. */
  key: string;
}

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CACHE_ROOT = join(PROJECT_ROOT, '.cache', 'test-images');
/** The --cache-dir of every test build (packages and bootstraps; see src/builder/bootstrap-cache.ts). */
export const BUILD_CACHE = join(PROJECT_ROOT, '.cache', 'build-cache');
/** What goes into an image: changing any file below these rebuilds the cached images. */
const IMAGE_INPUTS = ['recipes', 'overlays', 'src', 'scripts', 'package.json', 'package-lock.json'];
/** A real build takes minutes here; give up waiting for another worker's lock after this. */
const LOCK_WAIT_MS = 45 * 60_000;
/** Images of other keys unused (by this helper) for this long are removed. */
const STALE_IMAGE_MS = 2 * 3600_000;

function imageDir(init: InitSystem, architecture: string, key: string): string {
  return join(CACHE_ROOT, `${init}-${architecture}-${key.slice(0, 16)}`);
}

async function listFiles(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return [];
  if (!info.isDirectory()) return [path];
  const found: string[] = [];
  for (const entry of (await readdir(path)).sort()) found.push(...(await listFiles(join(path, entry))));
  return found;
}

/** Hash of the names and contents of every image input file. */
export async function imageInputsKey(): Promise<string> {
  const hash = createHash('sha256');
  for (const input of IMAGE_INPUTS) {
    for (const file of await listFiles(join(PROJECT_ROOT, input))) {
      hash.update(relative(PROJECT_ROOT, file)).update('\0').update(await readFile(file)).update('\0');
    }
  }
  return hash.digest('hex');
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** What the build names its artifacts for the default recipe (Debian bookworm); default architecture the host's. */
async function artifactPaths(dir: string, init: InitSystem, compression: 'zstd' | 'xz', architecture?: string) {
  const stem = artifactStem({ distro: 'debian', suite: 'bookworm', init, version: await projectVersion(), architecture: architecture ?? (await hostArchitecture()) });
  return { tarball: join(dir, tarballName(stem, compression)), nspawn: join(dir, settingsFileName(stem)), packages: join(dir, packageListName(stem)) };
}

/**
 * `nspawn-jitsi build` with the project's CLI, its output written to `logFile` as it runs (so a
 * slow build can be watched with tail -f and a failed one read); returns the exit status and
 * the whole output.
 */
export async function runBuildCommand(args: string[], options: { logFile: string; env?: Record<string, string> }): Promise<{ exitCode: number; output: string }> {
  await mkdir(dirname(options.logFile), { recursive: true });
  await writeFile(options.logFile, '');
  const log = { file: options.logFile, append: true };
  const result = await execa(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'src/cli/main.ts'), 'build', ...args], {
    cwd: PROJECT_ROOT,
    reject: false,
    stdout: log,
    stderr: log,
    env: { ...options.env, FORCE_COLOR: '0', NO_COLOR: '1' },
    stdin: 'ignore',
  });
  return { exitCode: result.exitCode ?? 1, output: await readFile(options.logFile, 'utf8').catch(() => '') };
}

/**
 * One build with the project's CLI into `outDir` (zstd level 1 unless told otherwise), using
 * the shared build cache unless `cache: false` (a fresh bootstrap, every package downloaded).
 * The build's output goes to `logFile`; a failure throws with its last lines.
 */
export async function buildImage(
  init: InitSystem,
  outDir: string,
  options: {
    logFile: string;
    compression?: 'zstd' | 'xz';
    level?: number;
    env?: Record<string, string>;
    extraArgs?: string[];
    /** Debian architecture; default the host's. */
    architecture?: string;
    cache?: boolean;
  },
): Promise<Omit<TestImage, 'key'>> {
  const compression = options.compression ?? 'zstd';
  const level = options.level ?? (compression === 'zstd' ? 1 : 0);
  const result = await runBuildCommand(
    [
      '--init',
      init,
      ...(options.architecture ? ['--arch', options.architecture] : []),
      ...(options.cache === false ? ['--no-cache'] : ['--cache-dir', BUILD_CACHE]),
      '--out',
      outDir,
      '--compression',
      compression,
      '--level',
      String(level),
      ...(options.extraArgs ?? ['--jitsi-source', 'none']),
    ],
    options,
  );
  if (result.exitCode !== 0) {
    const tail = result.output.trimEnd().split('\n').slice(-25).join('\n');
    throw new Error(`building the ${init} test image failed (exit ${result.exitCode}); log ${options.logFile}:\n${tail}`);
  }
  const paths = await artifactPaths(outDir, init, compression, options.architecture);
  for (const path of Object.values(paths)) {
    if (!(await stat(path).catch(() => undefined))) throw new Error(`the ${init} build succeeded but did not write ${path}; log ${options.logFile}`);
  }
  return { init, ...paths, sha256: await sha256File(paths.tarball) };
}

async function readCached(init: InitSystem, architecture: string, key: string): Promise<TestImage | undefined> {
  const dir = imageDir(init, architecture, key);
  const storedKey = (await readFile(join(dir, 'key'), 'utf8').catch(() => '')).trim();
  if (storedKey !== key) return undefined;
  const paths = await artifactPaths(dir, init, 'zstd', architecture);
  const sha256 = (await readFile(join(dir, 'sha256'), 'utf8').catch(() => '')).trim();
  for (const path of Object.values(paths)) if (!(await stat(path).catch(() => undefined))) return undefined;
  if (!/^[0-9a-f]{64}$/.test(sha256)) return undefined;
  // Marks the image as in use, for the pruning of stale ones.
  const now = new Date();
  await utimes(dir, now, now).catch(() => undefined);
  return { init, ...paths, sha256, key };
}

/**
 * Takes the lock directory (mkdir is atomic), waiting up to `waitMs` for a live holder and
 * taking over a dead one's. Shared by the cached builds of test images and of the test VM.
 */
export async function acquireLock(lockDir: string, waitMs = LOCK_WAIT_MS): Promise<() => Promise<void>> {
  const deadline = Date.now() + waitMs;
  await mkdir(dirname(lockDir), { recursive: true });
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(join(lockDir, 'pid'), String(process.pid));
      return () => rm(lockDir, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number((await readFile(join(lockDir, 'pid'), 'utf8').catch(() => '')).trim());
    const age = Date.now() - ((await stat(lockDir).catch(() => undefined))?.mtimeMs ?? Date.now());
    // No pid file yet is normal for a moment after mkdir; for long it means the owner died in between.
    if ((owner && !processExists(owner)) || (!owner && age > 30_000)) {
      await rm(lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${lockDir} (held by PID ${owner || 'unknown'})`);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}

/** Removes this init's images of other keys (and of older layouts) not used for a while. */
async function pruneStaleImages(init: InitSystem, keep: string): Promise<void> {
  for (const entry of await readdir(CACHE_ROOT)) {
    const path = join(CACHE_ROOT, entry);
    const isImage = entry === init || new RegExp(`^${init}-([a-z0-9]+-)?[0-9a-f]{16}$`).test(entry);
    if (path === keep || !isImage) continue;
    const info = await stat(path).catch(() => undefined);
    if (info?.isDirectory() && Date.now() - info.mtimeMs > STALE_IMAGE_MS) await rm(path, { recursive: true, force: true });
  }
}

const pending = new Map<string, Promise<TestImage>>();

/** The shared test image for `init` and `architecture` (default the host's), built on first use (see the file comment). */
export function testImage(init: InitSystem, architecture?: string): Promise<TestImage> {
  const id = `${init}-${architecture ?? 'host'}`;
  let image = pending.get(id);
  if (!image) {
    image = hostArchitecture().then((host) => cachedOrBuilt(init, architecture ?? host));
    pending.set(id, image);
    // A failure is not cached: a later caller in this process tries again.
    image.catch(() => pending.delete(id));
  }
  return image;
}

async function cachedOrBuilt(init: InitSystem, architecture: string): Promise<TestImage> {
  const key = await imageInputsKey();
  const cached = await readCached(init, architecture, key);
  if (cached) return cached;
  // One build at a time per init system, whatever the architecture: builds are heavy.
  const release = await acquireLock(join(CACHE_ROOT, `${init}.lock`));
  try {
    // Another worker may have built it while we waited.
    const built = await readCached(init, architecture, key);
    if (built) return built;
    const staging = join(CACHE_ROOT, `${init}-${architecture}.building-${process.pid}`);
    await rm(staging, { recursive: true, force: true });
    try {
      const image = await buildImage(init, staging, { logFile: join(CACHE_ROOT, `${init}-${architecture}.build.log`), architecture });
      await writeFile(join(staging, 'sha256'), `${image.sha256}\n`);
      // The key goes in last: a directory without it is never taken for a finished image.
      await writeFile(join(staging, 'key'), `${key}\n`);
      const finalDir = imageDir(init, architecture, key);
      await rm(finalDir, { recursive: true, force: true });
      await rename(staging, finalDir);
      await pruneStaleImages(init, finalDir);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    const fresh = await readCached(init, architecture, key);
    if (!fresh) throw new Error(`the ${init} test image vanished from ${CACHE_ROOT} right after it was built`);
    return fresh;
  } finally {
    await release();
  }
}
