import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { scratchDir } from '../../helpers/scratch.js';

const main = join(import.meta.dirname, '../../../src/cli/main.ts');
const cli = (args: string[]) => execa(process.execPath, ['--import', 'tsx', main, 'run', ...args], { reject: false });

test('--help describes the arguments, options and exit code', async (t) => {
  const result = await cli(['--help']);
  t.is(result.exitCode, 0);
  for (const word of ['TARBALL', '--init', '--netns', '--settings', '--timeout', '--verbose', '-- CMD...', 'Exit code']) {
    t.true(result.stdout.includes(word), `${word} in:\n${result.stdout}`);
  }
});

test('bad input is refused before anything is booted, with exit 2', async (t) => {
  const dir = await scratchDir('run-cli-');
  const missing = await cli([join(dir, 'nope.tar.xz')]);
  t.is(missing.exitCode, 2);
  t.regex(missing.stderr, /nope\.tar\.xz is not a file/);
  const tarball = join(dir, 'debian-jitsi-systemd.tar');
  await writeFile(tarball, '');
  const netns = await cli(['--netns', 'no-such-netns-here', tarball]);
  t.is(netns.exitCode, 2);
  t.regex(netns.stderr, /network namespace 'no-such-netns-here' does not exist/);
  const settings = await cli(['--settings', join(dir, 'none.nspawn'), tarball]);
  t.is(settings.exitCode, 2);
  t.regex(settings.stderr, /settings file .* does not exist/);
  const init = await cli(['--init', 'runit', tarball]);
  t.is(init.exitCode, 2);
  t.regex(init.stderr, /--init must be one of systemd, openrc/);
});
