/**
 * bootstrap: creates the root file system with mmdebstrap (root mode, into a directory in the
 * build's work directory) from the recipe's mirror, suite, variant and package list for the
 * chosen init system, in one apt solve. mmdebstrap keeps daemons from starting while
 * packages install (it puts a policy-rc.d in place), so nothing runs in the chroot.
 *
 * mmdebstrap runs inside fresh PID and mount namespaces: its mounts (/proc, /sys, /dev in the
 * chroot) and any process a package script started vanish with it, even when the build is
 * interrupted or killed, so an aborted bootstrap leaves only a directory to delete.
 */
import { mkdir } from 'node:fs/promises';
import { isolatedCommand, mmdebstrapArgs } from '../commands.js';
import { runLogged } from '../run.js';
import type { BuildContext, Stage } from '../stage.js';

export const bootstrap: Stage = {
  name: 'bootstrap',
  title: 'Bootstrap the root file system with mmdebstrap',
  async run(ctx: BuildContext) {
    const { recipe } = ctx;
    await mkdir(ctx.rootfs, { recursive: true });
    ctx.log(`${recipe.distro} ${recipe.suite} (${recipe.variant}) from ${recipe.mirror}, ${recipe.packages.length} packages`);
    const args = mmdebstrapArgs({
      suite: recipe.suite,
      mirror: recipe.mirror,
      variant: recipe.variant,
      components: recipe.components,
      architecture: recipe.architecture,
      packages: recipe.packages,
      target: ctx.rootfs,
      verbose: ctx.verbose,
    });
    const command = isolatedCommand('mmdebstrap', args);
    await runLogged(ctx, command.file, command.args, { showOutput: true });
  },
};
