/**
 * bootstrap: creates the root file system with mmdebstrap (root mode, into a directory in the
 * build's work directory) from the recipe's mirror, suite, variant and package list for the
 * chosen init system and architecture, in two layers: mmdebstrap installs, in one apt solve,
 * every package all init systems get (the base), then the init system's own packages are
 * installed on it (init-layer.ts). Every build does both, so an image is the same whether
 * `--init all` or `--init <one>` built it. Another architecture than the host's runs under
 * qemu-user emulation (check-host-tools checked it is set up); .deb files come from the
 * package cache when it has them (deb-cache.ts). When an earlier build made the same tree from
 * the same mirror state, it is unpacked instead (bootstrap-cache.ts); when only the base is
 * cached (the other init system was built: `--init all` builds its second image so), the base
 * is unpacked and only the init system's packages are installed. mmdebstrap keeps daemons
 * from starting while packages install (it puts a policy-rc.d in place), and so does the init
 * layer, so nothing runs in the chroot.
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
  cachedBootstrapPath,
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
import { installInitPackages, LAYER_APT_OPTIONS } from '../init-layer.js';
import { isolatedCommand, mmdebstrapArgs } from '../program-args.js';
import { runLogged } from '../run-program.js';
import type { ResolvedRecipe } from '../recipe/schema.js';
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

/**
 * The bootstrap cache's directory and the keys of the trees made from each of `argsList`
 * (one InRelease read for all, so they name the same mirror state), each with its cached
 * tarball when there is one. Undefined when the mirror's state cannot be read.
 */
async function findReusableBootstraps(ctx: BuildContext, argsList: string[][]): Promise<{ dir: string; key: string; cached?: string }[] | undefined> {
  const dir = join(ctx.cacheDir!, 'bootstrap');
  await requirePrivateCacheDir(ctx.cacheDir!);
  await requirePrivateCacheDir(dir);
  const inRelease = await fetchInRelease(ctx.recipe.mirror, ctx.recipe.suite, ctx.signal);
  if (!inRelease) {
    ctx.log(`bootstrap cache not used: ${ctx.recipe.mirror}/dists/${ctx.recipe.suite}/InRelease could not be read, so its state is unknown`);
    return undefined;
  }
  const version = await mmdebstrapVersion();
  const found = [];
  for (const args of argsList) {
    const key = bootstrapKey({ args, mmdebstrapVersion: version, sourceDateEpoch: ctx.sourceDateEpoch, inRelease });
    found.push({ dir, key, cached: await findCachedBootstrap(dir, key) });
  }
  return found;
}

/** Keeps the fresh tree for the next build; failing to (a full disk) is logged, not fatal. Returns the cached tarball. */
async function storeBootstrap(ctx: BuildContext, dir: string, key: string): Promise<string | undefined> {
  const incoming = incomingPath(dir, key);
  try {
    await runLogged(ctx, 'tar', storeArgs(ctx.rootfs, incoming), { displayName: 'tar (storing the bootstrap)' });
    await commitBootstrap(dir, incoming, key);
    ctx.log(`bootstrap kept for the next build in ${dir}`);
    return cachedBootstrapPath(dir, key);
  } catch (error) {
    await rm(incoming, { force: true });
    if (ctx.signal.aborted) throw error;
    ctx.log(`bootstrap not kept (${(error as Error).message.split('\n')[0]}); the next build bootstraps afresh`);
    return undefined;
  }
}

/** mmdebstrap into ctx.rootfs with `packages`, in its own PID and mount namespaces. */
async function runMmdebstrap(ctx: BuildContext, packages: string[], debs: string | undefined): Promise<void> {
  const { recipe } = ctx;
  const command = isolatedCommand(
    'mmdebstrap',
    mmdebstrapArgs({
      suite: recipe.suite,
      mirror: recipe.mirror,
      variant: recipe.variant,
      components: recipe.components,
      architecture: ctx.architecture,
      packages,
      target: ctx.rootfs,
      verbose: ctx.verbose,
      cacheDir: debs,
    }),
  );
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
}

/**
 * What the bootstrap makes, in two layers: mmdebstrap's `base` from every package all init
 * systems get (the same for each, so one cached base serves them all), then `init`, the init
 * system's own packages (init-layer.ts). `baseArgs` and `keyArgs` are what the bootstrap
 * cache keys the base and the whole tree on.
 */
export function bootstrapLayers(recipe: ResolvedRecipe, architecture: string): { base: string[]; init: string[]; baseArgs: string[]; keyArgs: string[] } {
  const init = recipe.packages.filter((name) => recipe.initPackages.includes(name));
  const base = recipe.packages.filter((name) => !init.includes(name));
  const baseArgs = mmdebstrapArgs({
    suite: recipe.suite,
    mirror: recipe.mirror,
    variant: recipe.variant,
    components: recipe.components,
    architecture,
    packages: base,
    target: '',
  });
  return { base, init, baseArgs, keyArgs: init.length > 0 ? [...baseArgs, `--then-install=${init.join(',')}`, ...LAYER_APT_OPTIONS] : baseArgs };
}

export const bootstrap: Stage = {
  name: 'bootstrap',
  title: 'Bootstrap the root file system with mmdebstrap',
  async run(ctx: BuildContext) {
    const { recipe } = ctx;
    await mkdir(ctx.rootfs, { recursive: true });
    const emulated = ctx.architecture !== ctx.hostArchitecture ? `, under qemu-user emulation on ${ctx.hostArchitecture}` : '';
    const layers = bootstrapLayers(recipe, ctx.architecture);
    ctx.log(
      `${recipe.distro} ${recipe.suite} ${ctx.architecture} (${recipe.variant}) from ${recipe.mirror}, ${recipe.packages.length} packages` +
        (layers.init.length > 0 ? ` (${layers.base.length} shared by every init system, then ${ctx.init}'s: ${layers.init.join(', ')})` : '') +
        emulated,
    );
    const reusable = ctx.cacheDir ? await findReusableBootstraps(ctx, [layers.keyArgs, layers.baseArgs]) : undefined;
    const whole = reusable?.[0];
    if (whole?.cached) {
      ctx.log(`reusing the bootstrap of an earlier build with the same packages, mirror state and mmdebstrap (${whole.cached})`);
      await runLogged(ctx, 'tar', extractArgs(whole.cached, ctx.rootfs), { displayName: 'tar (cached bootstrap)' });
      return;
    }
    const debs = ctx.cacheDir ? join(ctx.cacheDir, 'debs') : undefined;
    if (debs) await sweepIncoming(debs);
    const base = layers.init.length > 0 ? reusable?.[1] : whole;
    const reusedBase = `reusing the base (the packages every init system gets) of an earlier build with the same packages, mirror state and mmdebstrap (${base?.cached})`;
    if (base?.cached && (await ctx.baseHandoff?.claim(base.key, ctx.rootfs, (line) => ctx.log(line)))) {
      ctx.log(`${reusedBase}, unpacked while the previous image was finishing`);
    } else if (base?.cached) {
      ctx.log(reusedBase);
      await runLogged(ctx, 'tar', extractArgs(base.cached, ctx.rootfs), { displayName: 'tar (cached base)' });
    } else {
      await runMmdebstrap(ctx, layers.base, debs);
      const stored = base?.key ? await storeBootstrap(ctx, base.dir, base.key) : undefined;
      if (base && stored) base.cached = stored;
    }
    // `--init all`: the next image of this architecture starts from the same base.
    if (base?.cached && layers.init.length > 0 && ctx.baseHandoff?.offer) {
      ctx.baseHandoff.offer(base.key, base.cached);
      ctx.log('unpacking the base for the next image while this one finishes');
    }
    if (layers.init.length > 0) {
      ctx.log(`installing ${ctx.init}'s packages on the base: ${layers.init.join(', ')}`);
      await installInitPackages(ctx, layers.init, debs);
      if (whole?.key) await storeBootstrap(ctx, whole.dir, whole.key);
    }
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
