/**
 * Symlinks and removals with the same guarantees as writeFileAtomic: a link is replaced by
 * rename (never missing in between), and whatever is removed or replaced is kept under the
 * run's backup directory first.
 */
import { copyFile, lstat, mkdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { temporaryPathFor } from '../../lib/atomic-write.js';
import type { WriteOutcome } from './files.js';

async function keepBackup(path: string, backupDir: string, root: string): Promise<void> {
  const stats = await lstat(path);
  const backup = join(backupDir, path.startsWith(root) ? path.slice(root.length) : path);
  await mkdir(dirname(backup), { recursive: true, mode: 0o700 });
  if (stats.isSymbolicLink()) {
    await rm(backup, { force: true });
    await symlink(await readlink(path), backup);
  } else if (stats.isFile()) {
    await copyFile(path, backup);
  }
}

export async function writeSymlinkAtomic(path: string, target: string, backupDir: string, root: string): Promise<WriteOutcome> {
  const existing = await lstat(path).catch(() => undefined);
  if (existing?.isSymbolicLink() && (await readlink(path)) === target) return 'unchanged';
  if (existing?.isDirectory()) throw new Error(`${path} is a directory; cannot replace it with a link to ${target}`);
  if (existing) await keepBackup(path, backupDir, root);
  await mkdir(dirname(path), { recursive: true });
  const temporary = temporaryPathFor(path);
  await symlink(target, temporary);
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return existing ? 'replaced' : 'created';
}

/** Removes a file or link (never a directory), keeping a backup. Returns false when there was nothing to remove. */
export async function removeWithBackup(path: string, backupDir: string, root: string): Promise<boolean> {
  const existing = await lstat(path).catch(() => undefined);
  if (!existing) return false;
  if (existing.isDirectory()) throw new Error(`${path} is a directory; the configurator only removes files it wrote`);
  await keepBackup(path, backupDir, root);
  await rm(path);
  return true;
}
