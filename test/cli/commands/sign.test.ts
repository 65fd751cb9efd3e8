/** sign (and verify of what it did not sign) as a user meets them. */
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cli } from '../../helpers/release-cli.js';
import { scratchDir } from '../../helpers/scratch.js';

test('sign with a wrong passphrase changes nothing and says so; verify names every failure', async (t) => {
  const work = await scratchDir('cli-sign-');
  await writeFile(join(work, 'pass'), 'the right passphrase\n');
  t.is((await cli(['keygen', '--name', 'CLI Test', '--email', 'cli@example.org', '--out', work, '--passphrase-file', join(work, 'pass')])).exitCode, 0);
  const dir = join(work, 'release');
  const { mkdir, readdir } = await import('node:fs/promises');
  await mkdir(dir);
  await writeFile(join(dir, 'img.tar.xz'), 'bytes');
  const wrong = await cli(['sign', '--key', join(work, 'cli-test.private.asc'), dir], { env: { NSPAWN_JITSI_PASSPHRASE: 'not it' } });
  t.is(wrong.exitCode, 1);
  t.regex(String(wrong.stderr), /cli-test\.private\.asc: wrong passphrase/);
  t.deepEqual(await readdir(dir), ['img.tar.xz']);
  const unsigned = await cli(['verify', '--key', join(work, 'cli-test.public.asc'), dir]);
  t.is(unsigned.exitCode, 1);
  t.regex(String(unsigned.stderr), /FAIL {2}SHA256SUMS: missing file/);
  t.regex(String(unsigned.stderr), /FAIL {2}img\.tar\.xz\.asc: missing file/);
  const help = await cli(['verify', '--help']);
  t.regex(String(help.stdout), /bad signature, unknown key, checksum mismatch, missing file, file\s+not listed/);
});
