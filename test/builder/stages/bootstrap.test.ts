/**
 * The bootstrap's two layers: the base (mmdebstrap's one solve) is the same for every init
 * system of a recipe, so `--init all` bootstraps it once and the second image starts from the
 * cached base; only the init system's own packages differ.
 */
import test from 'ava';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../../src/builder/pipeline.js';
import { resolveRecipe } from '../../../src/builder/recipe/load.js';
import { bootstrapLayers } from '../../../src/builder/stages/bootstrap.js';
import { INIT_SYSTEMS } from '../../../src/lib/init-systems.js';

for (const suite of ['bookworm', 'trixie']) {
  test(`${suite}: one base for every init system, each init's packages on top`, async (t) => {
    const file = join(PROJECT_ROOT, 'recipes', `debian-${suite}.yaml`);
    const layers = [];
    for (const init of INIT_SYSTEMS) {
      const recipe = await resolveRecipe(file, { projectRoot: PROJECT_ROOT, init });
      const layer = bootstrapLayers(recipe, 'amd64');
      // Together the layers install exactly the recipe's packages, each once.
      t.deepEqual([...layer.base, ...layer.init].sort(), [...recipe.packages].sort(), init);
      t.true(layer.init.length > 0, `${init} has packages of its own`);
      for (const name of layer.init) t.false(layer.base.includes(name), `${name} is ${init}'s, not the base's`);
      t.false(layer.baseArgs.some((arg) => layer.init.some((name) => arg.includes(name))), `the base's mmdebstrap arguments name none of ${init}'s packages`);
      layers.push({ system: init, ...layer });
    }
    const [first, ...others] = layers;
    for (const other of others) {
      // The same arguments give the same bootstrap cache key: the second init finds the first's base.
      t.deepEqual(other.baseArgs, first!.baseArgs, `${other.system} and ${first!.system} share the base`);
      t.deepEqual(other.base, first!.base);
      // The whole trees are keyed apart.
      t.notDeepEqual(other.keyArgs, first!.keyArgs);
    }
    const initPackages = layers.flatMap((layer) => layer.init);
    t.is(new Set(initPackages).size, initPackages.length, 'no package is in the layers of two init systems');
  });
}

test('without init-specific packages the base is the whole tree', async (t) => {
  const file = join(PROJECT_ROOT, 'recipes', 'debian-bookworm.yaml');
  const recipe = await resolveRecipe(file, { projectRoot: PROJECT_ROOT, init: 'systemd' });
  const layer = bootstrapLayers({ ...recipe, initPackages: [] }, 'arm64');
  t.deepEqual(layer.base, recipe.packages);
  t.deepEqual(layer.init, []);
  t.deepEqual(layer.keyArgs, layer.baseArgs);
  t.true(layer.baseArgs.includes('--architectures=arm64'));
});
