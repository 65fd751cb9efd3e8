/**
 * Whether a process with this PID exists (signal 0 delivers nothing, it only checks). EPERM
 * means it exists but belongs to someone else. A zombie counts as existing; src/boot/proc.ts's
 * `isAlive` is the stricter check for processes we wait to end.
 */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
