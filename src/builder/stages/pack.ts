/**
 * pack: writes `<out>/<base>.tar.xz` (`.tar.zst`, `.tar`): GNU tar with deterministic
 * settings (names sorted, mtimes clamped to SOURCE_DATE_EPOCH, numeric owners, pax headers
 * with xattrs so file capabilities survive) streamed into the compressor and a SHA-256 hash.
 * The tarball is written under a temporary name and renamed when complete.
 */
import { join } from 'node:path';
import { tarballName } from '../../image/artifact-names.js';
import { packDirectory } from '../pack-directory.js';
import type { BuildContext, Stage } from '../stage.js';

export const pack: Stage = {
  name: 'pack',
  title: 'Pack and compress the tarball',
  async run(ctx: BuildContext) {
    const destination = join(ctx.outDir, tarballName(ctx.artifactBase, ctx.compression));
    ctx.log(ctx.compression === 'none' ? 'uncompressed tar' : `${ctx.compression} level ${ctx.compressionLevel}`);
    const result = await packDirectory({
      rootfs: ctx.rootfs,
      destination,
      compression: ctx.compression,
      level: ctx.compressionLevel,
      sourceDateEpoch: ctx.sourceDateEpoch,
      signal: ctx.signal,
    });
    ctx.tarball = { path: destination, sha256: result.sha256 };
    ctx.artifacts.push(destination);
    ctx.log(`${(result.bytes / 1024 / 1024).toFixed(1)} MiB, sha256 ${result.sha256}`);
  },
};
