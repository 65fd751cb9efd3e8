/** Every recipe shipped under recipes/ loads, for every init system. */
import test from 'ava';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { INIT_SYSTEMS } from '../../../src/lib/init-systems.js';
import { PROJECT_ROOT } from '../../../src/builder/pipeline.js';
import { recipePathFor, resolveRecipe } from '../../../src/builder/recipe/load.js';
import { portageConfigFiles } from '../../../src/builder/gentoo/portage-config.js';
import { emergePlan } from '../../../src/builder/gentoo/emerge-plan.js';
import { ARCHITECTURES } from '../../../src/host/emulation.js';

test('every recipe under recipes/ loads for every init system, and is named <distro>-<suite>.yaml', async (t) => {
  const files = (await readdir(join(PROJECT_ROOT, 'recipes'))).filter((name) => name.endsWith('.yaml'));
  t.true(files.includes('debian-bookworm.yaml') && files.includes('gentoo-23.0.yaml'), files.join(', '));
  for (const name of files) {
    for (const init of INIT_SYSTEMS) {
      const recipe = await resolveRecipe(join(PROJECT_ROOT, 'recipes', name), { projectRoot: PROJECT_ROOT, init });
      t.is(recipePathFor(PROJECT_ROOT, recipe.distro, recipe.suite), join(PROJECT_ROOT, 'recipes', name), `${name} is found by --distro ${recipe.distro} --suite ${recipe.suite}`);
      t.true(recipe.overlays.length > 0, `${name} (${init}) has overlays`);
    }
  }
});

test("the gentoo recipe: Jitsi's section shared with Debian, Gentoo's atoms per init, portage's files and plan", async (t) => {
  const file = join(PROJECT_ROOT, 'recipes', 'gentoo-23.0.yaml');
  const debian = await resolveRecipe(join(PROJECT_ROOT, 'recipes', 'debian-bookworm.yaml'), { projectRoot: PROJECT_ROOT, init: 'systemd' });
  for (const init of INIT_SYSTEMS) {
    const recipe = await resolveRecipe(file, { projectRoot: PROJECT_ROOT, init });
    t.is(recipe.distro, 'gentoo');
    t.deepEqual(recipe.packages, [], 'no Debian package names');
    t.deepEqual(recipe.jitsi, debian.jitsi, "the same Jitsi repository, key and packages as Debian's");
    // The trees every distribution shares (image-policy.yaml), then Gentoo's own; none of Debian's.
    const trees = init === 'systemd' ? ['common', 'systemd', 'gentoo', 'gentoo-systemd'] : ['common', 'openrc', 'gentoo', 'gentoo-openrc', 'openrc-native'];
    t.deepEqual(recipe.overlays, trees.map((tree) => join(PROJECT_ROOT, 'overlays', tree)));
    const debianTrees = (await resolveRecipe(join(PROJECT_ROOT, 'recipes', 'debian-bookworm.yaml'), { projectRoot: PROJECT_ROOT, init })).overlays.filter((dir) => !recipe.overlays.includes(dir));
    t.deepEqual(debianTrees.map((dir) => dir.slice(join(PROJECT_ROOT, 'overlays').length + 1)), init === 'systemd' ? ['debian'] : ['debian', 'debian-openrc']);
    for (const step of ['portage-gnupg', 'portage-distfiles', 'machine-id', 'logs'] as const) t.true(recipe.cleanup.includes(step), step);
    const plan = emergePlan({ gentoo: recipe.gentoo!, init, jobs: 2 });
    for (const atom of ['www-servers/nginx', 'net-im/prosody', 'net-im/coturn', 'dev-java/openjdk-bin:21', 'net-libs/nodejs', 'app-crypt/certbot']) t.true(plan.atoms.includes(atom), atom);
    t.is(plan.atoms.includes('sys-process/cronie'), init === 'openrc');
    t.is(plan.atoms.includes('sys-apps/dbus'), init === 'systemd');
    // coturn's ebuild names its service turnserver for OpenRC and coturn for systemd.
    t.deepEqual(recipe.servicesOff, ['nginx', 'prosody', init === 'systemd' ? 'coturn' : 'turnserver']);
    for (const architecture of ARCHITECTURES) {
      const files = new Map(portageConfigFiles({ gentoo: recipe.gentoo!, suite: recipe.suite, init, architecture }).map((f) => [f.path, f.text]));
      t.regex(files.get('etc/portage/package.accept_keywords/nspawn-jitsi')!, /^net-im\/coturn$/m);
      t.is(/^net-im\/prosody$/m.test(files.get('etc/portage/package.accept_keywords/nspawn-jitsi')!), architecture === 'arm64');
      t.regex(files.get('etc/portage/package.use/nspawn-jitsi')!, /^net-im\/prosody LUA_SINGLE_TARGET: -\* lua5-4$/m);
      // The site's `listen ... ssl http2` needs nginx's http_v2 module, off unless asked for;
      // nginx requires mime-types[nginx] (our nginx.conf includes its file).
      t.regex(files.get('etc/portage/package.use/nspawn-jitsi')!, /^www-servers\/nginx nginx_modules_http_v2$/m);
      t.regex(files.get('etc/portage/package.use/nspawn-jitsi')!, /^app-misc\/mime-types nginx$/m);
      t.regex(files.get('etc/portage/binrepos.conf/gentoobinhost.conf')!, new RegExp(`^sync-uri = https://distfiles\\.gentoo\\.org/releases/${architecture}/binpackages/23\\.0/${architecture === 'amd64' ? 'x86-64' : 'arm64'}$`, 'm'));
    }
  }
});
