/**
 * Small readers of /proc used to find and watch processes from the host (a container's, a
 * stale build's, the test image lock's holder). They work by PID only: nothing here ever
 * matches processes by name.
 */
import { processRuns } from '../lib/process-exists.js';
import { open, readdir, readFile, readlink, type FileHandle } from 'node:fs/promises';

export interface ProcStatus {
  pid: number;
  ppid: number;
  /** PIDs of the process in each nested PID namespace, outermost first (`NSpid:`). */
  nsPids: number[];
  name: string;
  /** Single-letter state from `State:`; `Z` is a zombie. */
  state: string;
}

export async function readStatus(pid: number): Promise<ProcStatus | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string) => text.match(new RegExp(`^${name}:\\s*(.*)$`, 'm'))?.[1] ?? '';
  return {
    pid,
    ppid: Number(field('PPid')),
    nsPids: field('NSpid').split(/\s+/).filter(Boolean).map(Number),
    name: field('Name'),
    state: field('State').charAt(0),
  };
}

/** True while the process exists and is not a zombie waiting to be reaped (the same test as the configurator's run lock). */
export async function isAlive(pid: number): Promise<boolean> {
  return processRuns(pid);
}

/** Numeric entries of /proc: every process visible to us. */
export async function allPids(): Promise<number[]> {
  return (await readdir('/proc')).filter((entry) => /^[0-9]+$/.test(entry)).map(Number);
}

/**
 * The process among `parent`'s children that is PID 1 of a PID namespace nested one level below
 * ours: systemd-nspawn's container init.
 */
export async function findNamespaceInitChild(parent: number): Promise<number | undefined> {
  for (const pid of await allPids()) {
    const status = await readStatus(pid);
    if (status && status.ppid === parent && status.nsPids.length >= 2 && status.nsPids.at(-1) === 1) return pid;
  }
  return undefined;
}

/** Identity of a process's PID namespace (`pid:[4026532...]`), or undefined when it is gone. */
export async function pidNamespaceOf(pid: number): Promise<string | undefined> {
  try {
    return await readlink(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

/**
 * A PID namespace held open: its id (`pid:[4026532xxx]`, as /proc/<pid>/ns/pid reads) stays
 * this namespace's for as long as the handle is open. The kernel reuses the id of a namespace
 * that ended at once (a fresh `unshare --pid` often gets the same one), so a sweep by id after
 * the namespace ended would find, and kill, the processes of someone else's new namespace.
 */
export interface HeldPidNamespace {
  id: string;
  release(): Promise<void>;
}

/** Holds the PID namespace `pid` is in; undefined when the process is gone. */
export async function holdPidNamespace(pid: number): Promise<HeldPidNamespace | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(`/proc/${pid}/ns/pid`, 'r');
  } catch {
    return undefined;
  }
  // The id from the open handle itself, not a second look at /proc/<pid> (which may be a new process by then).
  const { ino } = await handle.stat();
  let released = false;
  return {
    id: `pid:[${ino}]`,
    async release() {
      if (released) return;
      released = true;
      await handle.close();
    },
  };
}

/** Every process whose PID namespace is `namespace`: what is still running inside a container. */
export async function pidsInNamespace(namespace: string): Promise<number[]> {
  const found: number[] = [];
  for (const pid of await allPids()) {
    if ((await pidNamespaceOf(pid)) === namespace) found.push(pid);
  }
  return found;
}

/**
 * Whether a process with this PID exists (signal 0 delivers nothing, it only checks). EPERM
 * means it exists but belongs to someone else. A zombie counts as existing; `isAlive` is the
 * stricter check for processes we wait to end.
 */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
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

/** Children of a process (`/proc/<pid>/task/<pid>/children`); undefined when it is gone. */
export async function childrenOf(pid: number): Promise<number[] | undefined> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => undefined);
  return text?.trim().split(' ').filter(Boolean).map(Number);
}

/** Processes of the PID namespace `namespace` that have not ended (zombies excluded). */
export async function livePidsInNamespace(namespace: string): Promise<number[]> {
  const live: number[] = [];
  for (const pid of await pidsInNamespace(namespace)) if (await isAlive(pid)) live.push(pid);
  return live;
}
