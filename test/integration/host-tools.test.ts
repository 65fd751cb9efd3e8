/** The machine the integration tests run on: they build real images, so every build tool must be there. */
import test from 'ava';
import { hostToolsFor } from '../../src/builder/stages/check-host-tools.js';
import { requireHostTools } from '../../src/host/tools.js';

test('this host has every tool a build needs (the build tests rely on it)', async (t) => {
  await t.notThrowsAsync(requireHostTools([...hostToolsFor('xz'), 'zstd']));
});
