import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { helpText, parseConfiguratorArgs, UsageError, VERSION } from '../../src/configurator/cli.js';
import { REPO, runInProcess, runProcess } from '../helpers/configurator-process.js';
import { scratchDir } from '../helpers/scratch.js';

test('options parse in both --flag VALUE and --flag=VALUE forms, with defaults', (t) => {
  t.like(parseConfiguratorArgs([]), { yes: false, show: false, rotateSecrets: false, noApply: false, root: '/', answers: undefined });
  t.like(parseConfiguratorArgs(['--answers', 'a.yaml', '--rotate-secrets', '--no-apply', '--root=/tmp/r', '--config', '/tmp/m.yaml']), {
    answers: 'a.yaml',
    rotateSecrets: true,
    noApply: true,
    root: '/tmp/r',
    config: '/tmp/m.yaml',
  });
  t.true(parseConfiguratorArgs(['-h']).help);
  t.like(parseConfiguratorArgs(['--reapply']), { reapply: true, aptHook: false });
  t.like(parseConfiguratorArgs(['--apt-hook', '--root', '/tmp/r']), { aptHook: true, root: '/tmp/r' });
});

test('bad command lines are usage errors naming the problem', (t) => {
  const cases: [string[], RegExp][] = [
    [['--frobnicate'], /unknown option --frobnicate/],
    [['answers.yaml'], /unexpected argument "answers\.yaml"/],
    [['--answers'], /--answers needs a value \(FILE\)/],
    [['--yes=1'], /--yes takes no value/],
    [['--show', '--yes'], /--show only prints/],
    [['--answers', 'a.yaml', '--yes'], /either --answers FILE or --yes/],
    [['--reapply', '--yes'], /--reapply applies the existing configuration as it is/],
    [['--reapply', '--rotate-secrets'], /--reapply applies the existing configuration as it is/],
    [['--reapply', '--no-apply'], /--reapply applies the existing configuration as it is/],
    [['--show', '--reapply'], /--show only prints/],
    [['--apt-hook', '--reapply'], /--apt-hook takes no other option but --root and --config/],
  ];
  for (const [argv, message] of cases) t.throws(() => parseConfiguratorArgs(argv), { instanceOf: UsageError, message }, argv.join(' '));
});

test('--help tells the truth: every visible option, no hidden testing options; exit codes 0 and 2', async (t) => {
  const help = helpText();
  for (const flag of ['--answers FILE', '--yes', '--reapply', '--show', '--rotate-secrets', '--no-apply', '--help', '--version']) t.true(help.includes(flag), flag);
  t.false(help.includes('--root'));
  t.false(help.includes('--apt-hook'), 'apt runs it, not the admin');
  t.false(help.includes('--config'));
  const shown = await runProcess(['--help']);
  t.is(shown.code, 0);
  t.is(shown.stdout, help);
  const bad = await runInProcess(['--bogus']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /unknown option --bogus\nRun 'jitsi-meet-config --help' for usage/);
});

test('--version matches package.json', async (t) => {
  const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string };
  t.is(VERSION, pkg.version);
  t.is((await runInProcess(['--version'])).stdout, `jitsi-meet-config ${pkg.version}\n`);
});

test('an invalid master config on disk is reported with file, line and key, and not overwritten', async (t) => {
  const root = await scratchDir('jmc-');
  const config = join(root, 'master.yaml');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(config, 'hostname: meet\n');
  const result = await runInProcess(['--root', root, '--config', config, '--yes', '--no-apply']);
  t.is(result.code, 1);
  t.regex(result.stderr, new RegExp(`${config}:1: hostname: "meet" is not a fully qualified`));
  t.is(await readFile(config, 'utf8'), 'hostname: meet\n');
});
