/**
 * Unpacking a verified stage3 (or snapshot) into a directory, as Gentoo's handbook has it
 * unpacked (`tar xpf ... --xattrs-include='*.*' --numeric-owner`): as root, owners by number,
 * modes with setuid bits, extended attributes (file capabilities such as ping's).
 *
 * Only a VerifiedArchive is accepted, and it is hashed once more first (nothing changed it in
 * the store since it was verified). Before GNU tar writes anything, the archive is read once
 * through the project's tar reader and refused when an entry would land outside the target:
 * an absolute path or `..`, a hard link to such a path, anything stored below a symbolic link
 * stored earlier (a real tree's archive never does that; GNU tar defends against most of it,
 * this makes it a refusal instead of a partial tree), and anything the reader cannot
 * interpret. Unpacking goes into a fresh directory beside the target, renamed onto it when
 * tar succeeded, so the target is whole or absent.
 */
import { mkdir, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../../lib/errors.js';
import { normalizeEntryPath, walkArchive, type ArchiveEntry } from '../../image/tarball.js';
import { requireStillVerified, type VerifiedArchive } from './stage3-source.js';
import { VerificationFailed } from './signatures.js';

/** Entry types GNU tar extracts as a file system object of a root tree. */
const EXTRACTABLE = new Set(['File', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link', 'CharacterDevice', 'BlockDevice', 'FIFO']);

/** What is wrong with one entry for unpacking into a root, or undefined. */
export class EntryChecker {
  private readonly symlinks = new Set<string>();

  check(entry: ArchiveEntry): string | undefined {
    const raw = entry.rawPath;
    if (!EXTRACTABLE.has(entry.type)) return `a ${entry.type} entry, not a file, directory, link or device`;
    if (raw.startsWith('/')) return `absolute path ${raw}`;
    if (raw.split('/').includes('..')) return `path ${raw} goes up with '..'`;
    const through = this.storedSymlinkAbove(entry.path);
    if (through) return `stored below the symbolic link /${through}, which the archive made itself`;
    if (entry.type === 'Link' && entry.linkpath !== undefined) {
      if (entry.linkpath.startsWith('/') || entry.linkpath.split('/').includes('..')) return `hard link to ${entry.linkpath}, outside the root`;
      // A hard link to a symbolic link itself is fine (link(2) does not follow it); through one is not.
      const viaLink = this.storedSymlinkAbove(normalizeEntryPath(entry.linkpath));
      if (viaLink) return `hard link to ${entry.linkpath}, through the symbolic link /${viaLink}`;
    }
    if (entry.type === 'SymbolicLink') this.symlinks.add(entry.path);
    else this.symlinks.delete(entry.path);
    return undefined;
  }

  private storedSymlinkAbove(path: string): string | undefined {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (this.symlinks.has(prefix)) return prefix;
    }
    return undefined;
  }
}

/** GNU tar's arguments for unpacking a root tree as root, the way Gentoo's handbook does. */
export function unpackArgs(tarball: string, directory: string): string[] {
  return [
    '--extract',
    `--file=${tarball}`,
    `--directory=${directory}`,
    '--numeric-owner',
    '--same-owner',
    '--same-permissions',
    '--xattrs',
    '--xattrs-include=*',
  ];
}

/** Reads the archive and refuses it, naming the entries, when any would not stay in the root. */
export async function requireSafeArchive(archive: VerifiedArchive, signal?: AbortSignal): Promise<number> {
  const checker = new EntryChecker();
  const problems: string[] = [];
  const walk = await walkArchive(archive.file, {
    wantContent: () => false,
    onEntry: (entry) => {
      const problem = checker.check(entry);
      if (problem) problems.push(`${entry.rawPath}: ${problem}`);
    },
    ...(signal ? { signal } : {}),
  });
  problems.push(...walk.problems.map((p) => `${p.path || 'archive'}: ${p.message}`));
  if (problems.length) {
    const shown = problems.slice(0, 10).join('; ');
    throw new VerificationFailed(
      `${archive.name}: ${problems.length} entr${problems.length === 1 ? 'y' : 'ies'} would not stay inside the root (${shown}${problems.length > 10 ? '; ...' : ''}); refusing to unpack it, though its signature verified`,
    );
  }
  return walk.entries;
}

/**
 * Unpacks `archive` so that `target` (absent, or an empty directory) holds its tree. Needs
 * root (owners, device nodes). Throws, leaving `target` as it was, when anything fails.
 */
export async function unpackVerifiedArchive(archive: VerifiedArchive, target: string, options: { signal?: AbortSignal; log?: (line: string) => void } = {}): Promise<void> {
  const existing = await stat(target).catch(() => undefined);
  if (existing && (!existing.isDirectory() || (await readdir(target)).length > 0)) {
    throw new UserError(`${target}: exists and is not an empty directory; unpacking ${archive.name} needs a fresh one`);
  }
  await requireStillVerified(archive);
  const entries = await requireSafeArchive(archive, options.signal);
  const staging = join(dirname(target), `.${basename(target)}.unpacking-${randomBytes(4).toString('hex')}`);
  await mkdir(staging, { mode: 0o755 });
  try {
    try {
      await execa('tar', unpackArgs(archive.file, staging), { stdin: 'ignore', cancelSignal: options.signal, all: true });
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      const failure = error as { code?: string; all?: string; shortMessage?: string };
      if (failure.code === 'ENOENT') throw new UserError('tar is not installed; install with: apt-get install tar');
      const tail = (failure.all ?? '').trim().split('\n').slice(-10).join('\n');
      throw new UserError(`unpacking ${archive.name} into ${target} failed: ${tail || failure.shortMessage}`);
    }
    if (existing) await rmdir(target);
    await rename(staging, target);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  options.log?.(`${archive.name}: unpacked into ${target} (${entries} entries)`);
}
