/**
 * The init system's packages (the recipe's packages marked `init:`), installed on top of the
 * base tree that mmdebstrap made from the packages every init system gets. The base is the
 * same for every init system, so `--init all` (and a build of the other init system later)
 * takes it from the bootstrap cache instead of running apt's solve, download and dpkg over
 * ~220 packages again; only this layer (a dozen or two packages) differs per image.
 *
 * Installed the way mmdebstrap installs its remaining packages, inside the root (in-root.ts):
 * the image's own apt sources and keyring (apt checks the mirror's signed Release file as in
 * any apt-get update), no Recommends and no translations (mmdebstrap's settings), a
 * policy-rc.d that keeps daemons from starting, .deb files offered from the package cache
 * through partial/ (deb-cache.ts: apt checks each against the signed index) and the accepted
 * ones stored back. Afterwards the same clean-up mmdebstrap does at its end: package lists and
 * apt cache emptied, the log and cache files that make a root unreproducible removed.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SYNC_IN_SCRIPT, SYNC_OUT_SCRIPT } from './deb-cache.js';
import { runInRoot } from './in-root.js';
import { runLogged } from './run-program.js';
import type { BuildContext } from './stage.js';

/** mmdebstrap's apt settings for the packages it installs (its 00mmdebstrap, removed at its end). */
export const LAYER_APT_OPTIONS = ['-o', 'APT::Install-Recommends=false', '-o', 'Acquire::Languages=none'];

/** Files mmdebstrap removes at its end so that the root is reproducible; a later dpkg run writes them again. */
export const UNREPRODUCIBLE_FILES = [
  'var/log/dpkg.log',
  'var/log/apt/history.log',
  'var/log/apt/term.log',
  'var/log/alternatives.log',
  'var/cache/ldconfig/aux-cache',
  'var/log/apt/eipp.log.xz',
  'var/lib/dbus/machine-id',
];

/** Empties apt's lists and cache as mmdebstrap's cleanup does (an update with no sources, then clean). */
export const APT_CLEAN_SCRIPT = `set -e
apt-get -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=/dev/null update
apt-get clean
rm -rf /var/lib/apt/lists/auxfiles`;

export async function installInitPackages(ctx: BuildContext, packages: string[], debCacheDir: string | undefined): Promise<void> {
  const policy = join(ctx.rootfs, 'usr/sbin/policy-rc.d');
  await writeFile(policy, '#!/bin/sh\n# nspawn-jitsi-meet build: no daemon starts while packages install.\nexit 101\n', { mode: 0o755 });
  try {
    if (debCacheDir) {
      await runLogged(ctx, 'sh', ['-c', SYNC_IN_SCRIPT, 'nspawn-jitsi-cache-in', ctx.rootfs, debCacheDir, ctx.architecture], { showOutput: true, displayName: 'package cache (in)' });
    }
    await runInRoot(ctx, ['apt-get', ...LAYER_APT_OPTIONS, 'update'], { displayName: 'apt-get update' });
    await runInRoot(ctx, ['apt-get', ...LAYER_APT_OPTIONS, 'install', '--yes', ...packages], { displayName: 'apt-get install' });
    if (debCacheDir) {
      await runLogged(ctx, 'sh', ['-c', SYNC_OUT_SCRIPT, 'nspawn-jitsi-cache-out', ctx.rootfs, debCacheDir], { showOutput: true, displayName: 'package cache (out)' });
    }
    await runInRoot(ctx, ['sh', '-c', APT_CLEAN_SCRIPT], { displayName: 'apt-get clean' });
  } finally {
    await rm(policy, { force: true });
  }
  for (const file of UNREPRODUCIBLE_FILES) await rm(join(ctx.rootfs, file), { force: true });
}
