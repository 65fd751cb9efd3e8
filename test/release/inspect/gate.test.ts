import test from 'ava';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspectForRelease } from '../../../src/release/inspect/gate.js';
import { CLEAN_TREE, makeTree, packTree } from '../../helpers/image-trees.js';
import { scratchDir } from '../../helpers/scratch.js';

const scratch = (prefix: string) => scratchDir(prefix);

test('a report is reused while the tarball is unchanged, and never after it changed', async (t) => {
  const tarball = join(await scratch('inspect-gate-'), 'image.tar.zst');
  await copyFile(await packTree(await makeTree(CLEAN_TREE)), tarball);
  const lines: string[] = [];
  const first = await inspectForRelease([tarball], { log: (line) => lines.push(line) });
  t.deepEqual(first.failures, []);
  t.is(lines.at(-1), 'image.tar.zst: no errors');
  const again = await inspectForRelease([tarball]);
  t.is(again.reports[0], first.reports[0], 'the same report, not a second reading');
  // Rewritten in place (same inode): the earlier report must not vouch for the new content.
  const dirty = await packTree(await makeTree({ ...CLEAN_TREE, 'var/lib/systemd/random-seed': 'seed' }));
  await writeFile(tarball, await readFile(dirty));
  const changed = await inspectForRelease([tarball]);
  t.not(changed.reports[0], first.reports[0]);
  t.deepEqual(changed.failures, ['image.tar.zst: /var/lib/systemd/random-seed: systemd random seed: every container would start with the same entropy; remove it']);
});
