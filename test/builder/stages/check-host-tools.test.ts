import test from 'ava';
import { HOST_TOOLS } from '../../../src/host/tools.js';
import { hostToolsFor } from '../../../src/builder/stages/check-host-tools.js';

test('the tools a build needs depend on the compression, and each maps to a Debian package', (t) => {
  t.deepEqual(hostToolsFor('xz'), ['mmdebstrap', 'tar', 'unshare', 'chroot', 'dpkg-query', 'xz']);
  t.true(hostToolsFor('zstd').includes('zstd'));
  t.false(hostToolsFor('none').includes('xz'));
  for (const tool of hostToolsFor('zstd')) t.truthy(HOST_TOOLS[tool], tool);
});
