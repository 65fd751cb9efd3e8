/**
 * One configurator at a time, and whatever a killed run leaves behind is cleaned up by the
 * next: a hostname change killed (SIGKILL) at points spread over the run converges on a plain
 * re-run, with no temporary file (one could hold the secrets) left anywhere.
 */
import test from 'ava';
import { execa } from 'execa';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireRunLock, LOCK_PATH } from '../../src/configurator/run-lock.js';
import { MAIN, runInProcess, TSX } from '../helpers/configurator-process.js';
import { scratchDir } from '../helpers/scratch.js';

/** The configurator as one node process (tsx as a loader, not as a wrapper process). */
function configurator(argv: string[]) {
  return execa(process.execPath, ['--import', 'tsx', MAIN, ...argv], { reject: false, env: { NODE_OPTIONS: '' } });
}

async function allFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.map((entry) => join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name)).sort();
}

test('a second run while one holds the lock is refused, naming the PID; a dead owner\'s lock is taken over', async (t) => {
  const root = await scratchDir('jmc-');
  const lock = join(root, LOCK_PATH);
  await mkdir(join(root, 'run'));
  // A live owner: this test's own parent-less sleep.
  const sleeper = execa('sleep', ['30']);
  t.teardown(() => {
    sleeper.kill('SIGKILL');
  });
  await writeFile(lock, `${sleeper.pid}\n`);
  const refused = await runInProcess(['--root', root, '--yes']);
  t.is(refused.code, 1);
  t.true(refused.stderr.includes(`another jitsi-meet-config is running (PID ${sleeper.pid}); wait until it has finished`), refused.stderr);
  t.regex(refused.stderr.trimEnd().split('\n').at(-1)!, /FAILED: nothing was changed/);
  t.false((await readdir(root)).includes('etc'));

  sleeper.kill('SIGKILL');
  await sleeper.catch(() => undefined);
  const takenOver = await runInProcess(['--root', root, '--yes']);
  t.is(takenOver.code, 0, takenOver.stderr);
  t.false((await readdir(join(root, 'run'))).includes('jitsi-meet-config.lock'), 'released at the end');

  // While this process holds the lock, a run in another process is refused.
  const release = acquireRunLock(lock, 'jitsi-meet-config');
  const other = await execa(TSX, [MAIN, '--root', root, '--yes'], { reject: false, env: { NODE_OPTIONS: '' } });
  t.is(other.exitCode, 1);
  t.true(String(other.stderr).includes(`another jitsi-meet-config is running (PID ${process.pid})`), String(other.stderr));
  release();
  t.false((await readdir(join(root, 'run'))).includes('jitsi-meet-config.lock'));
});

test('a hostname change killed at points spread over the run converges on a plain re-run, with no temporary file left', async (t) => {
  const root = await scratchDir('jmc-');
  const first = await runInProcess(['--root', root, '--yes']);
  t.is(first.code, 0, first.stderr);
  const answers = join(root, 'rename.yaml');
  await writeFile(answers, 'hostname: meet.jitsi.test\nexternal_ip: 10.0.0.5\n');
  // Kill points spread over the time one such run takes here (most of the start is node's).
  let runMs = Infinity;
  for (let i = 0; i < 2; i++) {
    // The shortest of two: the first pays for tsx's cold cache.
    const timed = Date.now();
    await configurator(['--root', root, '--answers', answers]);
    runMs = Math.min(runMs, Date.now() - timed);
  }
  let sawKilled = 0;
  for (const delayMs of [0.3, 0.45, 0.6, 0.75, 0.9].map((share) => Math.round(share * runMs))) {
    // Back to the old host first, so every kill interrupts a real change.
    const reset = await runInProcess(['--root', root, '--yes']);
    t.is(reset.code, 0, reset.stderr);
    const back = join(root, 'back.yaml');
    await writeFile(back, 'hostname: localhost\n');
    t.is((await runInProcess(['--root', root, '--answers', back])).code, 0);

    // node itself (not the tsx wrapper, which would leave its child running): the PID we kill is the run.
    const child = configurator(['--root', root, '--answers', answers]);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    child.kill('SIGKILL');
    const result = await child;
    if (result.exitCode !== 0) sawKilled++;

    const repaired = await runInProcess(['--root', root, '--answers', answers]);
    t.is(repaired.code, 0, `after a kill at ${delayMs} ms: ${repaired.stderr}`);
    const files = await allFiles(root);
    t.deepEqual(files.filter((path) => /\/\.[0-9a-f]{12}\.(tmp|link)$|\/\.tls-/.test(path)), [], `leftovers after a kill at ${delayMs} ms`);
    t.false(files.includes(join(root, 'etc/jitsi/meet/localhost-config.js')), `old host's config.js gone (kill at ${delayMs} ms)`);
    t.true(files.includes(join(root, 'etc/jitsi/meet/meet.jitsi.test-config.js')));
    const again = await runInProcess(['--root', root, '--answers', answers]);
    t.regex(again.stdout, /^0 file\(s\) written, \d+ unchanged, 0 removed/m, `converged (kill at ${delayMs} ms)`);
    t.true((await readFile(join(root, 'etc/jitsi/master-config.yaml'), 'utf8')).includes('hostname: meet.jitsi.test'));
  }
  t.log(`a run takes ${runMs} ms; ${sawKilled} of 5 runs were killed before they finished`);
  t.true(sawKilled >= 1, 'at least one kill landed inside a run');
});
