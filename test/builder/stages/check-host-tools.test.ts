import test from 'ava';
import { HOST_TOOLS } from '../../../src/host/tools.js';
import { hostToolsFor } from '../../../src/builder/stages/check-host-tools.js';

test('the tools a build needs depend on the compression, and each maps to a Debian package', (t) => {
  t.deepEqual(hostToolsFor('xz'), ['mmdebstrap', 'tar', 'unshare', 'chroot', 'dpkg-query', 'xz']);
  t.true(hostToolsFor('zstd').includes('zstd'));
  t.false(hostToolsFor('none').includes('xz'));
  for (const tool of hostToolsFor('zstd')) t.truthy(HOST_TOOLS[tool], tool);
});

test('a Gentoo build needs no mmdebstrap or dpkg-query, but dpkg-deb, shadow\'s tools and systemd-nspawn', (t) => {
  t.deepEqual(hostToolsFor('xz', 'gentoo'), ['tar', 'xz', 'dpkg-deb', 'groupadd', 'useradd', 'systemd-nspawn', 'unshare', 'chroot']);
  t.deepEqual(hostToolsFor('zstd', 'gentoo').slice(-1), ['zstd']);
  t.deepEqual(hostToolsFor('xz', 'debian'), hostToolsFor('xz'));
  for (const tool of hostToolsFor('zstd', 'gentoo')) t.truthy(HOST_TOOLS[tool], tool);
});
