import test from 'ava';
import { BUILD_CHOICES, BUILD_DEFAULTS, LEVEL_BOUNDS } from '../../src/builder/build-options.js';
import { buildCommand } from '../../src/cli/commands/build.js';
import { helpText, parseArgs, UsageError, type CommandSpec } from '../../src/cli/options.js';

const spec: CommandSpec = {
  name: 'demo',
  summary: 'A command for the tests.',
  options: [
    { name: 'init', type: 'choice', choices: ['systemd', 'openrc'], required: true, valueName: 'INIT', doc: 'Init system.' },
    { name: 'level', type: 'integer', min: 0, max: 9, valueName: 'N', doc: 'A level.' },
    { name: 'out', type: 'path', default: 'dist/', valueName: 'DIR', doc: 'Where.' },
    { name: 'verbose', type: 'boolean', doc: 'Talk.' },
  ],
  positionals: [{ name: 'TARBALL', doc: 'An image.', required: true }],
  takesRest: 'CMD...',
  run: async () => 0,
};

test('values, defaults, positionals and the words after -- are parsed', (t) => {
  const parsed = parseArgs(spec, ['--init', 'openrc', '--level=3', 'image.tar', '--verbose', '--', 'ls', '--all']);
  t.deepEqual(parsed.options, { init: 'openrc', level: 3, out: 'dist/', verbose: true });
  t.deepEqual(parsed.positionals, ['image.tar']);
  t.deepEqual(parsed.rest, ['ls', '--all']);
  t.is(parseArgs(spec, ['--init', 'systemd', '--no-verbose', 'x']).options.verbose, false);
});

test('bad command lines are UsageErrors that say what is accepted', (t) => {
  const refused = (argv: string[], message: RegExp) => t.throws(() => parseArgs(spec, argv), { instanceOf: UsageError, message });
  refused(['x'], /--init is required \(one of systemd, openrc\)/);
  refused(['--init', 'runit', 'x'], /--init must be one of systemd, openrc, not 'runit'/);
  refused(['--init', 'openrc', '--level', '10', 'x'], /--level must be an integer 0\.\.9, not 10/);
  refused(['--init', 'openrc', '--level', 'high', 'x'], /--level must be an integer, not 'high'/);
  refused(['--init', 'openrc', '--level'], /--level needs a value/);
  refused(['--init', 'openrc', '--out', '--verbose', 'x'], /--out needs a value/);
  refused(['--init', 'openrc', '--out=', 'x'], /--out needs a non-empty value/);
  refused(['--init', 'openrc', '--verbose=yes', 'x'], /--verbose takes no value/);
  refused(['--init', 'openrc', '--colour', 'x'], /unknown option --colour for 'demo'/);
  refused(['--init', 'openrc'], /missing TARBALL/);
  refused(['--init', 'openrc', 'a', 'b'], /unexpected argument 'b'/);
  t.throws(() => parseArgs({ ...spec, takesRest: undefined }, ['--init', 'openrc', 'x', '--', 'ls']), { message: /takes no arguments after --/ });
});

test('the help text comes from the same table', (t) => {
  const help = helpText('nspawn-jitsi', spec);
  t.true(help.startsWith('Usage: nspawn-jitsi demo [options] TARBALL [-- CMD...]\n'));
  t.regex(help, /--init INIT +Init system\. One of: systemd, openrc\. Required\./);
  t.regex(help, /--out DIR +Where\. Default: dist\//);
  t.regex(help, /--verbose +Talk\.\n/);
  t.regex(help, /--help +Show this help and exit\./);
});

test('the build command takes its choices, defaults and level bounds from the build-option table', (t) => {
  const option = (name: string) => buildCommand.options.find((entry) => entry.name === name)!;
  t.deepEqual(option('init').choices, BUILD_CHOICES.init);
  t.deepEqual(option('distro').choices, BUILD_CHOICES.distro);
  t.deepEqual(option('compression').choices, BUILD_CHOICES.compression);
  t.is(option('compression').default, BUILD_DEFAULTS.compression);
  t.is(option('suite').default, undefined, 'the suite depends on the distribution');
  t.regex(option('suite').doc, /Default: bookworm for debian, 23\.0 for gentoo\./);
  t.deepEqual([option('level').min, option('level').max], [LEVEL_BOUNDS.min, LEVEL_BOUNDS.max]);
  t.deepEqual(LEVEL_BOUNDS, { min: 0, max: 19 });
});

test('build --distro takes debian and gentoo, and --gentoo-key a file', (t) => {
  t.is(parseArgs(buildCommand, ['--init', 'openrc', '--distro', 'gentoo', '--gentoo-key', 'keys.asc']).options['gentoo-key'], 'keys.asc');
  t.throws(() => parseArgs(buildCommand, ['--init', 'openrc', '--distro', 'arch']), { instanceOf: UsageError, message: /--distro must be one of debian, gentoo, not 'arch'/ });
});
