import test from 'ava';
import { nspawnRunArgs } from '../../../src/builder/gentoo/nspawn-run.js';

test('one plan command as systemd-nspawn arguments: the root, no registration, no user shift, the plan environment, then the command', (t) => {
  t.deepEqual(nspawnRunArgs({ root: '/var/tmp/work/rootfs', machine: 'nspawn-jitsi-build-42', env: { LC_ALL: 'C.UTF-8', MAKEOPTS: '-j2 -l2' }, argv: ['emerge', '--getbinpkg', 'net-im/coturn'] }), [
    '--quiet',
    '--directory=/var/tmp/work/rootfs',
    '--machine=nspawn-jitsi-build-42',
    '--as-pid2',
    '--register=no',
    '--keep-unit',
    '--private-users=no',
    '--resolv-conf=bind-host',
    '--timezone=off',
    '--link-journal=no',
    '--pipe',
    '--setenv=LC_ALL=C.UTF-8',
    '--setenv=MAKEOPTS=-j2 -l2',
    '--',
    'emerge',
    '--getbinpkg',
    'net-im/coturn',
  ]);
});

test('names that would change the command line are programming errors', (t) => {
  const ok = { root: '/r', machine: 'm', env: {}, argv: ['true'] };
  t.throws(() => nspawnRunArgs({ ...ok, machine: '--bind=/:/host' }), { message: /not a machine name/ });
  t.throws(() => nspawnRunArgs({ ...ok, env: { 'A=B': 'x' } }), { message: /not an environment variable name/ });
  t.throws(() => nspawnRunArgs({ ...ok, argv: [] }), { message: /no command/ });
});

test('the arguments are ones this host\'s systemd-nspawn knows', async (t) => {
  const { execa } = await import('execa');
  // systemd-nspawn is a host tool of this project (scripts/install-host-deps.sh: systemd-container).
  const help = (await execa('systemd-nspawn', ['--help'])).stdout;
  for (const arg of nspawnRunArgs({ root: '/r', machine: 'm', env: { A: 'b' }, argv: ['true'] })) {
    const option = /^(--[a-z0-9-]+)/.exec(arg)?.[1];
    if (option && option !== '--') t.true(help.includes(option), option);
  }
});
