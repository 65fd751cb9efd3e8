/**
 * Runs a build: resolves the recipe, runs every stage of stages/index.ts as a listr2 task
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
import { BUILD_STAGING_PREFIX } from '../release/artifacts.js';
import { constants } from 'node:os';
import { access, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Listr, PRESET_TIMESTAMP } from 'listr2';
import { execa } from 'execa';
import { UserError } from '../lib/errors.js';
import { processExists, processRuns } from '../lib/process-exists.js';
import { DEFAULT_LEVEL, LEVEL_RANGE, compressionExtension } from './commands.js';
import { recipePathFor, resolveRecipe } from './recipe/load.js';
import { CLEANUP_STEPS } from './recipe/schema.js';
import { BuildInterrupted } from './run.js';
import type { BuildContext, Compression, InitSystem, Stage } from './stage.js';
import { stages as defaultStages } from './stages/index.js';

/** The repository root: this file is src/build/pipeline.ts (or lib/build/pipeline.js). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const DISTROS = ['debian', 'gentoo'] as const;
export const JITSI_SOURCES = ['none', 'upstream-apt'] as const;
/** Stages without which there is no image; `--skip` refuses them. */
export const REQUIRED_STAGES = new Set(['bootstrap', 'pack']);

export interface BuildOptions {
  init: InitSystem;
  distro?: string;
  suite?: string;
  /** Recipe file; default recipes/<distro>-<suite>.yaml. */
  recipe?: string;
  /** Output directory; relative paths are taken from `cwd`. Default dist/. */
  outDir?: string;
  compression?: Compression;
  /** Default: 6 for xz, 19 for zstd. */
  level?: number;
  jitsiSource?: string;
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
  /** Stage list; default the project's (stages/index.ts). */
  stages?: Stage[];
}

export interface BuildResult {
  /** Every artifact in the output directory, in the order written. */
  artifacts: string[];
  tarball: string;
  /** SHA-256 (hex) of the tarball's bytes. */
  sha256: string;
  packageList: string;
  outDir: string;
  sourceDateEpoch: number;
  seconds: number;
}

/** Checks option combinations the table parser cannot, with messages saying what to do. */
export function checkBuildOptions(options: BuildOptions): { compression: Compression; level: number } {
  if (options.distro === 'gentoo') {
    throw new UserError('--distro gentoo is not supported yet: only Debian images can be built so far (use --distro debian)');
  }
  if (options.distro && options.distro !== 'debian') throw new UserError(`unknown --distro '${options.distro}' (debian is supported)`);
  if (options.jitsiSource && options.jitsiSource !== 'none') {
    throw new UserError(
      `--jitsi-source ${options.jitsiSource}: the Jitsi payload (jicofo, jitsi-videobridge, the web app) is not implemented yet; use --jitsi-source none`,
    );
  }
  const compression = options.compression ?? 'xz';
  const level = options.level ?? DEFAULT_LEVEL[compression];
  const [min, max] = LEVEL_RANGE[compression];
  if (compression !== 'none' && (level < min || level > max)) {
    throw new UserError(`--level ${level} is out of range for ${compression} (${min}..${max})`);
  }
  const stageNames = new Set((options.stages ?? defaultStages).map((s) => s.name));
  if (options.signKey && !stageNames.has('sign')) {
    // Never accept a key and then publish unsigned.
    throw new UserError('--sign: this build has no sign stage; build without --sign and sign the release with `nspawn-jitsi sign`');
  }
  for (const name of options.skip ?? []) {
    if (REQUIRED_STAGES.has(name)) throw new UserError(`--skip ${name}: this stage cannot be skipped`);
    const isCleanupStep = name.startsWith('cleanup/') && (CLEANUP_STEPS as readonly string[]).includes(name.slice('cleanup/'.length));
    if (!stageNames.has(name) && !isCleanupStep) {
      throw new UserError(
        `--skip ${name}: no such stage or cleanup step (stages: ${[...stageNames].join(', ')}; cleanup steps: ${CLEANUP_STEPS.map((s) => `cleanup/${s}`).join(', ')})`,
      );
    }
  }
  return { compression, level };
}

/** SOURCE_DATE_EPOCH from the environment when set (must be an integer), else the recipe's. */
export function sourceDateEpochFrom(env: NodeJS.ProcessEnv, recipeValue: number): number {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return recipeValue;
  if (!/^[0-9]+$/.test(raw)) throw new UserError(`SOURCE_DATE_EPOCH must be a whole number of seconds, not '${raw}'`);
  return Number(raw);
}

/** Staging directories left by builds that were killed outright (SIGKILL, power loss). */
async function removeStaleStaging(outDir: string, artifactBase: string): Promise<void> {
  const prefix = `.partial-${artifactBase}-`;
  for (const name of await readdir(outDir).catch(() => [] as string[])) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (Number.isInteger(pid) && pid !== process.pid && processExists(pid)) continue; // a build running now
    await rm(join(outDir, name), { recursive: true, force: true });
  }
}

/** Marks a work directory with the PID of the build that owns it. */
const WORKDIR_OWNER = '.owner-pid';
const WORKDIR_PREFIX = 'nspawn-jitsi-';

/**
 * Work directories under `parent` left by builds that were killed outright (SIGKILL, the OOM
 * killer, power loss): their owner PID no longer runs. Removed through removeWorkDir, so a
 * directory with something still mounted below it is left alone and reported.
 */
export async function removeStaleWorkDirs(parent: string, log: (line: string) => void): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    if (!name.startsWith(WORKDIR_PREFIX)) continue;
    const dir = join(parent, name);
    const owner = Number((await readFile(join(dir, WORKDIR_OWNER), 'utf8').catch(() => '')).trim());
    // No owner file: not ours to judge (another tool's, or a build that is just starting).
    if (!Number.isInteger(owner) || owner <= 0 || owner === process.pid || processRuns(owner)) continue;
    try {
      await removeWorkDir(dir, log);
      removed.push(dir);
      log(`removed ${dir}, left by a build (PID ${owner}) that was killed`);
    } catch (error) {
      log(`left ${dir} alone: ${(error as Error).message}`);
    }
  }
  return removed;
}

/** Mount points at or below `dir`, deepest first. */
export async function mountsBelow(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const points = text
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => !!point)
    // mountinfo escapes space, tab, newline and backslash as octal
    .map((point) => point.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((point) => point === dir || point.startsWith(`${dir}/`));
  return points.sort((a, b) => b.length - a.length);
}

/** PIDs of processes whose root or working directory is inside `dir`. */
export async function processesIn(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    for (const link of ['root', 'cwd']) {
      const target = await readlink(`/proc/${name}/${link}`).catch(() => '');
      if (target === dir || target.startsWith(`${dir}/`)) {
        pids.push(Number(name));
        break;
      }
    }
  }
  return pids.filter((pid) => pid !== process.pid);
}

/**
 * Removes the work directory, but never through a mount: deleting a tree with the host's
 * /dev or /proc bound below it would delete the host's files.
 */
async function removeWorkDir(workDir: string, log: (line: string) => void): Promise<void> {
  for (const pid of await processesIn(workDir)) {
    log(`stopping leftover process ${pid} in the work directory`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const point of await mountsBelow(workDir)) {
    log(`unmounting leftover ${point}`);
    await execa('umount', ['--lazy', point], { reject: false });
  }
  const left = await mountsBelow(workDir);
  if (left.length > 0) {
    throw new Error(`not removing ${workDir}: still mounted: ${left.join(', ')}; unmount them and delete it by hand`);
  }
  await rm(workDir, { recursive: true, force: true, maxRetries: 3 });
}

export async function buildRootfs(options: BuildOptions): Promise<BuildResult> {
  const started = Date.now();
  const { compression, level } = checkBuildOptions(options);
  const cwd = options.cwd ?? process.cwd();
  const distro = options.distro ?? 'debian';
  const suite = options.suite ?? 'bookworm';
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
  const sourceDateEpoch = sourceDateEpochFrom(process.env, recipe.sourceDateEpoch);
  const stageList = options.stages ?? defaultStages;
  const skip = new Set(options.skip ?? []);

  // Listen before creating anything, so an early Ctrl-C still cleans up.
  const abort = new AbortController();
  const onSignal = (signalName: NodeJS.Signals) => {
    if (!abort.signal.aborted) {
      process.stderr.write(`\n${signalName}: stopping the build and cleaning up...\n`);
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

  const finalOutDir = resolve(cwd, options.outDir ?? 'dist');
  const artifactBase = `${recipe.distro}-jitsi-${options.init}`;
  const stagingDir = join(finalOutDir, `${BUILD_STAGING_PREFIX}${artifactBase}-${process.pid}`);
  try {
    await mkdir(finalOutDir, { recursive: true });
    await removeStaleStaging(finalOutDir, artifactBase);
    await rm(stagingDir, { recursive: true, force: true });
    await mkdir(stagingDir, { mode: 0o755 });
  } catch (error) {
    if (options.handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    throw new UserError(`cannot write to the output directory ${finalOutDir}: ${(error as Error).message}`);
  }

  const workdirParent = options.workdirParent
    ? resolve(cwd, options.workdirParent)
    : process.env.TMPDIR && isAbsolute(process.env.TMPDIR)
      ? process.env.TMPDIR
      : '/var/tmp';
  let workDir: string;
  try {
    await mkdir(workdirParent, { recursive: true });
    workDir = await mkdtemp(join(workdirParent || tmpdir(), `${WORKDIR_PREFIX}${artifactBase}-`));
    await writeFile(join(workDir, WORKDIR_OWNER), `${process.pid}\n`);
  } catch (error) {
    await rm(stagingDir, { recursive: true, force: true });
    if (options.handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    throw new UserError(`cannot create the work directory under ${workdirParent}: ${(error as Error).message}`);
  }

  const plainLog = (line: string) => {
    if (options.renderer !== 'silent') process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  };
  // What builds killed outright left (hundreds of MB each): nobody else would ever remove it.
  await removeStaleWorkDirs(workdirParent, plainLog);
  const ctx: BuildContext = {
    init: options.init,
    rootfs: join(workDir, 'rootfs'),
    workDir,
    projectRoot: PROJECT_ROOT,
    signal: abort.signal,
    log: plainLog,
    outDir: stagingDir,
    finalOutDir,
    artifactBase,
    artifacts: [],
    signKey: options.signKey,
    recipe,
    sourceDateEpoch,
    compression,
    compressionLevel: level,
    verbose: options.verbose ?? false,
    skip,
  };

  const started_stages: Stage[] = [];
  const skipReason = (stage: Stage): string | undefined =>
    skip.has(stage.name) ? `skipped (--skip ${stage.name})` : stage.skip?.(ctx);

  const useFallback = options.renderer === 'plain' || !process.stdout.isTTY;
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
          if (abort.signal.aborted) throw abort.signal.reason;
          ctx.log = (line) => {
            task.output = line;
          };
          started_stages.push(stage);
          await stage.run(ctx);
          if (abort.signal.aborted) throw abort.signal.reason;
        },
      })),
    ],
    {
      concurrent: false,
      exitOnError: true,
      registerSignalListeners: false, // ours abort the stage and clean up; listr2's would exit at once
      renderer: 'default',
      silentRendererCondition: options.renderer === 'silent',
      rendererOptions: { collapseSubtasks: false, collapseErrors: false },
      fallbackRenderer: 'simple',
      fallbackRendererCondition: useFallback,
      fallbackRendererOptions: { timestamp: PRESET_TIMESTAMP },
    },
  );

  let failure: unknown;
  try {
    await tasks.run(ctx);
    if (abort.signal.aborted) throw abort.signal.reason;
  } catch (error) {
    failure = abort.signal.aborted ? abort.signal.reason : error;
  }

  ctx.log = plainLog;
  const cleanupErrors: string[] = [];
  for (const stage of [...started_stages].reverse()) {
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

  const published: string[] = [];
  try {
    if (failure) throw failure;
    if (!ctx.tarball) throw new Error('no stage produced a tarball');
    for (const artifact of ctx.artifacts) {
      const destination = join(finalOutDir, artifact.slice(stagingDir.length + 1));
      await rename(artifact, destination);
      published.push(destination);
    }
  } catch (error) {
    failure ??= error;
  } finally {
    await rm(stagingDir, { recursive: true, force: true });
    if (options.handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    options.signal?.removeEventListener('abort', onExternalAbort);
  }
  if (failure) {
    if (cleanupErrors.length) plainLog(`while cleaning up: ${cleanupErrors.join('; ')}`);
    throw failure;
  }
  if (cleanupErrors.length) throw new Error(`the build succeeded but cleaning up failed: ${cleanupErrors.join('; ')}`);

  const tarballName = `${artifactBase}${compressionExtension(compression)}`;
  if (!ctx.tarball) throw new Error('no stage produced a tarball');
  return {
    artifacts: published,
    tarball: join(finalOutDir, tarballName),
    sha256: ctx.tarball.sha256,
    packageList: join(finalOutDir, `${artifactBase}.packages`),
    outDir: finalOutDir,
    sourceDateEpoch,
    seconds: Math.round((Date.now() - started) / 1000),
  };
}

/** Exit status for an interrupted build, as a shell reports a process killed by that signal. */
export function interruptedExitCode(error: BuildInterrupted): number {
  const number = constants.signals[error.signalName as NodeJS.Signals];
  return number ? 128 + number : 130;
}
