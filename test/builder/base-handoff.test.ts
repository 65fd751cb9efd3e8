import test from 'ava';
import { execa } from 'execa';
import { chmod, chown, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createBaseHandoff } from '../../src/builder/base-handoff.js';
import { storeArgs } from '../../src/builder/bootstrap-cache.js';
import { scratchDir } from '../helpers/scratch.js';

/** A small tree stored the way the bootstrap cache stores one; returns the tarball. */
async function cachedTree(dir: string): Promise<string> {
  const tree = join(dir, 'tree');
  await mkdir(join(tree, 'etc'), { recursive: true });
  await writeFile(join(tree, 'etc/os-release'), 'ID=debian\n');
  await mkdir(join(tree, 'var/log/jitsi'), { recursive: true });
  await chown(join(tree, 'var/log/jitsi'), 999, 998);
  await chmod(join(tree, 'var/log/jitsi'), 0o750);
  const tarball = join(dir, 'base.tar.zst');
  await execa('tar', storeArgs(tree, tarball));
  return tarball;
}

async function setup() {
  const dir = await scratchDir('handoff-');
  const parent = join(dir, 'work');
  await mkdir(parent);
  const lines: string[] = [];
  const abort = new AbortController();
  const handoff = createBaseHandoff({ workdirParent: parent, signal: abort.signal });
  const log = (line: string) => lines.push(line);
  const rootfs = join(parent, 'next-rootfs');
  await mkdir(rootfs);
  return { dir, parent, lines, log, abort, handoff, rootfs, tarball: await cachedTree(dir) };
}

test('an offered base is unpacked ahead and claimed onto the next rootfs with owners and modes; nothing is left behind', async (t) => {
  const { parent, handoff, rootfs, tarball, lines, log } = await setup();
  handoff.portFor(true).offer!('k', tarball);
  t.true(await handoff.portFor(false).claim('k', rootfs, log));
  t.is(await readFile(join(rootfs, 'etc/os-release'), 'utf8'), 'ID=debian\n');
  const logDir = await stat(join(rootfs, 'var/log/jitsi'));
  t.deepEqual([logDir.uid, logDir.gid, logDir.mode & 0o7777], [999, 998, 0o750]);
  t.deepEqual(await readdir(parent), ['next-rootfs'], 'the scratch directory of the unpacking is gone');
  t.false(await handoff.portFor(false).claim('k', rootfs, log), 'claimed once only');
  t.deepEqual(lines, [], 'a successful claim says nothing itself (the stage logs)');
  await handoff.dispose();
});

test('a variant whose next one has another base cannot offer; another key finds nothing', async (t) => {
  const { handoff, rootfs, tarball, log } = await setup();
  t.is(handoff.portFor(false).offer, undefined);
  handoff.portFor(true).offer!('amd64-base', tarball);
  t.false(await handoff.portFor(false).claim('arm64-base', rootfs, log));
  t.deepEqual(await readdir(rootfs), [], 'the rootfs is untouched');
  await handoff.dispose();
});

test('a failed unpacking is reported and leaves the claim to the variant itself, with an empty rootfs', async (t) => {
  const { dir, parent, handoff, rootfs, lines, log } = await setup();
  handoff.portFor(true).offer!('k', join(dir, 'missing.tar.zst'));
  t.false(await handoff.portFor(false).claim('k', rootfs, log));
  t.deepEqual(await readdir(rootfs), []);
  t.deepEqual(await readdir(parent), ['next-rootfs']);
  t.true(lines.some((line) => /^unpacking the base ahead failed \(.*\); unpacking it now$/.test(line)), lines.join('\n'));
  await handoff.dispose();
});

test('what nobody claimed is removed when the release ends, and an aborted release unpacks nothing more', async (t) => {
  const { parent, handoff, tarball, abort, rootfs, log } = await setup();
  handoff.portFor(true).offer!('k', tarball);
  await handoff.dispose();
  t.deepEqual(await readdir(parent), ['next-rootfs']);
  abort.abort();
  handoff.portFor(true).offer!('k2', tarball);
  t.false(await handoff.portFor(false).claim('k2', rootfs, log));
  t.deepEqual(await readdir(parent), ['next-rootfs']);
});
