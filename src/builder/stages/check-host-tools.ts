/**
 * check-host-tools: before anything is downloaded or written, checks that the programs this
 * build calls are installed (mmdebstrap, tar, the compressor, unshare, chroot, dpkg-query) and
 * stops with one line naming the Debian package to install for each missing one. A build for
 * another architecture than the host's also needs qemu-user emulation through binfmt_misc
 * (src/host/emulation.ts): checked while inputs are checked, with one line saying what to
 * install or enable.
 */
import { requireEmulation } from '../../host/emulation.js';
import { requireHostTools, type HostTool } from '../../host/tools.js';
import type { Compression } from '../../image/compression.js';
import type { BuildContext, Stage } from '../stage.js';

/** The host programs a build with this compression needs. */
export function hostToolsFor(compression: Compression): HostTool[] {
  const tools: HostTool[] = ['mmdebstrap', 'tar', 'unshare', 'chroot', 'dpkg-query'];
  if (compression !== 'none') tools.push(compression);
  return tools;
}

export const checkHostTools: Stage = {
  name: 'check-host-tools',
  title: 'Check host tools',
  async verify(ctx: BuildContext) {
    await requireEmulation(ctx.architecture, ctx.hostArchitecture);
  },
  async run(ctx: BuildContext) {
    await requireHostTools(hostToolsFor(ctx.compression));
    ctx.log(`found ${hostToolsFor(ctx.compression).join(', ')}`);
  },
};
