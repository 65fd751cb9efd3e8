/**
 * Whether a process with this PID exists (signal 0 delivers nothing, it only checks). EPERM
 * means it exists but belongs to someone else. A zombie counts as existing; `processRuns` and
 * src/boot/proc.ts's `isAlive` are the stricter checks.
 */
import { readFileSync } from 'node:fs';

export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the process exists and is not a zombie: a killed process whose parent has not
 * reaped it yet holds nothing any more (no lock, no file), though signal 0 still finds it.
 */
export function processRuns(pid: number): boolean {
  if (!processExists(pid)) return false;
  let stat = '';
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // `pid (comm) S ...`: comm may hold spaces and parentheses, the state follows the last ')'.
  const end = stat.lastIndexOf(')');
  return stat.slice(end + 2, end + 3) !== 'Z';
}
