import test, { type ExecutionContext } from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { RecipeError, resolveRecipe } from '../../../src/builder/recipe/load.js';
import { RETIRED_JITSI_KEYS } from '../../../src/builder/recipe/schema.js';
import { scratchDir } from '../../helpers/scratch.js';

/** A throw-away project root holding the given files (paths relative to it). */
async function project(files: Record<string, string>): Promise<string> {
  const root = await scratchDir('jitsi-recipe-test-');
  await mkdir(join(root, 'overlays', 'common'), { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

async function resolved(files: Record<string, string>, top = 'recipes/top.yaml') {
  const root = await project(files);
  return resolveRecipe(join(root, top), { projectRoot: root, init: 'systemd' });
}

/** Without the undefined optional fields the schema fills in (version, why). */
const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

async function recipeError(t: ExecutionContext, files: Record<string, string>, top = 'recipes/top.yaml'): Promise<string> {
  const root = await project(files);
  const error = await t.throwsAsync(resolveRecipe(join(root, top), { projectRoot: root, init: 'systemd' }), { instanceOf: RecipeError });
  return error!.message.replaceAll(root + '/', '');
}

/** A jitsi section, one line per key (so errors point at a known line: repository is line 3). */
function jitsiSection(overrides: { repository?: string; 'key-url'?: string; 'key-fingerprint'?: string; packages?: string } = {}): string {
  return [
    'base: { suite: bookworm }',
    'jitsi:',
    `  repository: ${overrides.repository ?? 'https://download.jitsi.org'}`,
    '  suite: stable/',
    `  key-url: ${overrides['key-url'] ?? 'https://download.jitsi.org/jitsi-key.gpg.key'}`,
    `  key-fingerprint: ${overrides['key-fingerprint'] ?? 'FFD6 5A0D A2BE BDEB 73D4 4C8B B4D2 D216 F1FD 7806'}`,
    `  packages: ${overrides.packages ?? '[{ name: jicofo }]'}`,
    '  services-off: [jicofo]',
    '',
  ].join('\n');
}

test('a valid jitsi section is kept as written, with defaults for what it leaves out', async (t) => {
  const recipe = await resolved({ 'recipes/top.yaml': jitsiSection({ packages: '[{ name: jicofo, version: "1.0-1126-1" }, { name: jitsi-meet-web, why: web }]' }) });
  t.deepEqual(plain(recipe.jitsi), {
    repository: 'https://download.jitsi.org',
    suite: 'stable/',
    'key-url': 'https://download.jitsi.org/jitsi-key.gpg.key',
    'key-fingerprint': 'FFD6 5A0D A2BE BDEB 73D4 4C8B B4D2 D216 F1FD 7806',
    packages: [{ name: 'jicofo', version: '1.0-1126-1' }, { name: 'jitsi-meet-web', why: 'web' }],
    'services-off': ['jicofo'],
  });
  const minimal = await resolved({
    'recipes/top.yaml': 'base: { suite: bookworm }\njitsi:\n  repository: file:///srv/mirror\n  key-url: file:///srv/mirror/k.gpg\n  key-fingerprint: ffd65a0da2bebdeb73d44c8bb4d2d216f1fd7806\n',
  });
  t.is(minimal.jitsi?.suite, 'stable/');
  t.deepEqual(minimal.jitsi?.packages, []);
  t.deepEqual(minimal.jitsi?.['services-off'], []);
  const none = await resolved({ 'recipes/top.yaml': 'base: { suite: bookworm }\n' });
  t.false('jitsi' in none, 'no section, no key');
});

test("a recipe pinning Jitsi's retired key is refused with file:line, however the fingerprint is written", async (t) => {
  t.deepEqual(RETIRED_JITSI_KEYS, ['66A9CD0595D6AFA247290D3BEF8B479E2DC1389C']);
  for (const fingerprint of ['66A9 CD05 95D6 AFA2 4729 0D3B EF8B 479E 2DC1 389C', '"66A9 CD05 95D6 AFA2 4729  0D3B EF8B 479E 2DC1 389C"', '66a9cd0595d6afa247290d3bef8b479e2dc1389c']) {
    const message = await recipeError(t, { 'recipes/top.yaml': jitsiSection({ 'key-fingerprint': fingerprint }) });
    t.regex(message, /^recipes\/top\.yaml:6: jitsi\.key-fingerprint: .*Jitsi's retired key; it must not be trusted$/, fingerprint);
    t.is(message.split('\n').length, 1, message);
  }
  // In an included part, the part is named.
  const included = await recipeError(t, {
    'recipes/include/jitsi.yaml': jitsiSection({ 'key-fingerprint': '66A9 CD05 95D6 AFA2 4729 0D3B EF8B 479E 2DC1 389C' }).replace('base: { suite: bookworm }\n', '# old\n'),
    'recipes/top.yaml': 'include: [include/jitsi.yaml]\nbase: { suite: bookworm }\n',
  });
  t.regex(included, /^recipes\/include\/jitsi\.yaml:6: jitsi\.key-fingerprint: .*retired key/);
});

test('a malformed fingerprint is refused with file:line', async (t) => {
  for (const fingerprint of ['FFD6 5A0D A2BE BDEB 73D4 4C8B B4D2 D216 F1FD 780', 'F1FD7806', 'FFD6 5A0D A2BE BDEB 73D4 4C8B B4D2 D216 F1FD 780G', '"0xFFD65A0DA2BEBDEB73D44C8BB4D2D216F1FD7806"', '""']) {
    const message = await recipeError(t, { 'recipes/top.yaml': jitsiSection({ 'key-fingerprint': fingerprint }) });
    t.regex(message, /^recipes\/top\.yaml:6: jitsi\.key-fingerprint: '.*' is not an OpenPGP v4 fingerprint \(40 hex digits\)$/, fingerprint);
  }
  const missing = await recipeError(t, { 'recipes/top.yaml': 'base: { suite: bookworm }\njitsi:\n  repository: https://download.jitsi.org\n  key-url: https://download.jitsi.org/k\n' });
  t.regex(missing, /^recipes\/top\.yaml:2: jitsi\.key-fingerprint: required key is missing/);
});

test('a bad repository or key URL is refused with file:line', async (t) => {
  for (const url of ['ftp://download.jitsi.org', 'download.jitsi.org', '"https://download.jitsi.org stable/"', '"https://download.jitsi.org\\nhttps://evil.example.org"', '"http://"', '"file:srv/mirror"']) {
    const repo = await recipeError(t, { 'recipes/top.yaml': jitsiSection({ repository: url }) });
    t.regex(repo, /^recipes\/top\.yaml:3: jitsi\.repository: .*: expected an http:\/\/, https:\/\/ or file: URL$/, url);
    const key = await recipeError(t, { 'recipes/top.yaml': jitsiSection({ 'key-url': url }) });
    t.regex(key, /^recipes\/top\.yaml:5: jitsi\.key-url: .*: expected an http:\/\/, https:\/\/ or file: URL$/, url);
  }
  // URLs that parse but cannot be a repository: a query (paths are appended), a file: host.
  const query = await recipeError(t, { 'recipes/top.yaml': jitsiSection({ repository: '"https://m.example/jitsi?token=a"' }) });
  t.regex(query, /^recipes\/top\.yaml:3: jitsi\.repository: .*takes no query or fragment/);
  const fileHost = await recipeError(t, { 'recipes/top.yaml': jitsiSection({ repository: '"file://srv/mirror"' }) });
  t.regex(fileHost, /^recipes\/top\.yaml:3: jitsi\.repository: .*file:\/\/\/srv\/mirror, not file:\/\/srv\/mirror$/);
});

test('bad package names and versions in the jitsi section are refused with file:line', async (t) => {
  const message = await recipeError(t, { 'recipes/top.yaml': jitsiSection({ packages: '[{ name: Jicofo }, { name: jicofo, version: "1.0 && rm -rf /" }]' }) });
  const lines = message.split('\n');
  t.true(lines.some((l) => /^recipes\/top\.yaml:7: jitsi\.packages\[0\]\.name: 'Jicofo' is not a Debian package name/.test(l)), message);
  t.true(lines.includes("recipes/top.yaml:7: jitsi.packages[1].version: '1.0 && rm -rf /' is not a Debian version"), message);
});

test("a later part's jitsi section replaces an earlier one's, whole; a part without one keeps it", async (t) => {
  const mirror = [
    'jitsi:',
    '  repository: https://mirror.example.org/jitsi',
    '  key-url: https://mirror.example.org/jitsi/jitsi-key.gpg.key',
    '  key-fingerprint: 0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567',
    '  packages: [{ name: jitsi-videobridge2 }]',
    '',
  ].join('\n');
  const files = {
    'recipes/include/upstream.yaml': jitsiSection({ packages: '[{ name: jicofo }, { name: jitsi-meet-web }]' }).replace('base: { suite: bookworm }\n', ''),
    'recipes/include/mirror.yaml': mirror,
    'recipes/include/other.yaml': 'packages: [{ name: nginx }]\n',
  };
  const replaced = await resolved({ ...files, 'recipes/top.yaml': 'include: [include/upstream.yaml, include/mirror.yaml, include/other.yaml]\nbase: { suite: bookworm }\n' });
  t.deepEqual(plain(replaced.jitsi), {
    repository: 'https://mirror.example.org/jitsi',
    suite: 'stable/',
    'key-url': 'https://mirror.example.org/jitsi/jitsi-key.gpg.key',
    'key-fingerprint': '0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567',
    packages: [{ name: 'jitsi-videobridge2' }],
    'services-off': [],
  }, 'nothing of the earlier section (packages, services-off) survives');
  const otherOrder = await resolved({ ...files, 'recipes/top.yaml': 'include: [include/mirror.yaml, include/upstream.yaml]\nbase: { suite: bookworm }\n' });
  t.is(otherOrder.jitsi?.repository, 'https://download.jitsi.org');
  t.deepEqual(plain(otherOrder.jitsi?.packages), [{ name: 'jicofo' }, { name: 'jitsi-meet-web' }]);
  t.deepEqual(otherOrder.jitsi?.['services-off'], ['jicofo']);
  // The including file comes last, so its section wins over its parts'.
  const top = await resolved({ ...files, 'recipes/top.yaml': `include: [include/mirror.yaml]\n${jitsiSection()}` });
  t.is(top.jitsi?.repository, 'https://download.jitsi.org');
  t.deepEqual(plain(top.jitsi?.packages), [{ name: 'jicofo' }]);
});
