import test from 'ava';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { servicesOff, startLinks } from '../../../src/builder/stages/disable-services.js';
import type { JitsiSource } from '../../../src/builder/jitsi-repository.js';
import type { ResolvedRecipe } from '../../../src/builder/recipe/schema.js';
import { scratchDir } from '../../helpers/scratch.js';

/** An image where jicofo has only a sysv script, linked into the runlevels as insserv does. */
async function sysvRoot(): Promise<string> {
  const root = await scratchDir('services-sysv-');
  await mkdir(join(root, 'etc/init.d'), { recursive: true });
  await writeFile(join(root, 'etc/init.d/jicofo'), '#!/bin/sh\n', { mode: 0o755 });
  await writeFile(join(root, 'etc/init.d/jicofo-other'), '#!/bin/sh\n', { mode: 0o755 });
  for (const level of ['0', '1', '2', '3', '4', '5', '6', 'S']) await mkdir(join(root, `etc/rc${level}.d`), { recursive: true });
  return root;
}

test('under systemd, startLinks finds the S link of a sysv-only service (systemd starts it through its generator)', async (t) => {
  const root = await sysvRoot();
  await symlink('../init.d/jicofo', join(root, 'etc/rc2.d/S01jicofo'));
  t.deepEqual(await startLinks(root, 'systemd', 'jicofo'), ['etc/rc2.d/S01jicofo']);
  for (const level of ['3', '4', '5']) await symlink('../init.d/jicofo', join(root, `etc/rc${level}.d/S01jicofo`));
  t.deepEqual(await startLinks(root, 'systemd', 'jicofo'), ['etc/rc2.d/S01jicofo', 'etc/rc3.d/S01jicofo', 'etc/rc4.d/S01jicofo', 'etc/rc5.d/S01jicofo']);
});

test('under systemd, K links, other services whose name starts the same and halt/single-user levels are not start links', async (t) => {
  const root = await sysvRoot();
  await symlink('../init.d/jicofo', join(root, 'etc/rc2.d/K01jicofo'));
  await symlink('../init.d/jicofo-other', join(root, 'etc/rc2.d/S01jicofo-other'));
  await symlink('../init.d/jicofo', join(root, 'etc/rc0.d/K01jicofo'));
  await symlink('../init.d/jicofo', join(root, 'etc/rc6.d/K01jicofo'));
  t.deepEqual(await startLinks(root, 'systemd', 'jicofo'), []);
  t.deepEqual(await startLinks(root, 'systemd', 'jicofo-other'), ['etc/rc2.d/S01jicofo-other']);
  t.deepEqual(await startLinks(root, 'systemd', 'other'), [], 'a name that ends a longer one');
  // Any order number.
  await symlink('../init.d/jicofo', join(root, 'etc/rc3.d/S02jicofo'));
  t.deepEqual(await startLinks(root, 'systemd', 'jicofo'), ['etc/rc3.d/S02jicofo']);
});

test('under systemd, a unit link and the S link of the same service are both reported; an image without rc directories has none', async (t) => {
  const root = await sysvRoot();
  await mkdir(join(root, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
  await symlink('/lib/systemd/system/jicofo.service', join(root, 'etc/systemd/system/multi-user.target.wants/jicofo.service'));
  await symlink('../init.d/jicofo', join(root, 'etc/rc5.d/S01jicofo'));
  t.deepEqual(await startLinks(root, 'systemd', 'jicofo'), ['etc/systemd/system/multi-user.target.wants/jicofo.service', 'etc/rc5.d/S01jicofo']);
  t.deepEqual(await startLinks(await scratchDir('services-empty-'), 'systemd', 'jicofo'), []);
});

test("services-off is the recipe's and, when the build installs Jitsi's packages, theirs, once each", (t) => {
  const recipe = { servicesOff: ['nginx', 'prosody', 'coturn', 'jicofo'] } as ResolvedRecipe;
  const jitsi = { servicesOff: ['jicofo', 'jitsi-videobridge2'] } as JitsiSource;
  t.deepEqual(servicesOff({ recipe, jitsi }), ['nginx', 'prosody', 'coturn', 'jicofo', 'jitsi-videobridge2']);
  t.deepEqual(servicesOff({ recipe }), ['nginx', 'prosody', 'coturn', 'jicofo']);
});
