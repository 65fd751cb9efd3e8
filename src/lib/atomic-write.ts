/**
 * Writing a file whole or not at all: the content goes to a temporary file beside the target,
 * created with its final mode (a secret is never readable by others, not even briefly), is
 * flushed, gets its owner, and is renamed over the target. Used by the build for its artifacts,
 * by the configurator for every file it writes, and by keygen; all name their temporary files
 * the same way, so a leftover of a crash is recognisable anywhere.
 */
import { randomBytes } from 'node:crypto';
import { chown, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** `dir/.name.<random>.tmp`: hidden, in the target's directory (so rename stays on one file system). */
export function temporaryPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Whether a directory entry is one of our temporary files (a crashed writer's leftover). */
export function isTemporaryName(name: string): boolean {
  return /^\..+\.[0-9a-f]{12}\.tmp$/.test(name);
}

export interface AtomicWriteOptions {
  /** File mode; 0o644 when not given. */
  mode?: number;
  uid?: number;
  gid?: number;
}

/** Writes `data` to a new temporary file beside `path` and returns its name; removes it on failure. */
export async function writeTemporaryBeside(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<string> {
  const mode = options.mode ?? 0o644;
  const temporary = temporaryPathFor(path);
  try {
    const handle = await open(temporary, 'wx', mode);
    try {
      await handle.writeFile(data);
      // open() applies the umask; chmod makes the mode exactly what was asked for.
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (options.uid !== undefined || options.gid !== undefined) await chown(temporary, options.uid ?? -1, options.gid ?? -1);
  } catch (error) {
    await rm(temporary, { force: true });
    // A failed write(2) names no path: name the file being written, for the admin's message.
    const errno = error as NodeJS.ErrnoException;
    if (errno && typeof errno.code === 'string' && !errno.path) Object.assign(errno, { path, syscall: errno.syscall ?? 'write' });
    throw error;
  }
  return temporary;
}

/** Replaces (or creates) `path` with `data` in one rename. */
export async function writeFileAtomically(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const temporary = await writeTemporaryBeside(path, data, options);
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
