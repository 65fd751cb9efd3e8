/**
 * gentoo-jitsi (Gentoo images only): installs Jitsi's own packages (the recipe's
 * `jitsi.packages`) without apt, since Gentoo has no ebuilds of them. From the same repository,
 * key and `--jitsi-source` / `--jitsi-key` as the Debian path, it verifies InRelease (signed by
 * the pinned key), Packages and each .deb (size and SHA256), then unpacks their data onto the
 * root; nothing is unpacked unless every package passed. Their maintainer scripts never run:
 * the scripts and other control data stay in the build's work directory (not in the image),
 * and what of their effects an image needs is done instead: group jitsi, users jicofo and jvb,
 * their homes and /etc/jitsi directories, /var/log/jitsi, and the packages' Debian sysv
 * scripts moved aside; our service files for the image's init system (OpenRC: native
 * openrc-run scripts in place of Debian's sysv script) come from the overlays stage, which
 * runs after this one; all left off (see docs/gentoo.md). Runs after gentoo-portage, which installs what the packages depend
 * on (a JRE, prosody).
 *
 * Skipped with `--jitsi-source none`. Exercised only against a stand-in Jitsi repository.
 */
import { join } from 'node:path';
import { unpackDebs } from '../gentoo/deb-unpack.js';
import { fetchVerifiedJitsiDebs } from '../gentoo/jitsi-debs.js';
import { applyJitsiEffects } from '../gentoo/jitsi-effects.js';
import type { BuildContext, Stage } from '../stage.js';

/** The stage's own corner of the work directory: downloads, data archives, control data. */
export function gentooJitsiWorkDir(ctx: Pick<BuildContext, 'workDir'>): string {
  return join(ctx.workDir, 'gentoo-jitsi');
}

export const gentooJitsi: Stage = {
  name: 'gentoo-jitsi',
  title: "Install Jitsi's packages (verified .debs, unpacked)",
  skip: (ctx) => {
    if (ctx.recipe.distro !== 'gentoo') return 'not a Gentoo image';
    if (!ctx.jitsi) return 'no Jitsi source (--jitsi-source none)';
    return undefined;
  },
  async run(ctx: BuildContext) {
    const jitsi = ctx.jitsi!;
    const work = gentooJitsiWorkDir(ctx);
    const debs = await fetchVerifiedJitsiDebs(jitsi, join(work, 'debs'), { signal: ctx.signal, log: ctx.log });
    const controlDir = join(work, 'control');
    const manifest = await unpackDebs(debs, { root: ctx.rootfs, controlDir, workDir: join(work, 'data'), signal: ctx.signal, log: ctx.log });
    const report = await applyJitsiEffects(ctx.rootfs, manifest, ctx.init, { sourceDateEpoch: ctx.sourceDateEpoch, log: ctx.log });
    ctx.log(
      `installed ${manifest.map((p) => `${p.package} ${p.version}`).join(', ')}; users ${report.users.map((u) => u.name).join(', ') || 'none'}; their maintainer scripts are in ${controlDir} (kept with --keep-workdir), not in the image`,
    );
  },
};
