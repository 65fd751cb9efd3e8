/**
 * Runs a build: resolves the recipe, runs every stage of its distribution's list (stages/index.ts) as a listr2 task
 * list (live progress in a terminal, plain timestamped lines otherwise), and publishes the
 * artifacts only when every stage succeeded.
 *
 * Failure and interruption rules: artifacts are written to a staging directory inside the
 * output directory and moved to their real names at the very end, so the output directory
 * never holds a partial or mismatched set; SIGINT/SIGTERM abort the running stage's
 * processes (through the AbortSignal every stage passes to execa), every stage's cleanup
 * runs, the work directory is removed (after making sure nothing is mounted below it and no
 * process is still running in it), and the next build starts from scratch.
 */
import { constants } from 'node:os';
import { access, readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Listr, PRESET_TIMESTAMP } from 'listr2';
import { UserError } from '../lib/errors.js';
import { ARCHITECTURES, isArchitecture, type Architecture } from '../host/emulation.js';
import { hostArchitecture } from '../host/tools.js';
import { artifactStem, packageListName, tarballName } from '../image/artifact-names.js';
import { DEFAULT_LEVEL, LEVEL_RANGE, levelProblem, type Compression } from '../image/compression.js';
import type { BaseHandoffPort } from './base-handoff.js';
import { BUILD_DEFAULTS, DEFAULT_SUITE, DISTROS, type Distro } from './build-options.js';
import type { InitSystem } from '../lib/init-systems.js';
import { resolveJitsiSource, type JitsiSource } from './jitsi-repository.js';
import { recipePathFor, resolveRecipe } from './recipe/load.js';
import { CLEANUP_STEPS, type RecipeDistro, type ResolvedRecipe } from './recipe/schema.js';
import { BuildInterrupted } from './run-program.js';
import type { BuildContext, Stage } from './stage.js';
import { stagesFor } from './stages/index.js';
import { createWorkspace, publishArtifacts, removeStagingDir, removeWorkDir, type Workspace } from './workspace.js';

/** The repository root: this file is src/builder/pipeline.ts (or lib/builder/pipeline.js). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The project's version (package.json): part of every artifact name, so releases can be pinned. */
export async function projectVersion(): Promise<string> {
  const manifest = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version?: unknown };
  if (typeof manifest.version !== 'string') throw new Error(`${join(PROJECT_ROOT, 'package.json')} has no version`);
  return manifest.version;
}

/** Stages without which there is no image; `--skip` refuses them (the root's maker for each distribution, and pack). */
export const REQUIRED_STAGES = new Set(['bootstrap', 'gentoo-stage3', 'pack']);

export interface BuildOptions {
  init: InitSystem;
  /** Debian architecture of the image; default the recipe's, else the host's. */
  architecture?: Architecture;
  /** Package cache directory (deb-cache.ts), relative to `cwd`; default BUILD_DEFAULTS.cacheDir. */
  cacheDir?: string;
  /** Download every package, neither reading nor filling the cache. */
  noCache?: boolean;
  distro?: string;
  suite?: string;
  /** Recipe file; default recipes/<distro>-<suite>.yaml. */
  recipe?: string;
  /** Output directory; relative paths are taken from `cwd`. Default dist/. */
  outDir?: string;
  compression?: Compression;
  /** Default: 6 for xz, 19 for zstd. */
  level?: number;
  signKey?: string;
  verbose?: boolean;
  /** Keep the work directory (the unpacked rootfs) for inspection. */
  keepWorkdir?: boolean;
  /** Where the work directory is created. Default: $TMPDIR or /var/tmp (not /tmp, often RAM). */
  workdirParent?: string;
  /** Stage names and `cleanup/<step>` names to skip. */
  skip?: string[];
  /** `auto`: live list on a terminal, timestamped lines otherwise; `plain`: always lines. */
  renderer?: 'auto' | 'plain' | 'silent';
  /** Directory relative paths are resolved against (the CLI passes npm's INIT_CWD). */
  cwd?: string;
  /** Aborts the build as Ctrl-C would. */
  signal?: AbortSignal;
  /** Listen for SIGINT/SIGTERM and abort cleanly (the CLI sets this). */
  handleSignals?: boolean;
  /** `upstream` (default), `none`, or the URL of a mirror of Jitsi's repository. */
  jitsiSource?: string;
  /** Trust the Jitsi repository key in this file instead of the recipe's pinned one. */
  jitsiKey?: string;
  /** Gentoo images: the file holding Gentoo's release and snapshot keys, instead of the recipe's gentoo.key-file. */
  gentooKey?: string;
  /** Stage list; default the project's (stages/index.ts). */
  stages?: Stage[];
  /** Set by a release build (`--init all`): the base tree handed between its variants. */
  baseHandoff?: BaseHandoffPort;
}

export interface BuildResult {
  /** Every artifact in the output directory, in the order written. */
  artifacts: string[];
  tarball: string;
  /** SHA-256 (hex) of the tarball's bytes. */
  sha256: string;
  packageList: string;
  outDir: string;
  architecture: Architecture;
  sourceDateEpoch: number;
  seconds: number;
}

/** Checks option combinations the table parser cannot, with messages saying what to do. */
export function checkBuildOptions(options: BuildOptions): { compression: Compression; level: number } {
  if (options.distro && !(DISTROS as readonly string[]).includes(options.distro)) {
    throw new UserError(`unknown --distro '${options.distro}' (${DISTROS.join(', ')} can be built)`);
  }
  const compression = options.compression ?? BUILD_DEFAULTS.compression;
  const level = options.level ?? DEFAULT_LEVEL[compression];
  const [min, max] = LEVEL_RANGE[compression];
  if (compression !== 'none' && levelProblem(compression, level)) {
    throw new UserError(`--level ${level} is out of range for ${compression} (${min}..${max})`);
  }
  // A recipe file names its distribution: with --recipe the stage names wait for buildRootfs to read it.
  if (!options.recipe) {
    const distro = (options.distro ?? BUILD_DEFAULTS.distro) as RecipeDistro; // one of DISTROS, checked above
    checkStageOptions(options, options.stages ?? stagesFor(distro), distro);
  }
  return { compression, level };
}

/**
 * Checks `--skip` and `--sign` against the stage list the build will run, that of the image's
 * distribution (stagesFor): bootstrap is Debian's, gentoo-portage Gentoo's.
 */
export function checkStageOptions(options: Pick<BuildOptions, 'skip' | 'signKey'>, stageList: readonly Stage[], distro: RecipeDistro): void {
  const stageNames = new Set(stageList.map((s) => s.name));
  if (options.signKey && !stageNames.has('sign')) {
    // Never accept a key and then publish unsigned.
    throw new UserError('--sign: this build has no sign stage; build without --sign and sign the release with `nspawn-jitsi sign`');
  }
  for (const name of options.skip ?? []) {
    const isCleanupStep = name.startsWith('cleanup/') && (CLEANUP_STEPS as readonly string[]).includes(name.slice('cleanup/'.length));
    if (!stageNames.has(name) && !isCleanupStep) {
      throw new UserError(
        `--skip ${name}: a ${distro} image has no such stage or cleanup step (its stages: ${[...stageNames].join(', ')}; cleanup steps: ${CLEANUP_STEPS.map((s) => `cleanup/${s}`).join(', ')})`,
      );
    }
    if (REQUIRED_STAGES.has(name)) throw new UserError(`--skip ${name}: this stage cannot be skipped`);
  }
}

/** SOURCE_DATE_EPOCH from the environment when set (must be an integer), else the recipe's. */
export function sourceDateEpochFrom(env: NodeJS.ProcessEnv, recipeValue: number): number {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return recipeValue;
  if (!/^[0-9]+$/.test(raw)) throw new UserError(`SOURCE_DATE_EPOCH must be a whole number of seconds, not '${raw}'`);
  return Number(raw);
}

export async function buildRootfs(options: BuildOptions): Promise<BuildResult> {
  const started = Date.now();
  const { compression, level } = checkBuildOptions(options);
  const cwd = options.cwd ?? process.cwd();
  const distro = options.distro ?? BUILD_DEFAULTS.distro;
  const suite = options.suite ?? DEFAULT_SUITE[distro as Distro];
  const recipeFile = options.recipe
    ? resolve(cwd, options.recipe)
    : recipePathFor(PROJECT_ROOT, distro, suite);
  try {
    await access(recipeFile);
  } catch {
    const known = (await readdir(join(PROJECT_ROOT, 'recipes')).catch(() => [] as string[])).filter((f) => f.endsWith('.yaml'));
    throw new UserError(
      options.recipe
        ? `recipe ${recipeFile} does not exist`
        : `no recipe for ${distro} ${suite}: ${recipeFile} does not exist (recipes: ${known.join(', ') || 'none'})`,
    );
  }
  const recipe = await resolveRecipe(recipeFile, { projectRoot: PROJECT_ROOT, init: options.init });
  if (!(DISTROS as readonly string[]).includes(recipe.distro)) {
    throw new UserError(`${recipeFile}: a ${recipe.distro} recipe cannot be built (${DISTROS.join(', ')} can)`);
  }
  // Without --recipe, checkBuildOptions has checked them against --distro's list, this recipe's.
  if (options.recipe) checkStageOptions(options, options.stages ?? stagesFor(recipe.distro), recipe.distro);
  const jitsi = resolveJitsiSource(options.jitsiSource, options.jitsiKey && resolve(cwd, options.jitsiKey), recipe.jitsi, recipeFile);
  const gentooKeyFile = options.gentooKey ? resolve(cwd, options.gentooKey) : undefined;
  const sourceDateEpoch = sourceDateEpochFrom(process.env, recipe.sourceDateEpoch);
  const host = await hostArchitecture();
  const architecture = options.architecture ?? recipe.architecture ?? host;
  if (!isArchitecture(architecture)) {
    throw new UserError(
      `${recipe.architecture === architecture ? `${recipeFile}: base.architecture` : 'this host\'s architecture'} is ${architecture}, but images are built for ${ARCHITECTURES.join(', ')} only; pass --arch ${ARCHITECTURES.join('|')}`,
    );
  }
  const cacheDir = options.noCache ? undefined : resolve(cwd, options.cacheDir ?? BUILD_DEFAULTS.cacheDir);

  // Listen before creating anything, so an early Ctrl-C still cleans up.
  const interruption = listenForInterruptions(options);
  try {
    const workspace = await createWorkspace({
      outDir: resolve(cwd, options.outDir ?? BUILD_DEFAULTS.outDir),
      workdirParent: options.workdirParent,
      cwd,
      artifactBase: artifactStem({
        distro: recipe.distro,
        suite: recipe.suite,
        init: options.init,
        version: await projectVersion(),
        architecture,
      }),
      log: (line) => {
        if (options.renderer !== 'silent') process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
      },
    });
    return await runInWorkspace(
      options,
      { recipe, jitsi, gentooKeyFile, sourceDateEpoch, compression, level, startedAt: started, architecture, hostArchitecture: host, cacheDir },
      workspace,
      interruption.signal,
    );
  } finally {
    interruption.dispose();
  }
}

/**
 * Turns SIGINT/SIGTERM (when the CLI asks for it) and the caller's own signal into one abort.
 * `dispose` stops listening: call it once the build is over, however it ended.
 */
export function listenForInterruptions(
  options: Pick<BuildOptions, 'signal' | 'handleSignals'>,
  what = 'the build',
): { signal: AbortSignal; dispose(): void } {
  const abort = new AbortController();
  const onSignal = (signalName: NodeJS.Signals) => {
    if (!abort.signal.aborted) {
      process.stderr.write(`\n${signalName}: stopping ${what} and cleaning up...\n`);
      abort.abort(new BuildInterrupted(signalName));
    }
  };
  const onExternalAbort = () => abort.abort(options.signal?.reason instanceof Error ? options.signal.reason : new BuildInterrupted('abort'));
  options.signal?.addEventListener('abort', onExternalAbort, { once: true });
  if (options.signal?.aborted) onExternalAbort();
  if (options.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  return {
    signal: abort.signal,
    dispose() {
      if (options.handleSignals) {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      options.signal?.removeEventListener('abort', onExternalAbort);
    },
  };
}

interface ResolvedBuild {
  recipe: ResolvedRecipe;
  jitsi?: JitsiSource;
  /** `--gentoo-key`, absolute. */
  gentooKeyFile?: string;
  sourceDateEpoch: number;
  compression: Compression;
  level: number;
  /** Date.now() when the build began. */
  startedAt: number;
  architecture: Architecture;
  hostArchitecture: string;
  cacheDir?: string;
}

/** Runs the stages in a workspace, cleans up after them and publishes the artifacts when all succeeded. */
async function runInWorkspace(options: BuildOptions, build: ResolvedBuild, workspace: Workspace, signal: AbortSignal): Promise<BuildResult> {
  const { recipe, sourceDateEpoch, compression, level, startedAt } = build;
  const { finalOutDir, stagingDir, workDir, artifactBase } = workspace;
  const stageList = options.stages ?? stagesFor(recipe.distro);
  const skip = new Set(options.skip ?? []);
  const plainLog = (line: string) => {
    if (options.renderer !== 'silent') process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  };
  const ctx: BuildContext = {
    init: options.init,
    rootfs: join(workDir, 'rootfs'),
    workDir,
    projectRoot: PROJECT_ROOT,
    signal,
    log: plainLog,
    outDir: stagingDir,
    finalOutDir,
    artifactBase,
    artifacts: [],
    signKey: options.signKey,
    architecture: build.architecture,
    hostArchitecture: build.hostArchitecture,
    ...(build.cacheDir ? { cacheDir: build.cacheDir } : {}),
    ...(options.baseHandoff ? { baseHandoff: options.baseHandoff } : {}),
    recipe,
    ...(build.jitsi ? { jitsi: build.jitsi } : {}),
    ...(build.gentooKeyFile ? { gentooKeyFile: build.gentooKeyFile } : {}),
    sourceDateEpoch,
    compression,
    compressionLevel: level,
    verbose: options.verbose ?? false,
    skip,
  };

  const { failure: stageFailure, started: startedStages } = await runStages(ctx, stageList, options.renderer, signal);
  let failure = stageFailure;

  ctx.log = plainLog;
  const cleanupErrors: string[] = [];
  for (const stage of [...startedStages].reverse()) {
    try {
      await stage.cleanup?.(ctx);
    } catch (error) {
      cleanupErrors.push(`${stage.name} cleanup: ${(error as Error).message}`);
    }
  }
  try {
    if (options.keepWorkdir) plainLog(`work directory kept: ${workDir}`);
    else await removeWorkDir(workDir, plainLog);
  } catch (error) {
    cleanupErrors.push((error as Error).message);
  }

  let published: string[] = [];
  try {
    if (failure) throw failure;
    if (!ctx.tarball) throw new Error('no stage produced a tarball');
    published = await publishArtifacts(workspace, ctx.artifacts);
  } catch (error) {
    failure ??= error;
  } finally {
    await removeStagingDir(workspace);
  }
  if (failure) {
    if (cleanupErrors.length) plainLog(`while cleaning up: ${cleanupErrors.join('; ')}`);
    throw failure;
  }
  if (cleanupErrors.length) throw new Error(`the build succeeded but cleaning up failed: ${cleanupErrors.join('; ')}`);

  if (!ctx.tarball) throw new Error('no stage produced a tarball');
  return {
    artifacts: published,
    tarball: join(finalOutDir, tarballName(artifactBase, compression)),
    sha256: ctx.tarball.sha256,
    packageList: join(finalOutDir, packageListName(artifactBase)),
    outDir: finalOutDir,
    architecture: build.architecture,
    sourceDateEpoch,
    seconds: Math.round((Date.now() - startedAt) / 1000),
  };
}

/**
 * Checks every stage's inputs, then runs the stages in order as a listr2 task list (live
 * progress on a terminal, timestamped lines otherwise). Returns the first failure (the
 * interruption, when there was one) and the stages that started, whose cleanup must run.
 */
async function runStages(
  ctx: BuildContext,
  stageList: readonly Stage[],
  renderer: BuildOptions['renderer'],
  signal: AbortSignal,
): Promise<{ failure: unknown; started: Stage[] }> {
  const started: Stage[] = [];
  const skipReason = (stage: Stage): string | undefined =>
    ctx.skip.has(stage.name) ? `skipped (--skip ${stage.name})` : stage.skip?.(ctx);

  const useFallback = renderer === 'plain' || !process.stdout.isTTY;
  const tasks = new Listr<BuildContext, 'default', 'simple'>(
    [
      {
        title: 'Check inputs',
        task: async () => {
          for (const stage of stageList) if (!skipReason(stage)) await stage.verify?.(ctx);
        },
      },
      ...stageList.map((stage) => ({
        title: stage.title,
        // On a terminal: the last few output lines under the running stage (all of them
        // with --verbose); the plain renderer prints every line with a timestamp anyway.
        rendererOptions: { outputBar: ctx.verbose ? Infinity : 3, persistentOutput: ctx.verbose },
        skip: () => {
          const reason = skipReason(stage);
          return reason ? `${stage.title}: ${reason}` : false;
        },
        task: async (_ctx: BuildContext, task: { output: string | undefined }) => {
          if (signal.aborted) throw signal.reason;
          ctx.log = (line) => {
            task.output = line;
          };
          started.push(stage);
          await stage.run(ctx);
          if (signal.aborted) throw signal.reason;
        },
      })),
    ],
    {
      concurrent: false,
      exitOnError: true,
      registerSignalListeners: false, // ours abort the stage and clean up; listr2's would exit at once
      renderer: 'default',
      silentRendererCondition: renderer === 'silent',
      rendererOptions: { collapseSubtasks: false, collapseErrors: false },
      fallbackRenderer: 'simple',
      fallbackRendererCondition: useFallback,
      fallbackRendererOptions: { timestamp: PRESET_TIMESTAMP },
    },
  );

  let failure: unknown;
  try {
    await tasks.run(ctx);
    if (signal.aborted) throw signal.reason;
  } catch (error) {
    failure = signal.aborted ? signal.reason : error;
  }
  return { failure, started };

}

/** Exit status for an interrupted build, as a shell reports a process killed by that signal. */
export function interruptedExitCode(error: BuildInterrupted): number {
  const number = constants.signals[error.signalName as NodeJS.Signals];
  return number ? 128 + number : 130;
}
