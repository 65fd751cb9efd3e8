/**
 * Writing configuration files so that nothing is ever half-written: content goes to a
 * temporary file in the same directory, is flushed, gets its mode and owner, and is renamed
 * over the target. A file whose content and mode are already right is not touched at all, so
 * re-running the configurator with the same master config changes nothing.
 */
import { copyFile, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isTemporaryName, writeFileAtomically } from '../../lib/atomic-write.js';

export type WriteOutcome = 'unchanged' | 'created' | 'replaced';

export interface WriteOptions {
  /** File mode; 0o644 when not given. */
  mode?: number;
  uid?: number;
  gid?: number;
  /**
   * Directory under which the previous version of a replaced file is kept, at its absolute
   * path (`<backupDir>/etc/nginx/...`). No backup when not given.
   */
  backupDir?: string;
  /** Path prefix for backups: the root the target lives under (tests use a temporary root). */
  root?: string;
}

/** TLS scratch directories (tls.ts); temporary files and links are named by lib/atomic-write. */
const TLS_SCRATCH = /^\.tls-.+$/;

/**
 * Removes what an interrupted run left in `dirs`: temporary files (one may hold a whole master
 * config with its secrets) and TLS scratch directories (with a private key). Only safe while
 * holding the run lock: then no other run owns them. Returns the removed paths.
 */
export async function removeLeftovers(dirs: Iterable<string>): Promise<string[]> {
  const removed: string[] = [];
  for (const dir of new Set(dirs)) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!isTemporaryName(name) && !TLS_SCRATCH.test(name)) continue;
      await rm(join(dir, name), { recursive: true, force: true });
      removed.push(join(dir, name));
    }
  }
  return removed;
}

export async function writeFileAtomic(path: string, content: string | Buffer, options: WriteOptions = {}): Promise<WriteOutcome> {
  const mode = options.mode ?? 0o644;
  const data = typeof content === 'string' ? Buffer.from(content) : content;
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isFile()) {
    const same =
      (existing.mode & 0o7777) === mode &&
      (options.uid === undefined || existing.uid === options.uid) &&
      (options.gid === undefined || existing.gid === options.gid) &&
      (await readFile(path)).equals(data);
    if (same) return 'unchanged';
    if (options.backupDir) {
      const relative = options.root && path.startsWith(options.root) ? path.slice(options.root.length) : path;
      const backup = join(options.backupDir, relative);
      await mkdir(dirname(backup), { recursive: true, mode: 0o700 });
      await copyFile(path, backup);
    }
  }
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomically(path, data, { mode, uid: options.uid, gid: options.gid });
  return existing ? 'replaced' : 'created';
}
