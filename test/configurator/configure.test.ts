/**
 * The whole front end through the real apply step, on a temporary root (the apply step runs
 * with init `none` there: files only, no services). What this checks is the hand-over:
 * the master config that is written is the one applied, re-runs change nothing, rotation
 * reaches the generated files, and a hostname change tells the apply step the old host.
 */
import test from 'ava';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readMasterConfig } from '../../src/configurator/config-file.js';
import { MASTER_CONFIG_PATH } from '../../src/configurator/paths.js';
import { execa } from 'execa';
import { MAIN, runInProcess, TSX } from '../helpers/configurator-process.js';
import { scratchDir } from '../helpers/scratch.js';

const exists = (path: string) => access(path).then(() => true, () => false);

test('configure, re-run, rotate and rename through the apply step on a temporary root', async (t) => {
  const root = await scratchDir('jmc-');
  const jicofo = join(root, 'etc/jitsi/jicofo/jicofo.conf');

  const first = await runInProcess(['--root', root, '--yes']);
  t.is(first.code, 0, first.stdout + first.stderr);
  const config = (await readMasterConfig(join(root, MASTER_CONFIG_PATH)))!;
  t.true((await readFile(jicofo, 'utf8')).includes(config.secrets.focus_password), 'the applied config is the written one');
  t.true(await exists(join(root, 'etc/jitsi/meet/localhost-config.js')));

  const again = await runInProcess(['--root', root, '--yes']);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stdout, /is unchanged/);
  t.regex(again.stdout, /0 file\(s\) written/);

  const rotated = await runInProcess(['--root', root, '--rotate-secrets']);
  t.is(rotated.code, 0, rotated.stderr);
  const after = (await readMasterConfig(join(root, MASTER_CONFIG_PATH)))!;
  const jicofoText = await readFile(jicofo, 'utf8');
  t.true(jicofoText.includes(after.secrets.focus_password), 'new secret applied');
  t.false(jicofoText.includes(config.secrets.focus_password), 'old secret gone');

  const answers = join(root, 'rename.yaml');
  await writeFile(answers, 'hostname: meet.jitsi.test\nexternal_ip: 10.0.0.5\n');
  const renamed = await runInProcess(['--root', root, '--answers', answers]);
  t.is(renamed.code, 0, renamed.stdout + renamed.stderr);
  t.true(await exists(join(root, 'etc/jitsi/meet/meet.jitsi.test-config.js')));
  t.false(await exists(join(root, 'etc/jitsi/meet/localhost-config.js')), 'the old host\'s files are removed');
  t.deepEqual((await readMasterConfig(join(root, MASTER_CONFIG_PATH)))!.secrets, after.secrets, 'renaming keeps the secrets');
});

test('a full disk while applying is a clear error naming the path, and the next run with space repairs it', async (t) => {
  const root = await scratchDir('jmc-');
  const first = await runInProcess(['--root', root, '--yes']);
  t.is(first.code, 0, first.stderr);
  // A hostname change with /etc/jitsi/videobridge on a full 4 KiB tmpfs, in a mount namespace of its own.
  const answers = join(root, 'rename.yaml');
  await writeFile(answers, 'hostname: meet.jitsi.test\nexternal_ip: 10.0.0.5\n');
  const videobridge = join(root, 'etc/jitsi/videobridge');
  const script = [
    'set -e',
    `mount -t tmpfs -o size=4k tmpfs "${videobridge}"`,
    `dd if=/dev/zero of="${videobridge}/filler" bs=1k count=64 2>/dev/null || true`,
    `exec "$@"`,
  ].join('\n');
  const full = await execa('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', TSX, MAIN, '--root', root, '--answers', answers], { reject: false, env: { NODE_OPTIONS: '' } });
  t.is(full.exitCode, 1, String(full.stderr));
  const lines = String(full.stderr).trimEnd().split('\n');
  t.regex(lines.at(-2) ?? '', new RegExp(`^jitsi-meet-config: \\S+ ${root}/etc/jitsi/videobridge/\\S* failed: no space left on the device: free some space \\(ENOSPC\\); then run it again$`));
  t.regex(lines.at(-1) ?? '', /^jitsi-meet-config: FAILED: see the message above/);
  t.notRegex(String(full.stderr), /\n\s+at /, 'no stack trace');

  const repaired = await runInProcess(['--root', root, '--answers', answers]);
  t.is(repaired.code, 0, repaired.stderr);
  t.true(await exists(join(root, 'etc/jitsi/meet/meet.jitsi.test-config.js')));
  t.false(await exists(join(root, 'etc/jitsi/meet/localhost-config.js')));
});
