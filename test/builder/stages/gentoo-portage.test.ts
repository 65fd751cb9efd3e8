import test from 'ava';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { gentooPortage } from '../../../src/builder/stages/gentoo-portage.js';
import { gentooStages, stages } from '../../../src/builder/stages/index.js';
import { resolveRecipe } from '../../../src/builder/recipe/load.js';
import { PROJECT_ROOT } from '../../../src/builder/pipeline.js';
import type { BuildContext } from '../../../src/builder/stage.js';
import { scratchDir } from '../../helpers/scratch.js';

test("in Gentoo's stage list, not Debian's; skipped for Debian recipes", async (t) => {
  t.false(stages.includes(gentooPortage));
  t.true(gentooStages.includes(gentooPortage));
  const debian = await resolveRecipe(join(PROJECT_ROOT, 'recipes/debian-bookworm.yaml'), { projectRoot: PROJECT_ROOT, init: 'systemd' });
  t.is(gentooPortage.skip!({ recipe: debian } as BuildContext), 'not a Gentoo image');
  const gentoo = await resolveRecipe(join(PROJECT_ROOT, 'recipes/gentoo-23.0.yaml'), { projectRoot: PROJECT_ROOT, init: 'systemd' });
  t.is(gentooPortage.skip!({ recipe: gentoo } as BuildContext), undefined);
});

test('a stage3 without the ebuild repository is refused before portage is configured or run', async (t) => {
  const rootfs = await scratchDir('gentoo-portage-stage-');
  await mkdir(join(rootfs, 'etc/portage'), { recursive: true });
  const recipe = await resolveRecipe(join(PROJECT_ROOT, 'recipes/gentoo-23.0.yaml'), { projectRoot: PROJECT_ROOT, init: 'openrc' });
  const ctx = { rootfs, recipe, init: 'openrc', architecture: 'amd64', log: () => undefined } as unknown as BuildContext;
  await t.throwsAsync(gentooPortage.run(ctx), { message: /var\/db\/repos\/gentoo holds no ebuild repository \(no profiles\/\): the verified snapshot must be unpacked there first/ });
  t.deepEqual(await readdir(join(rootfs, 'etc/portage')), []);
});
