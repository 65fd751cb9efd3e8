/**
 * The build is a list of stages, one file each under src/build/stages/, all with this small
 * lifecycle (after debos' actions): `verify` checks inputs and host tools before anything is
 * done, `run` does the work, `cleanup` always runs (success, failure or Ctrl-C), in reverse
 * order, and must be safe to call when `run` never started. The doc comment at the top of
 * each stage file is its user documentation.
 */
export type InitSystem = 'systemd' | 'openrc';

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
