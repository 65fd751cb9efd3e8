/**
 * bootstrap: creates the root file system with mmdebstrap (root mode, into a directory in the
 * build's work directory) from the recipe's mirror, suite, variant and package list for the
 * chosen init system and architecture, in one apt solve. Another architecture than the host's
 * runs under qemu-user emulation (check-host-tools checked it is set up); .deb files come from
 * the package cache when it has them (deb-cache.ts). mmdebstrap keeps daemons from starting while
 * packages install (it puts a policy-rc.d in place), so nothing runs in the chroot.
 *
 * mmdebstrap runs inside fresh PID and mount namespaces: its mounts (/proc, /sys, /dev in the
 * chroot) and any process a package script started vanish with it, even when the build is
 * interrupted or killed, so an aborted bootstrap leaves only a directory to delete. On
 * interruption the stage waits until the kernel has ended every process of that namespace.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { childrenOf, livePidsInNamespace, pidNamespaceOf } from '../../host/proc.js';
import { sweepIncoming } from '../deb-cache.js';
import { isolatedCommand, mmdebstrapArgs } from '../program-args.js';
import { runLogged } from '../run-program.js';
import type { BuildContext, Stage } from '../stage.js';

/** The PID namespace mmdebstrap ran in (`pid:[4026532xxx]`), per build. */
const namespaces = new WeakMap<BuildContext, string>();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The namespace of unshare's forked child (mmdebstrap, PID 1 inside), once it exists. */
async function childNamespace(unsharePid: number): Promise<string | undefined> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const children = await childrenOf(unsharePid);
    if (children === undefined) return undefined; // unshare already gone
    const child = children[0];
    if (child) {
      const own = (await pidNamespaceOf(unsharePid)) ?? '';
      const theirs = (await pidNamespaceOf(child)) ?? '';
      if (theirs && theirs !== own) return theirs;
    }
    await sleep(20);
  }
  return undefined;
}

export const bootstrap: Stage = {
  name: 'bootstrap',
  title: 'Bootstrap the root file system with mmdebstrap',
  async run(ctx: BuildContext) {
    const { recipe } = ctx;
    await mkdir(ctx.rootfs, { recursive: true });
    const emulated = ctx.architecture !== ctx.hostArchitecture ? `, under qemu-user emulation on ${ctx.hostArchitecture}` : '';
    ctx.log(`${recipe.distro} ${recipe.suite} ${ctx.architecture} (${recipe.variant}) from ${recipe.mirror}, ${recipe.packages.length} packages${emulated}`);
    if (ctx.cacheDir) await sweepIncoming(ctx.cacheDir);
    const args = mmdebstrapArgs({
      suite: recipe.suite,
      mirror: recipe.mirror,
      variant: recipe.variant,
      components: recipe.components,
      architecture: ctx.architecture,
      packages: recipe.packages,
      target: ctx.rootfs,
      verbose: ctx.verbose,
      cacheDir: ctx.cacheDir,
    });
    const command = isolatedCommand('mmdebstrap', args);
    // mmdebstrap's own temporary files (its gpghome, apt's lists before the chroot exists) go
    // into the work directory, so a build killed outright leaves them where its sweep finds them.
    const tmp = join(ctx.workDir, 'tmp');
    await mkdir(tmp, { recursive: true, mode: 0o700 });
    await runLogged(ctx, command.file, command.args, {
      env: { TMPDIR: tmp },
      showOutput: true,
      displayName: 'mmdebstrap',
      onSpawn: (pid) => {
        void childNamespace(pid).then((ns) => ns && namespaces.set(ctx, ns));
      },
    });
  },
  async cleanup(ctx: BuildContext) {
    const ns = namespaces.get(ctx);
    if (!ns) return;
    // The kernel kills the namespace when its PID 1 dies, but not instantly; wait for it so
    // that "the build has ended" really means no process of it is left.
    for (let waited = 0; waited < 30_000; waited += 100) {
      if ((await livePidsInNamespace(ns)).length === 0) return;
      await sleep(100);
    }
    throw new Error(`processes of the bootstrap are still running after 30 s: ${(await livePidsInNamespace(ns)).join(', ')}`);
  },
};
