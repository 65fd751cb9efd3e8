/**
 * The build is a list of stages, one file each under src/builder/stages/, all with this small
 * lifecycle (after debos' actions): `verify` checks inputs and host tools before anything is
 * done, `run` does the work, `cleanup` always runs (success, failure or Ctrl-C), in reverse
 * order, and must be safe to call when `run` never started. The doc comment at the top of
 * each stage file is its user documentation.
 */
import type { Architecture } from '../host/emulation.js';
import type { Compression } from '../image/compression.js';
import type { InitSystem } from '../lib/init-systems.js';
import type { BaseHandoffPort } from './base-handoff.js';
import type { JitsiSource } from './jitsi-repository.js';
import type { ResolvedRecipe } from './recipe/schema.js';

/**
 * What stages share. The build pipeline owns this type and extends it; stages read what
 * earlier stages produced from here rather than from each other.
 */
export interface BuildContext {
  init: InitSystem;
  /** Directory holding the rootfs being built (exists after the bootstrap stage). */
  rootfs: string;
  /** Scratch directory of this build, removed at the end. */
  workDir: string;
  /** Repository root (recipes/, overlays/ and scripts/ are below it). */
  projectRoot: string;
  /** Aborted on SIGINT/SIGTERM: pass to execa as `cancelSignal` so children die with us. */
  signal: AbortSignal;
  /** Progress line for the task list (terminal) or the plain log (CI). */
  log(line: string): void;
  /**
   * Where stages write artifacts: a staging directory inside the requested output
   * directory. The pipeline moves every file listed in `artifacts` to the real output
   * directory (`finalOutDir`) only after all stages succeeded, so a failed or interrupted
   * build leaves nothing half-written there.
   */
  outDir: string;
  /** The output directory the user asked for (artifacts land here at the end). */
  finalOutDir: string;
  /** File name stem of every artifact: `debian-bookworm-jitsi-systemd-0.1.0-amd64` -> `.tar.xz`, `.nspawn`, `.packages`. */
  artifactBase: string;
  /** Absolute paths of files written to `outDir` so far, in the order written. */
  artifacts: string[];
  /** Key (file or fingerprint) to sign with; the sign stage skips itself when unset. */
  signKey?: string;
  /** Debian architecture of the image: `--arch`, else the recipe's, else the host's. */
  architecture: Architecture;
  /** The host's Debian architecture; a different `architecture` is built under qemu-user emulation. */
  hostArchitecture: string;
  /** Package cache directory (deb-cache.ts); absent with `--no-cache`. */
  cacheDir?: string;
  /** `--init all`: the base tree handed from one variant to the next (base-handoff.ts); absent for one image. */
  baseHandoff?: BaseHandoffPort;
  /** The recipe of this build, includes merged and filtered for `init`. */
  recipe: ResolvedRecipe;
  /** Where Jitsi's packages come from; absent with `--jitsi-source none`. */
  jitsi?: JitsiSource;
  /** Gentoo images: `--gentoo-key`, the file with Gentoo's pinned keys (else the recipe's gentoo.key-file). */
  gentooKeyFile?: string;
  /** Timestamp every mtime is clamped to and SOURCE_DATE_EPOCH of every child process. */
  sourceDateEpoch: number;
  compression: Compression;
  /** Compression level (xz 0..9, zstd 1..19); ignored for `none`. */
  compressionLevel: number;
  verbose: boolean;
  /** Names given to `--skip`: stage names and `cleanup/<step>` names. */
  skip: ReadonlySet<string>;
  /** Set by the pack stage: the tarball in `outDir` and the SHA-256 of its bytes. */
  tarball?: { path: string; sha256: string };
}

export interface Stage<C extends BuildContext = BuildContext> {
  /** Short id, used by `--skip-stage` style options and in logs. */
  name: string;
  /** What a person sees in the progress list. */
  title: string;
  /** Returns a reason to skip this stage for this build, or undefined to run it. */
  skip?(ctx: C): string | undefined;
  verify?(ctx: C): Promise<void>;
  run(ctx: C): Promise<void>;
  cleanup?(ctx: C): Promise<void>;
}
