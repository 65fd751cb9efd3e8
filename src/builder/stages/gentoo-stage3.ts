/**
 * gentoo-stage3 (Gentoo images only): makes the root from Gentoo's stage3 instead of
 * mmdebstrap. Before anything is built, the check step reads the recipe's `gentoo.key-file`
 * and refuses it unless it holds Gentoo's release and snapshot keys with the pinned
 * fingerprints. Then, from the recipe's mirror (download store `<cache>/gentoo`, or the work
 * directory with `--no-cache`): the newest stage3 for the image's architecture and init system
 * (`latest-stage3-<arch>-<openrc|systemd>.txt`) and the ebuild repository snapshot of
 * `gentoo.snapshot-date`, each verified (signed pointer, DIGESTS, detached signatures; see
 * docs/gentoo.md), then the stage3 unpacked as the root (owners by number, modes, file
 * capabilities) and the snapshot's `gentoo/` tree placed at /var/db/repos/gentoo, where
 * portage's configuration (gentoo-portage) expects it. Nothing is unpacked unless every check
 * passed. Exercised only against a stand-in release tree: no real Gentoo mirror was reached.
 */
import { lstat, mkdir, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../lib/errors.js';
import { openDownloadStore } from '../gentoo/download-store.js';
import { GENTOO_REPOSITORY } from '../gentoo/portage-config.js';
import { fetchVerifiedSnapshot, fetchVerifiedStage3, resolveGentooSource, type GentooSource } from '../gentoo/stage3-source.js';
import { unpackVerifiedArchive } from '../gentoo/unpack.js';
import type { BuildContext, Stage } from '../stage.js';

const sources = new WeakMap<BuildContext, GentooSource>();

/** Where the snapshot is unpacked before its `gentoo/` tree moves into the root. */
function snapshotStaging(ctx: BuildContext): string {
  return join(ctx.workDir, 'gentoo-snapshot');
}

async function gentooSource(ctx: BuildContext): Promise<GentooSource> {
  let source = sources.get(ctx);
  if (!source) {
    source = await resolveGentooSource(ctx.recipe.gentoo, { recipeFile: ctx.recipe.file, ...(ctx.gentooKeyFile ? { keyFile: ctx.gentooKeyFile } : {}) });
    sources.set(ctx, source);
  }
  return source;
}

export const gentooStage3: Stage = {
  name: 'gentoo-stage3',
  title: "Unpack Gentoo's verified stage3 and ebuild repository",
  skip: (ctx) => (ctx.recipe.distro !== 'gentoo' ? 'not a Gentoo image' : undefined),
  async verify(ctx: BuildContext) {
    // Reads the key file: a missing file or a file without the pinned keys stops the build here.
    const source = await gentooSource(ctx);
    ctx.log(`Gentoo from ${source.mirror}, snapshot ${source.snapshotDate}`);
  },
  async run(ctx: BuildContext) {
    const source = await gentooSource(ctx);
    const store = await openDownloadStore(ctx.cacheDir, ctx.workDir, { signal: ctx.signal, log: ctx.log });
    const stage3 = await fetchVerifiedStage3(source, ctx.architecture, ctx.init, { store, log: ctx.log });
    const snapshot = await fetchVerifiedSnapshot(source, { store, log: ctx.log });

    const repository = join(ctx.rootfs, GENTOO_REPOSITORY);
    await unpackVerifiedArchive(stage3, ctx.rootfs, { signal: ctx.signal, log: ctx.log });
    // The snapshot is moved in by path: a symbolic link on the way would lead it out of the root.
    const parts = GENTOO_REPOSITORY.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const dir = `/${parts.slice(0, i).join('/')}`;
      const info = await lstat(join(ctx.rootfs, dir)).catch(() => undefined);
      if (info && !info.isDirectory()) throw new UserError(`${stage3.name}: ${dir} is not a directory (a symbolic link?); the snapshot goes to ${GENTOO_REPOSITORY}, refusing to follow it`);
    }
    const existing = await lstat(repository).catch(() => undefined);
    if (existing && (!existing.isDirectory() || (await readdir(repository)).length > 0)) {
      throw new UserError(`${stage3.name} has a non-empty ${GENTOO_REPOSITORY}; the verified snapshot goes there, so nothing is mixed: this is not a stage3 as Gentoo makes them`);
    }
    const staging = snapshotStaging(ctx);
    await unpackVerifiedArchive(snapshot, staging, { signal: ctx.signal, log: ctx.log });
    const top = await readdir(staging);
    if (top.length !== 1 || top[0] !== 'gentoo') {
      throw new UserError(`${snapshot.name}: holds ${top.map((name) => `${name}/`).join(', ') || 'nothing'} at its top, not one gentoo/ tree; refusing to guess which is the ebuild repository`);
    }
    await mkdir(join(repository, '..'), { recursive: true, mode: 0o755 });
    if (existing) await rmdir(repository);
    await rename(join(staging, 'gentoo'), repository);
    await rmdir(staging);
    ctx.log(`${stage3.name} is the root; ${snapshot.name} is ${GENTOO_REPOSITORY}`);
  },
  async cleanup(ctx: BuildContext) {
    await rm(snapshotStaging(ctx), { recursive: true, force: true });
  },
};
