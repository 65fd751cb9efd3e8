/**
 * Whether a process runs: it exists (signal 0 delivers nothing, it only checks; EPERM means
 * it belongs to someone else) and is not a zombie. A killed process whose parent has not
 * reaped it yet holds nothing any more (no lock, no directory), though signal 0 still finds
 * it. Used by the configurator's run lock (it ships in the image) and the build's sweep of
 * work directories left by killed builds.
 */
import { readFileSync } from 'node:fs';

export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
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
