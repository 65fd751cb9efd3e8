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
    ['  keyfile: a.asc', /^recipes\/top\.yaml:3: gentoo\.keyfile: unknown key \(known keys here: mirror, stage3-key-fingerprint, snapshot-key-fingerprint, snapshot-date, key-file\)$/],
  ];
  for (const [line, expected] of cases) {
    t.regex(await recipeError(t, { 'recipes/top.yaml': `base: { suite: bookworm }\ngentoo:\n${line}\n` }), expected, line);
  }
  t.true((await resolved({ 'recipes/top.yaml': 'base: { suite: bookworm }\ngentoo: { snapshot-date: "20240229" }\n' })).recipe.gentoo?.['snapshot-date'] === '20240229', 'a leap day');
});
