/**
 * Temporary directories for one test file, all removed after its last test (pass the file's
 * `test` so the hook belongs to that file).
 */
import type { TestFn } from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function scratchDirectories(test: TestFn): (prefix: string) => Promise<string> {
  const dirs: string[] = [];
  test.after.always(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  return async (prefix) => {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}
