/**
 * check-host-tools: before anything is downloaded or written, checks that the programs this
 * build calls are installed (mmdebstrap, tar, the compressor, unshare, chroot, dpkg-query; for
 * a Gentoo image tar, xz, dpkg-deb, shadow's groupadd and useradd, systemd-nspawn, unshare and
 * chroot instead of mmdebstrap and dpkg-query) and
 * stops with one line naming the Debian package to install for each missing one. A build for
 * another architecture than the host's also needs qemu-user emulation through binfmt_misc
 * (src/host/emulation.ts): checked while inputs are checked, with one line saying what to
 * install or enable.
 */
import { requireEmulation } from '../../host/emulation.js';
import { requireHostTools, type HostTool } from '../../host/tools.js';
import type { Compression } from '../../image/compression.js';
import type { RecipeDistro } from '../recipe/schema.js';
import type { BuildContext, Stage } from '../stage.js';

/** The host programs a build of `distro` with this compression needs. */
export function hostToolsFor(compression: Compression, distro: RecipeDistro = 'debian'): HostTool[] {
  // Gentoo: the stage3 and snapshot are .tar.xz; Jitsi's .debs come apart with dpkg-deb and
  // their users are made with the host's shadow tools; portage runs under systemd-nspawn.
  const tools: HostTool[] =
    distro === 'gentoo' ? ['tar', 'xz', 'dpkg-deb', 'groupadd', 'useradd', 'systemd-nspawn', 'unshare', 'chroot'] : ['mmdebstrap', 'tar', 'unshare', 'chroot', 'dpkg-query'];
  if (compression !== 'none' && !tools.includes(compression)) tools.push(compression);
  return tools;
}

export const checkHostTools: Stage = {
  name: 'check-host-tools',
  title: 'Check host tools',
  async verify(ctx: BuildContext) {
    await requireEmulation(ctx.architecture, ctx.hostArchitecture);
  },
  async run(ctx: BuildContext) {
    const tools = hostToolsFor(ctx.compression, ctx.recipe.distro);
    await requireHostTools(tools);
    ctx.log(`found ${tools.join(', ')}`);
  },
};
