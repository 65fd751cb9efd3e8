/**
 * runInRoot in a tiny root holding only the host's dash and the libraries it links: package
 * scripts inside must see a chroot (ischroot compares / with PID 1's root), or a script like
 * sysvinit-core's postinst treats the build as a live system, signals PID 1 and writes
 * /dev/initctl into the host's /dev.
 */
import test from 'ava';
import { execa } from 'execa';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { runInRoot } from '../../src/builder/in-root.js';
import type { BuildContext } from '../../src/builder/stage.js';
import { scratchDir } from '../helpers/scratch.js';

async function dashRoot(): Promise<string> {
  const root = await scratchDir('in-root-');
  for (const dir of ['bin', 'proc', 'dev', 'sys', 'run', 'tmp', 'etc']) await mkdir(join(root, dir), { recursive: true });
  await writeFile(join(root, 'etc/resolv.conf'), '');
  const dash = '/usr/bin/dash';
  const libraries = (await execa('ldd', [dash])).stdout.match(/\/\S+/g) ?? [];
  for (const file of [dash, ...libraries]) {
    await mkdir(join(root, dirname(file)), { recursive: true });
    await copyFile(file, join(root, file));
  }
  await copyFile(dash, join(root, 'bin/sh'));
  return root;
}

test('a program run in the root sees a chroot: PID 1 of its namespace is outside the root', async (t) => {
  if (process.getuid?.() !== 0) return t.pass('needs root (mount and chroot)');
  const root = await dashRoot();
  try {
    const ctx = { rootfs: root, signal: new AbortController().signal, sourceDateEpoch: 1, verbose: false, log: () => undefined } as unknown as BuildContext;
    // What ischroot(1) checks: is / the same directory as PID 1's root?
    const output = await runInRoot(ctx, ['/bin/sh', '-c', 'if [ / -ef /proc/1/root/ ]; then echo "not a chroot"; else echo chroot; fi']);
    t.is(output.trim(), 'chroot');
    // The program's exit status still decides.
    await t.throwsAsync(runInRoot(ctx, ['/bin/sh', '-c', 'exit 3']), { message: /exit code 3/ });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
