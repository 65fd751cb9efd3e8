/**
 * Writes portage-config.ts's files into a Gentoo root. Every directory on the way must be a real
 * directory of the root (a symbolic link could lead out of it, onto the build host) and every
 * existing target a regular file; all of that is checked before the first file is written, so
 * a refusal leaves the root as it was. Each file is written atomically (replacing the stage3's
 * make.conf or gentoobinhost.conf), its parent directories made when missing.
 *
 * A stage3 may keep package.use or binrepos.conf as a single file rather than a directory;
 * that is refused, naming the file, rather than guessed at: what it holds decides whether it
 * can be replaced (docs/gentoo.md, what the first real build must check).
 */
import { lstat, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomically } from '../../lib/atomic-write.js';
import { UserError } from '../../lib/errors.js';
import type { PortageFile } from './portage-config.js';

async function problemOf(root: string, file: PortageFile): Promise<string | undefined> {
  const parts = file.path.split('/');
  if (file.path.startsWith('/') || parts.some((part) => part === '' || part === '.' || part === '..')) return `${file.path}: not a relative path below the root`;
  for (let depth = 1; depth < parts.length; depth++) {
    const dir = join(root, ...parts.slice(0, depth));
    const info = await lstat(dir).catch(() => undefined);
    if (!info) return undefined; // made below, as a real directory
    if (info.isSymbolicLink()) return `${dir} is a symbolic link; portage's configuration is only written into real directories of the root`;
    if (!info.isDirectory()) return `${dir} is a file, where portage's configuration needs a directory (for ${file.path}); look at what it holds and make it a directory`;
  }
  const target = await lstat(join(root, file.path)).catch(() => undefined);
  if (target && !target.isFile()) return `${join(root, file.path)} exists and is not a regular file`;
  return undefined;
}

export async function writePortageConfig(root: string, files: PortageFile[]): Promise<void> {
  const problems = (await Promise.all(files.map((file) => problemOf(root, file)))).filter((problem): problem is string => problem !== undefined);
  if (problems.length > 0) throw new UserError(`cannot write portage's configuration: ${problems.join('; ')}`);
  for (const file of files) {
    const path = join(root, file.path);
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    await writeFileAtomically(path, file.text, { mode: file.mode });
  }
}
