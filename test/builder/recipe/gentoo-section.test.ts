import test, { type ExecutionContext } from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { RecipeError, resolveRecipe } from '../../../src/builder/recipe/load.js';
import { GENTOO_RELEASE_KEY, GENTOO_SNAPSHOT_KEY } from '../../../src/builder/recipe/schema.js';
import { normalizeFingerprint } from '../../../src/builder/openpgp-keys.js';
import { scratchDir } from '../../helpers/scratch.js';

async function project(files: Record<string, string>): Promise<string> {
  const root = await scratchDir('gentoo-recipe-test-');
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

async function resolved(files: Record<string, string>) {
  const root = await project(files);
  return { root, recipe: await resolveRecipe(join(root, 'recipes/top.yaml'), { projectRoot: root, init: 'openrc' }) };
}

async function recipeError(t: ExecutionContext, files: Record<string, string>): Promise<string> {
  const root = await project(files);
  const error = await t.throwsAsync(resolveRecipe(join(root, 'recipes/top.yaml'), { projectRoot: root, init: 'openrc' }), { instanceOf: RecipeError });
  return error!.message.replaceAll(root + '/', '');
}

test("an empty gentoo section takes Gentoo's mirror and pinned keys, and the latest snapshot", async (t) => {
  const { recipe } = await resolved({ 'recipes/top.yaml': 'base: { suite: bookworm }\ngentoo: {}\n' });
  t.deepEqual(JSON.parse(JSON.stringify(recipe.gentoo)), {
    mirror: 'https://distfiles.gentoo.org',
    'stage3-key-fingerprint': '13EB BDBE DE7A 1277 5DFD  B1BA BB57 2E0E 2D18 2910',
    'snapshot-key-fingerprint': 'DCD0 5B71 EAB9 4199 527F  44AC DB6B 8C1F 96D8 BF6D',
    'snapshot-date': 'latest',
    profile: {},
    packages: [],
    'package-use': [],
    'accept-keywords': [],
    'make-conf': [],
  });
  t.is(normalizeFingerprint(recipe.gentoo!['stage3-key-fingerprint']), GENTOO_RELEASE_KEY);
  t.is(normalizeFingerprint(recipe.gentoo!['snapshot-key-fingerprint']), GENTOO_SNAPSHOT_KEY);
  t.is(GENTOO_RELEASE_KEY, '13EBBDBEDE7A12775DFDB1BABB572E0E2D182910');
  t.is(GENTOO_SNAPSHOT_KEY, 'DCD05B71EAB94199527F44ACDB6B8C1F96D8BF6D');
  const none = await resolved({ 'recipes/top.yaml': 'base: { suite: bookworm }\n' });
  t.false('gentoo' in none.recipe);
});

test('a gentoo section as written; its key file is relative to the part that names it, and a later part replaces it', async (t) => {
  const { root, recipe } = await resolved({
    'recipes/include/gentoo.yaml': 'gentoo:\n  mirror: http://mirror.example.org/gentoo/\n  snapshot-date: "20261124"\n  key-file: keys/gentoo-release.asc\n',
    'recipes/top.yaml': 'include: [include/gentoo.yaml]\nbase: { suite: bookworm }\n',
  });
  t.is(recipe.gentoo?.mirror, 'http://mirror.example.org/gentoo/');
  t.is(recipe.gentoo?.['snapshot-date'], '20261124');
  t.is(recipe.gentoo?.['key-file'], join(root, 'recipes/include/keys/gentoo-release.asc'));
  const replaced = await resolved({
    'recipes/include/gentoo.yaml': 'gentoo:\n  snapshot-date: "20261124"\n',
    'recipes/top.yaml': 'include: [include/gentoo.yaml]\nbase: { suite: bookworm }\ngentoo: { key-file: /etc/keys.asc }\n',
  });
  t.is(replaced.recipe.gentoo?.['snapshot-date'], 'latest', 'the whole section is replaced, as jitsi is');
  t.is(replaced.recipe.gentoo?.['key-file'], '/etc/keys.asc');
});

test('bad gentoo values are refused with file, line and what to write', async (t) => {
  const cases: [string, RegExp][] = [
    ['  stage3-key-fingerprint: 13EB BDBE', /^recipes\/top\.yaml:3: gentoo\.stage3-key-fingerprint: '13EB BDBE' is not an OpenPGP v4 fingerprint \(40 hex digits\)$/],
    ['  snapshot-key-fingerprint: "zz05B71EAB94199527F44ACDB6B8C1F96D8BF6D"', /^recipes\/top\.yaml:3: gentoo\.snapshot-key-fingerprint: .*not an OpenPGP v4 fingerprint/],
    ['  snapshot-date: "20261332"', /^recipes\/top\.yaml:3: gentoo\.snapshot-date: '20261332' is not a snapshot date: write YYYYMMDD \(like 20261124.*\) or latest$/],
    ['  snapshot-date: "20260229"', /'20260229' is not a snapshot date/],
    ['  snapshot-date: 2026-11-24', /gentoo\.snapshot-date: /],
    ['  mirror: ftp://ftp.gentoo.org', /^recipes\/top\.yaml:3: gentoo\.mirror: "ftp:\/\/ftp\.gentoo\.org": expected an http:\/\/ or https:\/\/ URL$/],
    ['  mirror: "https://distfiles.gentoo.org/?x=1"', /gentoo\.mirror: .*takes no query or fragment/],
    ['  keyfile: a.asc', /^recipes\/top\.yaml:3: gentoo\.keyfile: unknown key \(known keys here: mirror, stage3-key-fingerprint, snapshot-key-fingerprint, snapshot-date, key-file, binhost, profile, packages, package-use, accept-keywords, make-conf\)$/],
  ];
  for (const [line, expected] of cases) {
    t.regex(await recipeError(t, { 'recipes/top.yaml': `base: { suite: bookworm }\ngentoo:\n${line}\n` }), expected, line);
  }
  t.true((await resolved({ 'recipes/top.yaml': 'base: { suite: bookworm }\ngentoo: { snapshot-date: "20240229" }\n' })).recipe.gentoo?.['snapshot-date'] === '20240229', 'a leap day');
});

test("portage's part of the section: packages, package.use, accept_keywords, make.conf, profile, binhost", async (t) => {
  const { recipe } = await resolved({
    'recipes/top.yaml': [
      'base: { suite: bookworm }',
      'gentoo:',
      '  binhost: https://bin.example.org/x86-64',
      '  profile: { systemd: default/linux/amd64/23.0/systemd }',
      '  packages:',
      '    - { atom: www-servers/nginx, why: web }',
      '    - { atom: sys-process/cronie, init: openrc }',
      '  package-use:',
      '    - { atom: net-im/prosody, flags: ["LUA_SINGLE_TARGET:", -*, lua5-4] }',
      '  accept-keywords:',
      '    - { atom: net-im/coturn, why: testing only }',
      '  make-conf:',
      '    - { name: MAKEOPTS, value: -j2 }',
      '',
    ].join('\n'),
  });
  const gentoo = recipe.gentoo!;
  t.is(gentoo.binhost, 'https://bin.example.org/x86-64');
  t.is(gentoo.profile.systemd, 'default/linux/amd64/23.0/systemd');
  t.is(gentoo.profile.openrc, undefined);
  t.deepEqual(gentoo.packages.map((pkg) => [pkg.atom, pkg.init]), [['www-servers/nginx', undefined], ['sys-process/cronie', 'openrc']]);
  t.deepEqual(gentoo['package-use'][0].flags, ['LUA_SINGLE_TARGET:', '-*', 'lua5-4']);
  t.is(gentoo['accept-keywords'][0].why, 'testing only');
  t.deepEqual(gentoo['make-conf'], [{ name: 'MAKEOPTS', value: '-j2', why: undefined }]);
});

test("bad portage values are refused with file, line and what to write", async (t) => {
  const cases: [string, RegExp][] = [
    ['  packages: [{ atom: nginx }]', /^recipes\/top\.yaml:3: gentoo\.packages\[0\]\.atom: 'nginx' is not a Gentoo package atom: write category\/name \(like www-servers\/nginx\)$/],
    ['  packages: [{ name: www-servers/nginx }]', /gentoo\.packages\[0\]\.name: unknown key/],
    ['  package-use: [{ atom: net-im/prosody, flags: ["LUA_SINGLE_TARGET:"] }]', /gentoo\.package-use\[0\]\.flags: LUA_SINGLE_TARGET: has no values after it/],
    ['  package-use: [{ atom: net-im/prosody, flags: ["ssl idn"] }]', /gentoo\.package-use\[0\]\.flags\[0\]: 'ssl idn' is not a USE flag/],
    ['  accept-keywords: [{ atom: net-im/coturn }]', /gentoo\.accept-keywords\[0\]\.why: required key is missing/],
    ['  accept-keywords: [{ atom: net-im/coturn, keywords: ["~amd64 ~arm64"], why: x }]', /'~amd64 ~arm64' is not a keyword/],
    ['  make-conf: [{ name: FEATURES, value: -sandbox }]', /gentoo\.make-conf\[0\]\.name: FEATURES is written by the build itself/],
    ['  make-conf: [{ name: MAKEOPTS, value: "$(nproc)" }]', /gentoo\.make-conf\[0\]\.value: .*may not hold/],
    ['  profile: { openrc: ../../etc }', /gentoo\.profile\.openrc: '\.\.\/\.\.\/etc' is not a profile name/],
    ['  profile: { runit: default/linux/amd64/23.0 }', /gentoo\.profile\.runit: unknown key \(known keys here: openrc, systemd\)/],
    ['  binhost: "https://bin.example.org/$(id)"', /gentoo\.binhost: .*may not hold \$ or ` \(portage's configuration would expand them\)$/],
    ['  mirror: "https://mirror.example.org/${HOME}"', /gentoo\.mirror: .*may not hold \$/],
    ['  binhost: rsync://bin.example.org/x', /gentoo\.binhost: "rsync:\/\/bin\.example\.org\/x": expected an http:\/\/ or https:\/\/ URL/],
  ];
  for (const [line, expected] of cases) {
    t.regex(await recipeError(t, { 'recipes/top.yaml': `base: { suite: bookworm }\ngentoo:\n${line}\n` }), expected, line);
  }
});

test('a gentoo recipe: atoms only under gentoo.packages, a profile release as suite, a gentoo section', async (t) => {
  const ok = await resolved({ 'recipes/top.yaml': 'base: { distro: gentoo, suite: "23.0" }\ngentoo: { packages: [{ atom: www-servers/nginx }] }\n' });
  t.is(ok.recipe.distro, 'gentoo');
  t.deepEqual(ok.recipe.packages, []);
  t.regex(
    await recipeError(t, {
      'recipes/include/debian.yaml': 'packages:\n  - { name: nginx }\n',
      'recipes/top.yaml': 'include: [include/debian.yaml]\nbase: { distro: gentoo, suite: "23.0" }\ngentoo: {}\n',
    }),
    /^recipes\/include\/debian\.yaml:2: packages\[0\]: 'nginx': a gentoo recipe lists its packages as atoms under gentoo\.packages/,
  );
  t.regex(
    await recipeError(t, { 'recipes/top.yaml': 'base: { distro: gentoo, suite: bookworm }\ngentoo: {}\n' }),
    /^recipes\/top\.yaml:1: base\.suite: 'bookworm' is not a Gentoo profile release: write .*\(like 23\.0\)$/,
  );
  t.regex(await recipeError(t, { 'recipes/top.yaml': 'base: { distro: gentoo, suite: "23.0" }\n' }), /base\.distro: a gentoo recipe needs a gentoo section/);
  t.regex(await recipeError(t, { 'recipes/top.yaml': 'base: { distro: arch, suite: "23.0" }\n' }), /base\.distro: expected one of debian, gentoo/);
});
