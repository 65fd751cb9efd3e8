/**
 * Where a build works and writes: a staging directory inside the output directory (artifacts
 * are written there and moved to their real names only when every stage succeeded) and a work
 * directory for the rootfs (under $TMPDIR or /var/tmp). Made before the first stage, removed
 * after the last, whatever happened; what a build killed outright left behind is removed by
 * the next one.
 */
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { execa } from 'execa';
import { mountsBelow, processesIn, processExists } from '../host/proc.js';
import { UserError } from '../lib/errors.js';
import { processRuns } from '../lib/process-exists.js';
import { BUILD_STAGING_PREFIX } from '../release/artifacts.js';

export interface Workspace {
  /** The output directory the user asked for. */
  finalOutDir: string;
  /** Where stages write artifacts, inside finalOutDir. */
  stagingDir: string;
  /** Scratch directory of this build (the rootfs is made below it). */
  workDir: string;
  /** File name stem of the artifacts. */
  artifactBase: string;
}

export interface WorkspaceRequest {
  /** Output directory, absolute. */
  outDir: string;
  /** Parent of the work directory as given (relative to `cwd`); default $TMPDIR or /var/tmp. */
  workdirParent?: string;
  cwd: string;
  /** File name stem of the artifacts; names the staging and work directories too. */
  artifactBase: string;
  /** Progress lines (what was swept). */
  log: (line: string) => void;
}

/** Staging directories left by builds that were killed outright (SIGKILL, power loss). */
async function removeStaleStaging(outDir: string, artifactBase: string): Promise<void> {
  const prefix = `${BUILD_STAGING_PREFIX}${artifactBase}-`;
  for (const name of await readdir(outDir).catch(() => [] as string[])) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (Number.isInteger(pid) && pid !== process.pid && processExists(pid)) continue; // a build running now
    await rm(join(outDir, name), { recursive: true, force: true });
  }
}

/**
 * Removes the work directory, but never through a mount: deleting a tree with the host's
 * /dev or /proc bound below it would delete the host's files.
 */
export async function removeWorkDir(workDir: string, log: (line: string) => void): Promise<void> {
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

/** Where work directories are made: the given parent (relative to `cwd`), else $TMPDIR, else /var/tmp. */
export function resolveWorkdirParent(workdirParent: string | undefined, cwd: string): string {
  if (workdirParent) return resolve(cwd, workdirParent);
  return process.env.TMPDIR && isAbsolute(process.env.TMPDIR) ? process.env.TMPDIR : '/var/tmp';
}

/**
 * A fresh scratch directory `<parent>/nspawn-jitsi-<name>-XXXXXX` marked with this process's
 * PID, so that a later build removes it (removeStaleWorkDirs) if this one is killed outright.
 */
export async function createOwnedWorkDir(parent: string, name: string): Promise<string> {
  const dir = await mkdtemp(join(parent, `${WORKDIR_PREFIX}${name}-`));
  await writeFile(join(dir, WORKDIR_OWNER), `${process.pid}\n`);
  return dir;
}

/** Makes the staging and work directories; on failure removes what it made and says which one failed. */
export async function createWorkspace(request: WorkspaceRequest): Promise<Workspace> {
  const finalOutDir = request.outDir;
  const stagingDir = join(finalOutDir, `${BUILD_STAGING_PREFIX}${request.artifactBase}-${process.pid}`);
  try {
    await mkdir(finalOutDir, { recursive: true });
    await removeStaleStaging(finalOutDir, request.artifactBase);
    await rm(stagingDir, { recursive: true, force: true });
    await mkdir(stagingDir, { mode: 0o755 });
  } catch (error) {
    throw new UserError(`cannot write to the output directory ${finalOutDir}: ${(error as Error).message}`);
  }
  const workdirParent = resolveWorkdirParent(request.workdirParent, request.cwd);
  try {
    await mkdir(workdirParent, { recursive: true });
    // What builds killed outright left (hundreds of MB each): nobody else would ever remove it.
    await removeStaleWorkDirs(workdirParent, request.log);
    const workDir = await createOwnedWorkDir(workdirParent, request.artifactBase);
    return { finalOutDir, stagingDir, workDir, artifactBase: request.artifactBase };
  } catch (error) {
    await rm(stagingDir, { recursive: true, force: true });
    throw new UserError(`cannot create the work directory under ${workdirParent}: ${(error as Error).message}`);
  }
}

/** Moves the staged artifacts to their real names in the output directory; returns the new paths. */
export async function publishArtifacts(workspace: Workspace, artifacts: readonly string[]): Promise<string[]> {
  const published: string[] = [];
  for (const artifact of artifacts) {
    const destination = join(workspace.finalOutDir, artifact.slice(workspace.stagingDir.length + 1));
    await rename(artifact, destination);
    published.push(destination);
  }
  return published;
}

export async function removeStagingDir(workspace: Workspace): Promise<void> {
  await rm(workspace.stagingDir, { recursive: true, force: true });
}
