import test from 'ava';
import { BUILD_CHOICES, initsFor, parseArchitectureList } from '../../src/builder/build-options.js';
import { UserError } from '../../src/lib/errors.js';

test('--arch: one architecture or a list, each once, in the order given', (t) => {
  t.deepEqual(parseArchitectureList('arm64'), ['arm64']);
  t.deepEqual(parseArchitectureList('amd64, arm64,amd64'), ['amd64', 'arm64']);
  t.throws(() => parseArchitectureList('armhf'), { instanceOf: UserError, message: '--arch armhf: unknown architecture (images are built for amd64, arm64)' });
  t.throws(() => parseArchitectureList(' , '), { instanceOf: UserError, message: /--arch needs an architecture/ });
});

test('--init all builds every init system; the choices offer it', (t) => {
  t.deepEqual(initsFor('all'), ['systemd', 'openrc']);
  t.deepEqual(initsFor('openrc'), ['openrc']);
  t.throws(() => initsFor('runit'), { instanceOf: UserError, message: /--init runit: unknown init system \(systemd, openrc, all\)/ });
  t.deepEqual([...BUILD_CHOICES.init], ['systemd', 'openrc', 'all']);
});
