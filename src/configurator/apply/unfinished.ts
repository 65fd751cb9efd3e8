/**
 * Whether the services run what is on disk. A run writes files first and restarts the services
 * that read them afterwards; a run killed in between (or failing at a full disk, a refused
 * reload) leaves files on disk that no running service has read, and the next run finds them
 * already right, so nothing tells it to restart. The marker closes that gap: it is made before
 * the first change and removed once the services are up; a run that finds it restarts every
 * installed service, whatever it changed itself.
 */
import { access, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomically } from '../../lib/atomic-write.js';
import type { PlannedService } from '../components/types.js';
import { affectedServices } from './services.js';

export const APPLY_UNFINISHED = '/var/lib/jitsi-meet-config/apply-unfinished';

/**
 * Marks the apply under `root` as under way; returns whether an earlier one never finished
 * (its marker was still there).
 */
export async function beginApply(root: string): Promise<boolean> {
  const path = join(root, APPLY_UNFINISHED);
  const unfinished = await access(path).then(
    () => true,
    () => false,
  );
  if (!unfinished) {
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    await writeFileAtomically(path, 'a jitsi-meet-config run changed files here and has not brought the services up since\n', { mode: 0o644 });
  }
  return unfinished;
}

/** The services run what is on disk: the next run restarts only what it changes. */
export async function finishApply(root: string): Promise<void> {
  await rm(join(root, APPLY_UNFINISHED), { force: true });
}

/** What to restart: after an unfinished earlier run every installed service, else those whose inputs changed. */
export function servicesToRestart(installed: readonly PlannedService[], changedPaths: readonly string[], earlierUnfinished: boolean): PlannedService[] {
  return earlierUnfinished ? [...installed] : affectedServices(installed, changedPaths);
}
