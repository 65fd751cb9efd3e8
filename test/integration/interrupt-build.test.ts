/**
 * Ctrl-C in the middle of a real bootstrap: the build must stop, leave nothing in the output
 * or work directory, leave no mount and no process behind (checked by PID, on the processes
 * recorded while the bootstrap ran).
 */
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { access, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/builder/pipeline.js';
import { removeStaleWorkDirs } from '../../src/builder/workspace.js';
import { mountsBelow, processesIn } from '../../src/host/proc.js';
import { scratchDir } from '../helpers/scratch.js';

interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Start time in clock ticks since boot: tells a reused PID from the original. */
  start: string;
  command: string;
}

async function processTable(): Promise<ProcessInfo[]> {
  const table: ProcessInfo[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const close = stat.lastIndexOf(')');
    if (close === -1) continue;
    const fields = stat.slice(close + 2).split(' ');
    const command = (await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ').trim();
    table.push({ pid: Number(name), ppid: Number(fields[1]), start: fields[19], command });
  }
  return table;
}

function descendants(table: ProcessInfo[], root: number): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  const queue = [root];
  while (queue.length) {
    const parent = queue.shift()!;
    for (const p of table) if (p.ppid === parent) (found.push(p), queue.push(p.pid));
  }
  return found;
}

/** Still running: same PID and start time, and not a zombie (a zombie has ended; only its
 * exit status waits to be collected by whoever inherited it). */
async function stillRunning(p: ProcessInfo): Promise<boolean> {
  const stat = await readFile(`/proc/${p.pid}/stat`, 'utf8').catch(() => '');
  if (!stat) return false;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19] === p.start && fields[0] !== 'Z' && fields[0] !== 'X';
}

const exists = (path: string) => access(path).then(() => true, () => false);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A real build started and watched until apt/dpkg install packages into its rootfs. */
async function buildInMidBootstrap(t: ExecutionContext) {
  const out = await scratchDir('interrupt-out-', '/var/tmp');
  const work = await scratchDir('interrupt-work-', '/var/tmp');
  t.teardown(async () => {
    await rm(out, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });
  const env = { ...process.env };
  delete env.INIT_CWD;
  const build = execa(
    process.execPath,
    ['--import', 'tsx', join(PROJECT_ROOT, 'src/cli/main.ts'), 'build', '--init', 'systemd', '--out', out, '--workdir', work, '--compression', 'zstd', '--level', '1', '--plain', '--jitsi-source', 'none', '--no-cache'],
    { cwd: PROJECT_ROOT, env, extendEnv: false, reject: false, all: true },
  );

  // Wait until packages are being installed into the rootfs: mmdebstrap mounted /proc etc.
  // in its namespace and apt/dpkg run inside.
  const seen = new Map<string, ProcessInfo>();
  const deadline = Date.now() + 8 * 60_000;
  let midBootstrap = false;
  while (Date.now() < deadline && build.exitCode === null) {
    const family = descendants(await processTable(), build.pid!);
    for (const p of family) seen.set(`${p.pid}:${p.start}`, p);
    const workDirs = await readdir(work);
    const rootfs = workDirs.length ? join(work, workDirs[0], 'rootfs') : undefined;
    if (rootfs && (await exists(join(rootfs, 'var/lib/dpkg/status'))) && family.some((p) => /\b(apt-get|dpkg)\b/.test(p.command))) {
      midBootstrap = true;
      break;
    }
    await sleep(200);
  }
  t.true(midBootstrap, 'the bootstrap got to installing packages');
  for (const p of descendants(await processTable(), build.pid!)) seen.set(`${p.pid}:${p.start}`, p);
  t.true([...seen.values()].some((p) => p.command.includes('mmdebstrap')), 'mmdebstrap was among the recorded processes');
  return { build, seen, out, work };
}

async function stillRunningOf(seen: Map<string, ProcessInfo>): Promise<string[]> {
  const left: string[] = [];
  for (const p of seen.values()) if (await stillRunning(p)) left.push(`${p.pid} ${p.command}`);
  return left;
}

test.serial('SIGINT during the bootstrap: exit 130, no artifact, no work directory, no mount, no process', async (t) => {
  t.timeout(10 * 60_000);
  const { build, seen, out, work } = await buildInMidBootstrap(t);
  process.kill(build.pid!, 'SIGINT');
  const result = await build;
  t.is(result.exitCode, 130, result.all);
  t.regex(result.all ?? '', /SIGINT: stopping the build and cleaning up/);
  t.regex(result.all ?? '', /interrupted by SIGINT; nothing was written to the output directory/);

  t.deepEqual(await readdir(out), [], 'no artifact, no staging directory');
  t.deepEqual(await readdir(work), [], 'work directory removed');
  t.deepEqual(await mountsBelow(work), []);
  t.deepEqual(await processesIn(work), []);
  t.deepEqual(await stillRunningOf(seen), [], 'every process the build started has ended');
  t.true(seen.size > 3, `recorded ${seen.size} processes`);
});

test.serial('SIGKILL of the build (the OOM killer): its processes end with it, and the next build sweeps its work directory', async (t) => {
  t.timeout(10 * 60_000);
  const { build, seen, work } = await buildInMidBootstrap(t);
  const [workDir] = await readdir(work);
  process.kill(build.pid!, 'SIGKILL');
  await build;
  // The kernel delivers the parent-death signal at once; the namespace then dies with its PID 1.
  let left: string[] = [];
  for (let waited = 0; waited < 20_000; waited += 250) {
    left = await stillRunningOf(seen);
    if (left.length === 0) break;
    await sleep(250);
  }
  t.deepEqual(left, [], 'no process of the killed build runs on');
  t.deepEqual(await mountsBelow(work), [], 'nothing stays mounted');
  t.true(await exists(join(work, workDir, 'tmp')), "mmdebstrap's temporary files were in the work directory");

  // What the next build does first, before its own work starts.
  const lines: string[] = [];
  const removed = await removeStaleWorkDirs(work, (line) => lines.push(line));
  t.deepEqual(removed, [join(work, workDir)], lines.join('\n'));
  t.deepEqual(await readdir(work), [], 'the killed build\'s work directory is gone');
});
