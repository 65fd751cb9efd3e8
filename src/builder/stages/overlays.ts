/**
 * overlays: copies the recipe's overlay trees (the shared overlays/common and overlays/<init>,
 * and the distribution's own, such as overlays/debian or overlays/gentoo-openrc) onto the root
 * file system, in recipe order, later files replacing earlier ones. It is the one writer of
 * every file under overlays/: on Gentoo it runs after gentoo-jitsi, which writes none of them. Files keep their
 * permission bits from the repository; owners become root; directories that already exist in
 * the image keep their own mode and owner.
 */
import { chmod, chown, copyFile, lchown, lstat, mkdir, readdir, readlink, rm, symlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { BuildContext, Stage } from '../stage.js';

/** Every path below `dir`, parents before children, sorted for a stable order. */
async function walk(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const full = join(dir, entry.name);
    out.push(relative(base, full));
    if (entry.isDirectory()) out.push(...(await walk(full, base)));
  }
  return out;
}

/** Copies the tree `source` onto `target`; returns how many files and links were written. */
export async function applyOverlay(source: string, target: string): Promise<number> {
  let written = 0;
  for (const path of await walk(source)) {
    const from = join(source, path);
    const to = join(target, path);
    const info = await lstat(from);
    if (info.isDirectory()) {
      const existing = await lstat(to).catch(() => undefined);
      if (!existing) {
        await mkdir(to);
        await chmod(to, info.mode & 0o7777);
        await chown(to, 0, 0);
      } else if (!existing.isDirectory()) {
        throw new Error(`overlay ${from} is a directory but ${to} in the image is not`);
      }
      continue;
    }
    // Replace, never write through: a symlink in the image must not redirect our file.
    await rm(to, { force: true });
    if (info.isSymbolicLink()) {
      await symlink(await readlink(from), to);
      await lchown(to, 0, 0);
    } else if (info.isFile()) {
      await copyFile(from, to);
      await chmod(to, info.mode & 0o7777);
      await chown(to, 0, 0);
    } else {
      throw new Error(`overlay ${from}: only files, directories and symlinks can be overlaid`);
    }
    written++;
  }
  return written;
}

export const overlays: Stage = {
  name: 'overlays',
  title: 'Copy overlay files into the image',
  skip: (ctx) => (ctx.recipe.overlays.length === 0 ? 'the recipe lists no overlays' : undefined),
  async run(ctx: BuildContext) {
    for (const dir of ctx.recipe.overlays) {
      const count = await applyOverlay(dir, ctx.rootfs);
      ctx.log(`${relative(ctx.projectRoot, dir)}: ${count} files`);
    }
  },
};
