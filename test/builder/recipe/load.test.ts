import test from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { RecipeError, resolveRecipe } from '../../../src/builder/recipe/load.js';
import { PROJECT_ROOT } from '../../../src/builder/pipeline.js';
import { scratchDir } from '../../helpers/scratch.js';

/** A throw-away project root holding the given files (paths relative to it). */
async function project(files: Record<string, string>): Promise<string> {
  const root = await scratchDir('recipe-test-');
  await mkdir(join(root, 'overlays', 'common'), { recursive: true });
  await mkdir(join(root, 'overlays', 'systemd'), { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

test('the bookworm recipe: systemd and openrc package sets, JRE 17, shared parts merged', async (t) => {
  const file = join(PROJECT_ROOT, 'recipes', 'debian-bookworm.yaml');
  const systemd = await resolveRecipe(file, { projectRoot: PROJECT_ROOT, init: 'systemd' });
  const openrc = await resolveRecipe(file, { projectRoot: PROJECT_ROOT, init: 'openrc' });
  t.is(systemd.suite, 'bookworm');
  t.is(systemd.mirror, 'http://deb.debian.org/debian');
  t.is(systemd.variant, 'minbase');
  for (const name of ['systemd-sysv', 'dbus', 'nginx', 'prosody', 'lua-unbound', 'coturn', 'openjdk-17-jre-headless', 'nodejs', 'openssl', 'ca-certificates', 'certbot']) {
    t.true(systemd.packages.includes(name), name);
  }
  t.false(systemd.packages.includes('openrc'));
  t.true(openrc.packages.includes('openrc') && openrc.packages.includes('sysvinit-core'));
  t.false(openrc.packages.includes('systemd-sysv'));
  t.false(openrc.packages.includes('dbus'));
  // Debian's own trees (include/debian-base.yaml, included first), then the shared ones (image-policy.yaml).
  t.deepEqual(systemd.overlays, ['debian', 'common', 'systemd'].map((tree) => join(PROJECT_ROOT, 'overlays', tree)));
  t.deepEqual(openrc.overlays, ['debian', 'debian-openrc', 'common', 'openrc'].map((tree) => join(PROJECT_ROOT, 'overlays', tree)));
  t.deepEqual(systemd.servicesOff, ['nginx', 'prosody', 'coturn']);
  t.true(systemd.cleanup.includes('machine-id') && systemd.cleanup.includes('snakeoil-cert'));
  t.is(systemd.files.length, 5, "top file and four included parts");
  t.true(Number.isInteger(systemd.sourceDateEpoch));
});

test('the trixie recipe uses JRE 21 (trixie has no OpenJDK 17)', async (t) => {
  const recipe = await resolveRecipe(join(PROJECT_ROOT, 'recipes', 'debian-trixie.yaml'), { projectRoot: PROJECT_ROOT, init: 'systemd' });
  t.is(recipe.suite, 'trixie');
  t.true(recipe.packages.includes('openjdk-21-jre-headless'));
  t.false(recipe.packages.some((p) => p.startsWith('openjdk-17')));
});

test('services-off: a name, or { service, init?, why? } kept for one init system; errors name the file and line', async (t) => {
  const root = await project({
    'recipes/part.yaml': 'base: { suite: bookworm }\nservices-off: [nginx, { service: coturn, init: systemd }]\n',
    'recipes/top.yaml': [
      'include: [part.yaml]',
      'services-off:',
      '  - prosody',
      '  - { service: turnserver, init: openrc, why: "coturn\'s OpenRC script" }',
      '  - { service: nginx, init: openrc }',
      '',
    ].join('\n'),
  });
  const systemd = await resolveRecipe(join(root, 'recipes/top.yaml'), { projectRoot: root, init: 'systemd' });
  t.deepEqual(systemd.servicesOff, ['nginx', 'coturn', 'prosody']);
  const openrc = await resolveRecipe(join(root, 'recipes/top.yaml'), { projectRoot: root, init: 'openrc' });
  t.deepEqual(openrc.servicesOff, ['nginx', 'prosody', 'turnserver']);
  const badObject = await recipeError(t, { 'recipes/top.yaml': 'base: { suite: bookworm }\nservices-off:\n  - nginx\n  - { service: "a;b", init: systemd }\n' });
  t.regex(badObject, /^recipes\/top\.yaml:4: services-off\[1\]\.service: 'a;b' is not a service name/);
  const badInit = await recipeError(t, { 'recipes/top.yaml': 'base: { suite: bookworm }\nservices-off:\n  - { service: coturn, init: runit }\n' });
  t.regex(badInit, /^recipes\/top\.yaml:3: services-off\[0\]\.init: expected one of systemd, openrc/);
});

test('includes merge in order: lists appended without duplicates, the including file wins scalars', async (t) => {
  const root = await project({
    'recipes/part.yaml': 'base: { suite: bookworm, mirror: "http://a.example/debian" }\npackages: [{ name: nginx }, { name: dbus, init: systemd }]\ncleanup: [logs]\n',
    'recipes/top.yaml': 'include: [part.yaml]\nbase: { mirror: "http://b.example/debian" }\npackages: [{ name: nginx }, { name: openrc, init: openrc }]\ncleanup: [machine-id, logs]\n',
  });
  const systemd = await resolveRecipe(join(root, 'recipes/top.yaml'), { projectRoot: root, init: 'systemd' });
  t.is(systemd.mirror, 'http://b.example/debian');
  t.is(systemd.suite, 'bookworm');
  t.deepEqual(systemd.packages, ['nginx', 'dbus']);
  t.deepEqual(systemd.cleanup, ['machine-id', 'logs'], 'cleanup steps in the stage order, once each');
  const openrc = await resolveRecipe(join(root, 'recipes/top.yaml'), { projectRoot: root, init: 'openrc' });
  t.deepEqual(openrc.packages, ['nginx', 'openrc']);
});

async function recipeError(t: import('ava').ExecutionContext, files: Record<string, string>, top = 'recipes/top.yaml'): Promise<string> {
  const root = await project(files);
  const error = await t.throwsAsync(resolveRecipe(join(root, top), { projectRoot: root, init: 'systemd' }), { instanceOf: RecipeError });
  return error!.message.replaceAll(root + '/', '');
}

test('an unknown key in an included part names that part, its line and the key', async (t) => {
  const message = await recipeError(t, {
    'recipes/include/part.yaml': '# shared\npackages:\n  - { name: nginx }\npackges: []\n',
    'recipes/top.yaml': 'include: [include/part.yaml]\nbase: { suite: bookworm }\n',
  });
  t.regex(message, /^recipes\/include\/part\.yaml:4: packges: unknown key \(known keys here: include, description, base/);
});

test('wrong types and bad values name file, line and key, all at once', async (t) => {
  const message = await recipeError(t, {
    'recipes/top.yaml': [
      'base:',
      '  suite: bookworm',
      '  variant: tiny',
      'source-date-epoch: yesterday',
      'packages:',
      '  - { name: nginx, init: runit }',
      '  - { name: Bad_Name }',
      'cleanup: [machine-id, wipe-disk]',
      '',
    ].join('\n'),
  });
  const lines = message.split('\n');
  t.true(lines.some((l) => l.startsWith('recipes/top.yaml:3: base.variant: expected one of')), message);
  t.true(lines.includes('recipes/top.yaml:4: source-date-epoch: expected integer >= 0, got string "yesterday"'), message);
  t.true(lines.includes('recipes/top.yaml:6: packages[0].init: expected one of systemd, openrc, got string "runit"'), message);
  t.true(lines.some((l) => l.startsWith("recipes/top.yaml:7: packages[1].name: 'Bad_Name' is not a Debian package name")), message);
  t.true(lines.some((l) => l.startsWith('recipes/top.yaml:8: cleanup[1]: expected one of machine-id')), message);
  t.is(lines.length, 5, message);
});

test('a missing include and an include cycle are refused with the line of the include', async (t) => {
  const missing = await recipeError(t, { 'recipes/top.yaml': 'base: { suite: bookworm }\ninclude:\n  - nowhere.yaml\n' });
  t.regex(missing, /^recipes\/top\.yaml:3: include\[0\]: included file .*recipes\/nowhere\.yaml does not exist$/);
  const cycle = await recipeError(t, {
    'recipes/a.yaml': 'include: [top.yaml]\n',
    'recipes/top.yaml': 'base: { suite: bookworm }\ninclude: [a.yaml]\n',
  });
  t.regex(cycle, /^recipes\/a\.yaml:1: include\[0\]: include cycle: .*top\.yaml -> .*a\.yaml -> .*top\.yaml$/);
});

test('overlays must exist below overlays/, suite must be set somewhere, YAML errors carry a line', async (t) => {
  const outside = await recipeError(t, { 'recipes/top.yaml': 'base: { suite: bookworm }\noverlays:\n  - path: ../../etc\n' });
  t.regex(outside, /^recipes\/top\.yaml:3: overlays\[0\]\.path: '\.\.\/\.\.\/etc' is not below overlays\//);
  const absent = await recipeError(t, { 'recipes/top.yaml': 'base: { suite: bookworm }\noverlays:\n  - { path: common }\n  - { path: gone }\n' });
  t.regex(absent, /^recipes\/top\.yaml:4: overlays\[1\]\.path: overlay directory .*overlays\/gone does not exist$/);
  const noSuite = await recipeError(t, { 'recipes/top.yaml': 'base:\n  mirror: "http://deb.debian.org/debian"\n' });
  t.regex(noSuite, /^recipes\/top\.yaml:1: base: base\.suite is not set/);
  const syntax = await recipeError(t, { 'recipes/top.yaml': 'base:\n  suite: [bookworm\n' });
  t.regex(syntax, /^recipes\/top\.yaml:\d+: not valid YAML/);
  const badService = await recipeError(t, { 'recipes/top.yaml': 'base: { suite: bookworm }\nservices-off: [nginx, "rm -rf"]\n' });
  t.regex(badService, /^recipes\/top\.yaml:2: services-off\[1\]: 'rm -rf' is not a service name$/);
});

test('Object.prototype names are unknown keys in a recipe too', async (t) => {
  const message = await recipeError(t, { 'recipes/top.yaml': 'base:\n  suite: bookworm\n  constructor: x\n__proto__: {packages: []}\n' });
  t.regex(message, /top\.yaml:3: base\.constructor: unknown key/);
  t.regex(message, /top\.yaml:4: __proto__: unknown key/);
});

test('an include that is not a recipe is refused without quoting its content, and must be a .yaml file', async (t) => {
  const secret = 'root:$y$j9T$secrethash:19000:0:99999:7:::';
  const notYaml = await recipeError(t, { 'recipes/top.yaml': 'include: [shadow.yaml]\nbase: { suite: bookworm }\n', 'recipes/shadow.yaml': `${secret}\n` });
  t.regex(notYaml, /recipes\/shadow\.yaml: not a recipe: expected a YAML mapping of recipe keys/);
  t.false(notYaml.includes('secrethash'), notYaml);
  const named = await recipeError(t, { 'recipes/top.yaml': 'include: [/etc/shadow]\nbase: { suite: bookworm }\n' });
  t.regex(named, /recipes\/top\.yaml:1: include\[0\]: '\/etc\/shadow' is not a recipe part: parts are \.yaml files/);
  t.false(named.includes('root:'), named);
});

test('an overlay path must name a directory below overlays/, not overlays/ itself', async (t) => {
  for (const path of ['""', '.', 'common/..']) {
    const message = await recipeError(t, { 'recipes/top.yaml': `base: { suite: bookworm }\noverlays:\n  - { path: ${path} }\n`, 'overlays/common/etc/x': 'x' });
    t.regex(message, /recipes\/top\.yaml:3: overlays\[0\]\.path: .* name a directory below overlays\//, path);
  }
});

test('a mirror URL is one URL: no whitespace or newline can reach mmdebstrap', async (t) => {
  for (const mirror of ['"http://deb.debian.org/debian\\nhttp://evil.example.org/"', '"http://deb.debian.org/debian --include=evil"', '"http://"']) {
    const message = await recipeError(t, { 'recipes/top.yaml': `base: { suite: bookworm, mirror: ${mirror} }\n` });
    t.regex(message, /recipes\/top\.yaml:1: base\.mirror: .* is not an http\(s\):\/\/ or file:\/\/ URL/, mirror);
  }
});

test('initPackages: the packages only this init system gets; one another part names for every init is shared', async (t) => {
  const root = await project({
    'recipes/part.yaml': 'base: { suite: bookworm }\npackages: [{ name: nginx }, { name: dbus, init: systemd }, { name: cron, init: openrc }]\n',
    'recipes/top.yaml': 'include: [part.yaml]\npackages: [{ name: cron }, { name: systemd-sysv, init: systemd }]\n',
  });
  const systemd = await resolveRecipe(join(root, 'recipes/top.yaml'), { projectRoot: root, init: 'systemd' });
  t.deepEqual(systemd.packages, ['nginx', 'dbus', 'cron', 'systemd-sysv']);
  t.deepEqual(systemd.initPackages, ['dbus', 'systemd-sysv']);
  const openrc = await resolveRecipe(join(root, 'recipes/top.yaml'), { projectRoot: root, init: 'openrc' });
  t.deepEqual(openrc.packages, ['nginx', 'cron']);
  t.deepEqual(openrc.initPackages, [], 'cron is named for every init by the top recipe');
});
