/**
 * bootstrap: creates the root file system with mmdebstrap (root mode, into a directory in the
 * build's work directory) from the recipe's mirror, suite, variant and package list for the
 * chosen init system and architecture, in one apt solve. Another architecture than the host's
 * runs under qemu-user emulation (check-host-tools checked it is set up); .deb files come from
 * the package cache when it has them (deb-cache.ts). When an earlier build bootstrapped the
 * same packages from the same mirror state, its tree is unpacked instead (bootstrap-cache.ts). mmdebstrap keeps daemons from starting while
 * packages install (it puts a policy-rc.d in place), so nothing runs in the chroot.
 *
 * mmdebstrap runs inside fresh PID and mount namespaces: its mounts (/proc, /sys, /dev in the
 * chroot) and any process a package script started vanish with it, even when the build is
 * interrupted or killed, so an aborted bootstrap leaves only a directory to delete. On
 * interruption the stage waits until the kernel has ended every process of that namespace.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { childrenOf, livePidsInNamespace, pidNamespaceOf, holdPidNamespace, type HeldPidNamespace } from '../../host/proc.js';
import {
  bootstrapKey,
  commitBootstrap,
  extractArgs,
  fetchInRelease,
  findCachedBootstrap,
  incomingPath,
  mmdebstrapVersion,
  requirePrivateCacheDir,
  storeArgs,
} from '../bootstrap-cache.js';
import { sweepIncoming } from '../deb-cache.js';
import { isolatedCommand, mmdebstrapArgs } from '../program-args.js';
import { runLogged } from '../run-program.js';
import type { BuildContext, Stage } from '../stage.js';

/** The PID namespace mmdebstrap ran in (`pid:[4026532xxx]`), per build. */
const namespaces = new WeakMap<BuildContext, HeldPidNamespace>();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The namespace of unshare's forked child (mmdebstrap, PID 1 inside), held, once it exists. */
async function childNamespace(unsharePid: number): Promise<HeldPidNamespace | undefined> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const children = await childrenOf(unsharePid);
    if (children === undefined) return undefined; // unshare already gone
    const child = children[0];
    if (child) {
      const own = (await pidNamespaceOf(unsharePid)) ?? '';
      const held = await holdPidNamespace(child);
      if (held && held.id !== own) return held;
      await held?.release();
    }
    await sleep(20);
  }
  return undefined;
}

/** The bootstrap cache's directory and this build's key, and the cached tree when there is one. */
async function findReusableBootstrap(ctx: BuildContext, args: string[]): Promise<{ dir: string; key: string; cached?: string } | undefined> {
  const dir = join(ctx.cacheDir!, 'bootstrap');
  await requirePrivateCacheDir(ctx.cacheDir!);
  await requirePrivateCacheDir(dir);
  const inRelease = await fetchInRelease(ctx.recipe.mirror, ctx.recipe.suite, ctx.signal);
  if (!inRelease) {
    ctx.log(`bootstrap cache not used: ${ctx.recipe.mirror}/dists/${ctx.recipe.suite}/InRelease could not be read, so its state is unknown`);
    return undefined;
  }
  const key = bootstrapKey({ args, mmdebstrapVersion: await mmdebstrapVersion(), sourceDateEpoch: ctx.sourceDateEpoch, inRelease });
  return { dir, key, cached: await findCachedBootstrap(dir, key) };
}

/** Keeps the fresh tree for the next build; failing to (a full disk) is logged, not fatal. */
async function storeBootstrap(ctx: BuildContext, dir: string, key: string): Promise<void> {
  const incoming = incomingPath(dir, key);
  try {
    await runLogged(ctx, 'tar', storeArgs(ctx.rootfs, incoming), { displayName: 'tar (storing the bootstrap)' });
    await commitBootstrap(dir, incoming, key);
    ctx.log(`bootstrap kept for the next build in ${dir}`);
  } catch (error) {
    await rm(incoming, { force: true });
    if (ctx.signal.aborted) throw error;
    ctx.log(`bootstrap not kept (${(error as Error).message.split('\n')[0]}); the next build bootstraps afresh`);
  }
}

export const bootstrap: Stage = {
  name: 'bootstrap',
  title: 'Bootstrap the root file system with mmdebstrap',
  async run(ctx: BuildContext) {
    const { recipe } = ctx;
    await mkdir(ctx.rootfs, { recursive: true });
    const emulated = ctx.architecture !== ctx.hostArchitecture ? `, under qemu-user emulation on ${ctx.hostArchitecture}` : '';
    ctx.log(`${recipe.distro} ${recipe.suite} ${ctx.architecture} (${recipe.variant}) from ${recipe.mirror}, ${recipe.packages.length} packages${emulated}`);
    const input = {
      suite: recipe.suite,
      mirror: recipe.mirror,
      variant: recipe.variant,
      components: recipe.components,
      architecture: ctx.architecture,
      packages: recipe.packages,
      target: ctx.rootfs,
      verbose: ctx.verbose,
    };
    const reuse = ctx.cacheDir ? await findReusableBootstrap(ctx, mmdebstrapArgs({ ...input, target: '', verbose: false })) : undefined;
    if (reuse?.cached) {
      ctx.log(`reusing the bootstrap of an earlier build with the same packages, mirror state and mmdebstrap (${reuse.cached})`);
      await runLogged(ctx, 'tar', extractArgs(reuse.cached, ctx.rootfs), { displayName: 'tar (cached bootstrap)' });
      return;
    }
    const debs = ctx.cacheDir ? join(ctx.cacheDir, 'debs') : undefined;
    if (debs) await sweepIncoming(debs);
    const command = isolatedCommand('mmdebstrap', mmdebstrapArgs({ ...input, cacheDir: debs }));
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
    if (reuse?.key) await storeBootstrap(ctx, reuse.dir, reuse.key);
  },
  async cleanup(ctx: BuildContext) {
    const held = namespaces.get(ctx);
    if (!held) return;
    namespaces.delete(ctx);
    try {
      // The kernel kills the namespace when its PID 1 dies, but not instantly; wait for it so
      // that "the build has ended" really means no process of it is left.
      for (let waited = 0; waited < 30_000; waited += 100) {
        if ((await livePidsInNamespace(held.id)).length === 0) return;
        await sleep(100);
      }
      throw new Error(`processes of the bootstrap are still running after 30 s: ${(await livePidsInNamespace(held.id)).join(', ')}`);
    } finally {
      await held.release();
    }
  },
};
