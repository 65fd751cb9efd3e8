/**
 * One configurator at a time. Two runs with different answers at once would each write half
 * of their files (one of three such races left a server no re-run could repair). The lock is
 * a file holding the owner's PID in /run (gone after a reboot); a lock whose PID no longer
 * runs is stale (the run was killed) and is taken over.
 */
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { processRuns } from '../lib/process-exists.js';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { UserError } from '../lib/errors.js';

export const LOCK_PATH = '/run/jitsi-meet-config.lock';

/** Takes the lock at `path` for this process; throws a UserError naming the live owner. Returns the release function. */
export function acquireRunLock(path: string, program: string): () => void {
  // /run always exists on a real system; under a test root it may not, and is removed again.
  const createdDir = mkdirSync(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        // Only our own lock: a takeover may have replaced it after we were thought dead.
        const owner = Number(readFileSync(path, 'utf8').trim());
        if (owner === process.pid) rmSync(path, { force: true });
        if (createdDir) rmSync(createdDir, { recursive: true, force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number(readFileSync(path, 'utf8').trim() || '0');
    if (owner > 0 && owner !== process.pid && processRuns(owner)) {
      throw new UserError(`another ${program} is running (PID ${owner}); wait until it has finished, then run it again`);
    }
    // Stale (its run was killed): replace it atomically, then try again from the top.
    const aside = join(dirname(path), `.${randomBytes(6).toString('hex')}.stale-lock`);
    try {
      renameSync(path, aside);
      rmSync(aside, { force: true });
    } catch {
      // Someone else took it over first; the next attempt sees theirs.
    }
  }
  throw new UserError(`cannot take the lock ${path}: remove it if no ${program} is running`);
}
