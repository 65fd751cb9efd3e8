/**
 * Unpacking verified .debs (jitsi-debs.ts) onto a root that already holds a system (a Gentoo
 * stage3), the data only: what dpkg would put on disk before running maintainer scripts. The
 * control data (conffiles, maintainer scripts, md5sums) goes to a directory of its own, for
 * review and for the step that takes over the scripts' effects; nothing here runs them.
 *
 * Each .deb is hashed again (unchanged since it was verified), its data archive is taken out
 * with `dpkg-deb --fsys-tarfile` into a plain tar file, and every archive is read through the
 * project's tar reader and its EntryChecker (unpack.ts) before GNU tar writes anything:
 * refused are entries that would leave the root, a non-directory two packages both ship (dpkg
 * refuses that too), a non-directory the root already has, and a directory whose existing path
 * in the root goes through a symbolic link that does not stay in the root. Symbolic links to
 * directories the root has (a merged /usr's /lib -> usr/lib) are kept and followed, as dpkg
 * does; existing directories keep their owners and modes (--no-overwrite-dir), as with dpkg.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, realpath, rename, rm } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../../lib/errors.js';
import { walkArchive } from '../../image/tarball.js';
import type { VerifiedDeb } from './jitsi-debs.js';
import { VerificationFailed } from './signatures.js';
import { EntryChecker, unpackArgs } from './unpack.js';

/** What one package put onto the root. */
export interface InstalledPackage {
  package: string;
  version: string;
  sha256: string;
  /** Non-directories installed (files, links, devices), as absolute paths in the root. */
  files: string[];
  /** Directories the data archive holds (some existed before). */
  directories: string[];
  /** Where its control data (DEBIAN/) was put. */
  controlDir: string;
}

/** GNU tar's arguments for a .deb's data archive on a root that already holds a system. */
export function debDataUnpackArgs(tarball: string, root: string): string[] {
  return [...unpackArgs(tarball, root), '--keep-directory-symlink', '--no-overwrite-dir'];
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function toolFailure(error: unknown, what: string): UserError {
  const failure = error as { code?: string; stderr?: string; shortMessage?: string };
  if (failure.code === 'ENOENT') return new UserError('dpkg-deb is not installed; install with: apt-get install dpkg');
  return new UserError(`${what}: ${(failure.stderr ?? '').trim().split('\n').slice(-5).join('\n') || failure.shortMessage}`);
}

interface ReadData {
  deb: VerifiedDeb;
  tar: string;
  files: string[];
  directories: string[];
}

/** Takes the data archive out of `deb` and reads it through the EntryChecker. */
async function readData(deb: VerifiedDeb, workDir: string, signal?: AbortSignal): Promise<ReadData> {
  const what = `${deb.package} ${deb.version} (${deb.url})`;
  const actual = await sha256Of(deb.file);
  if (actual !== deb.sha256) throw new VerificationFailed(`${what}: ${deb.file} has SHA256 ${actual} now, not the verified ${deb.sha256}; it changed after verification; refusing it`);
  const tar = join(workDir, `${deb.sha256}.data.tar`);
  try {
    await execa('dpkg-deb', ['--fsys-tarfile', deb.file], { stdout: { file: tar }, stdin: 'ignore', cancelSignal: signal });
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw toolFailure(error, `${what}: cannot take out its data archive`);
  }
  const checker = new EntryChecker();
  const problems: string[] = [];
  const files: string[] = [];
  const directories: string[] = [];
  const walk = await walkArchive(tar, {
    wantContent: () => false,
    onEntry: (entry) => {
      const problem = checker.check(entry);
      if (problem) problems.push(`${entry.rawPath}: ${problem}`);
      else if (entry.path !== '') (entry.type === 'Directory' ? directories : files).push(entry.path);
    },
    ...(signal ? { signal } : {}),
  });
  problems.push(...walk.problems.map((p) => `${p.path || 'archive'}: ${p.message}`));
  if (problems.length) {
    throw new VerificationFailed(`${what}: ${problems.length} entr${problems.length === 1 ? 'y' : 'ies'} of its data would not stay inside the root (${problems.slice(0, 10).join('; ')}); refusing it, though it matches the signed index`);
  }
  return { deb, tar, files, directories };
}

/** What is wrong with putting `path` (a directory when `directory`) into `root`, or undefined. */
async function rootProblem(root: string, realRoot: string, path: string, directory: boolean): Promise<string | undefined> {
  const parts = path.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    const info = await lstat(join(root, prefix)).catch(() => undefined);
    if (!info) return undefined;
    const last = i === parts.length;
    if (last && !directory) return `/${path} already exists in the root`;
    if (info.isSymbolicLink()) {
      // GNU tar (--keep-directory-symlink) follows it on the build host: it must land in the root.
      const target = await realpath(join(root, prefix)).catch(() => undefined);
      if (!target || (target !== realRoot && !target.startsWith(realRoot + sep))) return `/${prefix} in the root is a symbolic link that leads outside the root or nowhere`;
      const resolved = await lstat(target);
      if (!resolved.isDirectory()) return `/${prefix} in the root is a symbolic link to a non-directory`;
    } else if (!info.isDirectory()) {
      return `/${prefix} in the root is not a directory`;
    }
  }
  return undefined;
}

/**
 * Unpacks the data of `debs` onto `root` (an existing directory) and their control data into
 * `<controlDir>/<package>/`. Every check is done for all packages before the first is
 * unpacked; `workDir` holds the data archives meanwhile. Needs root (owners).
 */
export async function unpackDebs(
  debs: VerifiedDeb[],
  options: { root: string; controlDir: string; workDir: string; signal?: AbortSignal; log?: (line: string) => void },
): Promise<InstalledPackage[]> {
  const { root, controlDir, workDir, signal, log } = options;
  const rootInfo = await lstat(root).catch(() => undefined);
  if (!rootInfo?.isDirectory()) throw new UserError(`${root}: is not a directory; the packages are unpacked onto an existing root`);
  const realRoot = await realpath(root);
  await mkdir(workDir, { recursive: true });
  await mkdir(controlDir, { recursive: true });

  const read: ReadData[] = [];
  try {
    for (const deb of debs) read.push(await readData(deb, workDir, signal));
  } catch (error) {
    await Promise.all(read.map((r) => rm(r.tar, { force: true })));
    await Promise.all(debs.map((d) => rm(join(workDir, `${d.sha256}.data.tar`), { force: true })));
    throw error;
  }

  const owners = new Map<string, string>();
  const problems: string[] = [];
  for (const { deb, files, directories } of read) {
    for (const file of files) {
      const owner = owners.get(file);
      if (owner) problems.push(`/${file} is in both ${owner} and ${deb.package}`);
      owners.set(file, deb.package);
    }
    for (const [paths, directory] of [[directories, true], [files, false]] as const) {
      for (const path of paths) {
        const problem = await rootProblem(root, realRoot, path, directory);
        if (problem) problems.push(`${deb.package}: ${problem}`);
      }
    }
  }
  if (problems.length) {
    await Promise.all(read.map((r) => rm(r.tar, { force: true })));
    throw new VerificationFailed(`unpacking ${debs.map((d) => d.package).join(', ')} onto ${root}: ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? '; ...' : ''}; refusing before anything is unpacked`);
  }

  // Control data first, into a staging directory renamed per package: it is whole or absent.
  const installed: InstalledPackage[] = [];
  for (const { deb, files, directories } of read) {
    const target = join(controlDir, deb.package);
    const staging = join(controlDir, `.${deb.package}.extracting`);
    await rm(staging, { recursive: true, force: true });
    try {
      await execa('dpkg-deb', ['--control', deb.file, staging], { stdin: 'ignore', cancelSignal: signal });
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      if (signal?.aborted) throw signal.reason;
      throw toolFailure(error, `${deb.package} ${deb.version}: cannot extract its control data`);
    }
    await rm(target, { recursive: true, force: true });
    await rename(staging, target);
    installed.push({
      package: deb.package,
      version: deb.version,
      sha256: deb.sha256,
      files: files.map((f) => `/${f}`),
      directories: directories.map((d) => `/${d}`),
      controlDir: target,
    });
  }

  for (const { deb, tar, files } of read) {
    try {
      await execa('tar', debDataUnpackArgs(tar, root), { stdin: 'ignore', cancelSignal: signal, all: true });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const failure = error as { code?: string; all?: string; shortMessage?: string };
      if (failure.code === 'ENOENT') throw new UserError('tar is not installed; install with: apt-get install tar');
      throw new UserError(`unpacking ${deb.package} ${deb.version} onto ${root} failed: ${(failure.all ?? '').trim().split('\n').slice(-10).join('\n') || failure.shortMessage}`);
    } finally {
      await rm(tar, { force: true });
    }
    log?.(`${deb.package} ${deb.version}: unpacked onto ${root} (${files.length} files)`);
  }
  return installed;
}
