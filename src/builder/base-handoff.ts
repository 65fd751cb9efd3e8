/**
 * `--init all`: the base tree handed from one variant to the next while the first finishes.
 *
 * Both init systems' images start from the same base (the packages every init system gets,
 * stages/bootstrap.ts). The first variant bootstraps it and stores it in the bootstrap cache;
 * the next would unpack it from there, some 560 MB of files written while nothing else runs.
 * Instead, as soon as the first variant has stored its base, the release starts unpacking it
 * for the next variant, next to its work directory, while the first variant goes on with its
 * own init system's packages, its later stages, packing and inspecting (mostly one core's
 * work; the machine has another). The next variant's bootstrap then claims the unpacked tree
 * (one rename) instead of unpacking it itself. The result is the same tree the cache would
 * give: the same tarball, unpacked by the same tar command.
 *
 * The tree is unpacked into an owned scratch directory (workspace.ts) under the same parent as
 * the work directories, so the rename stays on one file system and a release killed outright
 * leaves nothing the next build does not remove. When unpacking fails the next variant simply
 * unpacks the cached base itself; whatever was not claimed is removed when the release ends.
 */
import { mkdir, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { extractArgs } from './bootstrap-cache.js';
import { createOwnedWorkDir } from './workspace.js';

/** What a variant's bootstrap sees of the handoff (BuildContext.baseHandoff). */
export interface BaseHandoffPort {
  /** Present when the next variant shares this one's base: start unpacking `tarball` (the cached base of `key`) for it. */
  offer?(key: string, tarball: string): void;
  /**
   * Moves the base unpacked ahead for `key`, if there is one, onto the empty directory `rootfs`;
   * false when there is none or unpacking it failed (said through `log`, the claiming stage's).
   */
  claim(key: string, rootfs: string, log: (line: string) => void): Promise<boolean>;
}

export interface BaseHandoff {
  /** The port for one variant: it may offer its base when `offers` (the next variant shares it), and may claim one. */
  portFor(offers: boolean): BaseHandoffPort;
  /** Stops unpacking and removes every tree nobody claimed. */
  dispose(): Promise<void>;
}

interface Unpacking {
  /** The owned scratch directory; the tree is its `rootfs`. */
  dir?: string;
  /** Resolves true once the tree is complete, false when unpacking failed or was stopped. */
  done: Promise<boolean>;
  /** Why unpacking failed, told to the variant that claims it. */
  failure?: string;
}

export function createBaseHandoff(options: {
  /** Parent of the work directories (the same file system as theirs). */
  workdirParent: string;
  /** The release's abort signal. */
  signal: AbortSignal;
}): BaseHandoff {
  const unpacking = new Map<string, Unpacking>();
  const stop = new AbortController();
  const cancelSignal = AbortSignal.any([options.signal, stop.signal]);

  const offer = (key: string, tarball: string): void => {
    if (unpacking.has(key) || cancelSignal.aborted) return;
    const entry: Unpacking = { done: Promise.resolve(false) };
    entry.done = (async () => {
      entry.dir = await createOwnedWorkDir(options.workdirParent, 'base');
      const tree = join(entry.dir, 'rootfs');
      await mkdir(tree);
      await execa('tar', extractArgs(tarball, tree), { stdin: 'ignore', cancelSignal });
      return true;
    })().catch((error: unknown) => {
      entry.failure = (error as Error).message.split('\n')[0];
      return false;
    });
    unpacking.set(key, entry);
  };

  // Progress goes through the stages' own log (a live task list on a terminal), never from
  // here while some other stage is running.
  const claim = async (key: string, rootfs: string, log: (line: string) => void): Promise<boolean> => {
    const entry = unpacking.get(key);
    if (!entry) return false;
    unpacking.delete(key);
    try {
      if (!(await entry.done)) {
        log(`unpacking the base ahead failed (${entry.failure ?? 'stopped'}); unpacking it now`);
        return false;
      }
      await rmdir(rootfs);
      await rename(join(entry.dir!, 'rootfs'), rootfs);
      return true;
    } catch (error) {
      await mkdir(rootfs, { recursive: true });
      log(`could not take the base unpacked ahead (${(error as Error).message.split('\n')[0]}); unpacking it again`);
      return false;
    } finally {
      if (entry.dir) await rm(entry.dir, { recursive: true, force: true });
    }
  };

  return {
    portFor: (offers) => (offers ? { offer, claim } : { claim }),
    async dispose() {
      stop.abort();
      for (const entry of unpacking.values()) {
        await entry.done;
        if (entry.dir) await rm(entry.dir, { recursive: true, force: true });
      }
      unpacking.clear();
    },
  };
}
