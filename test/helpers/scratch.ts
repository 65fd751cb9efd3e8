/**
 * The one way tests make temporary directories. Each is removed when the test process exits
 * (AVA runs every test file in a process of its own), however the test ended, so no test
 * leaves directories behind and none has to register its own teardown.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];
let registered = false;

/** A fresh directory `<parent>/<prefix><random>`; `parent` defaults to the system's temporary directory. */
export async function scratchDir(prefix: string, parent = tmpdir()): Promise<string> {
  if (!registered) {
    registered = true;
    process.once('exit', () => {
      for (const dir of made) rmSync(dir, { recursive: true, force: true });
    });
  }
  const dir = await mkdtemp(join(parent, prefix));
  made.push(dir);
  return dir;
}

/** Runs `body` in a fresh directory removed right after it: for loops that make many. */
export async function withScratchDir<T>(prefix: string, body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await scratchDir(prefix);
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
