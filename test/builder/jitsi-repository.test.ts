import test from 'ava';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as openpgp from 'openpgp';
import { UserError } from '../../src/lib/errors.js';
import {
  aptSourceLine,
  checkKey,
  fetchKey,
  formatFingerprint,
  JITSI_KEYRING,
  MIRROR_KEY_NAME,
  normalizeFingerprint,
  resolveJitsiSource,
} from '../../src/builder/jitsi-repository.js';
import { resolveRecipe } from '../../src/builder/recipe/load.js';
import { PROJECT_ROOT } from '../../src/builder/pipeline.js';
import type { JitsiRecipe } from '../../src/builder/recipe/schema.js';
import { servicesOff } from '../../src/builder/stages/disable-services.js';
import { scratchDir } from '../helpers/scratch.js';

const JITSI_FINGERPRINT = 'FFD65A0DA2BEBDEB73D44C8BB4D2D216F1FD7806';

const RECIPE: JitsiRecipe = {
  repository: 'https://download.jitsi.org',
  suite: 'stable/',
  'key-url': 'https://download.jitsi.org/jitsi-key.gpg.key',
  'key-fingerprint': 'ffd6 5a0d a2be bdeb 73d4  4c8b b4d2 d216 f1fd 7806',
  packages: [
    { name: 'jicofo', version: undefined, why: undefined },
    { name: 'jitsi-videobridge2', version: '2.3-160-g97a1f8e2-1', why: undefined },
    { name: 'jitsi-meet-web', version: undefined, why: 'the web app' },
  ],
  'services-off': ['jicofo', 'jitsi-videobridge2'],
};

/** One key pair made with openpgp.js (ECC, a v4 key: 40-digit fingerprint). */
async function keyPair(name: string) {
  const { publicKey, privateKey } = await openpgp.generateKey({ userIDs: [{ name, email: `${name.toLowerCase()}@example.org` }], format: 'object' });
  return { publicKey, privateKey, fingerprint: publicKey.getFingerprint().toUpperCase() };
}

const keys = Promise.all([keyPair('Alice'), keyPair('Bob')]);

/** A loopback HTTP server answering with `handler`; closed when the test ends. */
async function serve(t: import('ava').ExecutionContext, handler: (request: IncomingMessage) => { status: number; body?: Uint8Array | string } | undefined): Promise<{ base: string; requests: string[] }> {
  const requests: string[] = [];
  const server: Server = createServer((request, response) => {
    requests.push(request.url ?? '');
    const answer = handler(request);
    if (!answer) return; // never answers
    response.writeHead(answer.status, { 'content-type': 'application/octet-stream' });
    response.end(answer.body ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

test('normalizeFingerprint takes gpg-style, spaced, lower-case fingerprints and refuses anything else', (t) => {
  t.is(normalizeFingerprint('FFD6 5A0D A2BE BDEB 73D4  4C8B B4D2 D216 F1FD 7806'), JITSI_FINGERPRINT);
  t.is(normalizeFingerprint('ffd65a0da2bebdeb73d44c8bb4d2d216f1fd7806'), JITSI_FINGERPRINT);
  t.is(normalizeFingerprint('\tffd65a0d a2bebdeb\n73d44c8bb4d2d216f1fd7806 '), JITSI_FINGERPRINT);
  t.is(normalizeFingerprint(JITSI_FINGERPRINT.slice(0, 39)), undefined, '39 digits');
  t.is(normalizeFingerprint(`${JITSI_FINGERPRINT}0`), undefined, '41 digits');
  t.is(normalizeFingerprint(`${JITSI_FINGERPRINT.slice(0, 39)}G`), undefined, 'not hex');
  t.is(normalizeFingerprint(`0x${JITSI_FINGERPRINT.slice(2)}`), undefined, '0x prefix');
  t.is(normalizeFingerprint('F1FD7806'), undefined, 'a short key id is not a fingerprint');
  t.is(normalizeFingerprint('FFD6:5A0D:A2BE:BDEB:73D4:4C8B:B4D2:D216:F1FD:7806'), undefined);
  t.is(normalizeFingerprint(''), undefined);
});

test('formatFingerprint groups by four with a double space in the middle, as gpg prints it', (t) => {
  t.is(formatFingerprint(JITSI_FINGERPRINT), 'FFD6 5A0D A2BE BDEB 73D4  4C8B B4D2 D216 F1FD 7806');
  t.is(formatFingerprint(JITSI_FINGERPRINT.toLowerCase()), 'FFD6 5A0D A2BE BDEB 73D4  4C8B B4D2 D216 F1FD 7806');
  t.is(normalizeFingerprint(formatFingerprint(JITSI_FINGERPRINT)), JITSI_FINGERPRINT, 'round trip');
});

test('upstream (and no --jitsi-source at all): the recipe repository, its key URL and its pinned fingerprint', (t) => {
  for (const option of [undefined, 'upstream']) {
    const source = resolveJitsiSource(option, undefined, RECIPE, 'recipes/x.yaml');
    t.deepEqual(source, {
      url: 'https://download.jitsi.org',
      suite: 'stable/',
      key: { url: 'https://download.jitsi.org/jitsi-key.gpg.key' },
      pinnedFingerprint: JITSI_FINGERPRINT,
      packages: ['jicofo', 'jitsi-videobridge2=2.3-160-g97a1f8e2-1', 'jitsi-meet-web'],
      servicesOff: ['jicofo', 'jitsi-videobridge2'],
    }, String(option));
  }
  t.is(aptSourceLine('https://download.jitsi.org', 'stable/'), `deb [signed-by=${JITSI_KEYRING}] https://download.jitsi.org stable/`);
});

test('a mirror URL: that URL (no trailing slash), its key next to stable/, the same pin', (t) => {
  const cases: [string, string][] = [
    ['http://mirror.example.org/jitsi', 'http://mirror.example.org/jitsi'],
    ['https://mirror.example.org/jitsi/', 'https://mirror.example.org/jitsi'],
    ['https://mirror.example.org:8443/a/b//', 'https://mirror.example.org:8443/a/b'],
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080'],
    ['file:///srv/jitsi-mirror', 'file:///srv/jitsi-mirror'],
    ['file:///srv/jitsi-mirror/', 'file:///srv/jitsi-mirror'],
    ['file:/srv/jitsi-mirror', 'file:/srv/jitsi-mirror'],
  ];
  for (const [option, url] of cases) {
    const source = resolveJitsiSource(option, undefined, RECIPE, 'recipes/x.yaml');
    t.is(source?.url, url, option);
    t.deepEqual(source?.key, { url: `${url}/${MIRROR_KEY_NAME}` }, option);
    t.is(source?.pinnedFingerprint, JITSI_FINGERPRINT, option);
    t.is(source?.suite, 'stable/', option);
    t.deepEqual(source?.packages, ['jicofo', 'jitsi-videobridge2=2.3-160-g97a1f8e2-1', 'jitsi-meet-web'], option);
  }
});

test('none: no source; --jitsi-key with none is an error', (t) => {
  t.is(resolveJitsiSource('none', undefined, RECIPE, 'recipes/x.yaml'), undefined);
  t.is(resolveJitsiSource('none', undefined, undefined, 'recipes/x.yaml'), undefined, 'none needs no jitsi section');
  const error = t.throws(() => resolveJitsiSource('none', '/etc/keys/mirror.asc', RECIPE, 'recipes/x.yaml'), { instanceOf: UserError });
  t.regex(error!.message, /^--jitsi-key: .*--jitsi-source none/);
});

test('--jitsi-key: the key comes from that file and nothing is pinned', (t) => {
  for (const option of [undefined, 'upstream', 'https://mirror.example.org/jitsi/']) {
    const source = resolveJitsiSource(option, '/etc/keys/mirror.asc', RECIPE, 'recipes/x.yaml');
    t.deepEqual(source?.key, { file: '/etc/keys/mirror.asc' }, String(option));
    t.false(source !== undefined && 'pinnedFingerprint' in source, String(option));
  }
  t.is(resolveJitsiSource('https://mirror.example.org/jitsi/', '/k', RECIPE, 'r')?.url, 'https://mirror.example.org/jitsi');
});

test('a bad --jitsi-source value is refused, naming the value and the choices', (t) => {
  for (const value of ['stable', 'Upstream', 'ftp://mirror.example.org/jitsi', 'mirror.example.org/jitsi', 'http://', 'https://exa mple.org', "http://x.org/'a'", '/srv/jitsi-mirror', '']) {
    const error = t.throws(() => resolveJitsiSource(value, undefined, RECIPE, 'recipes/x.yaml'), { instanceOf: UserError }, JSON.stringify(value));
    t.true(error!.message.includes(`'${value}'`), error!.message);
    t.regex(error!.message, /expected an http:\/\/, https:\/\/ or file: URL; give upstream, none, or the URL of a mirror/);
  }
});

test('a recipe without a jitsi section: upstream and mirrors are refused, naming the recipe file and --jitsi-source none', (t) => {
  for (const option of [undefined, 'upstream', 'https://mirror.example.org/jitsi']) {
    const error = t.throws(() => resolveJitsiSource(option, undefined, undefined, 'recipes/custom.yaml'), { instanceOf: UserError });
    t.regex(error!.message, /recipes\/custom\.yaml has no jitsi section/);
    t.regex(error!.message, /--jitsi-source none/);
  }
});

test('the real recipe pins the key Jitsi signs with since 2021 and installs the four packages, not the web-config or turnserver ones', async (t) => {
  const file = join(PROJECT_ROOT, 'recipes', 'debian-bookworm.yaml');
  for (const init of ['systemd', 'openrc'] as const) {
    const recipe = await resolveRecipe(file, { projectRoot: PROJECT_ROOT, init });
    t.truthy(recipe.jitsi, init);
    const source = resolveJitsiSource(undefined, undefined, recipe.jitsi, file)!;
    t.is(source.pinnedFingerprint, JITSI_FINGERPRINT);
    t.is(source.url, 'https://download.jitsi.org');
    t.is(source.suite, 'stable/');
    t.deepEqual(source.key, { url: 'https://download.jitsi.org/jitsi-key.gpg.key' });
    const names = source.packages.map((p) => p.split('=')[0]);
    for (const name of ['jicofo', 'jitsi-videobridge2', 'jitsi-meet-web', 'jitsi-meet-prosody']) t.true(names.includes(name), name);
    for (const name of ['jitsi-meet-turnserver', 'jitsi-meet-web-config', 'jitsi-meet']) t.false(names.includes(name), name);
    t.true(source.servicesOff.includes('jicofo') && source.servicesOff.includes('jitsi-videobridge2'), source.servicesOff.join(' '));
    // The disable-services stage turns off the recipe's services and Jitsi's, Jitsi's only when installed.
    const all = servicesOff({ recipe, jitsi: source });
    for (const name of ['nginx', 'prosody', 'coturn', 'jicofo', 'jitsi-videobridge2']) t.true(all.includes(name), name);
    t.false(servicesOff({ recipe }).includes('jicofo'), 'with --jitsi-source none jicofo is not there to turn off');
    for (const step of ['jitsi-placeholder-host', 'jitsi-placeholder-certificates', 'jitsi-placeholder-accounts', 'jitsi-generated-configs', 'debconf-secrets'] as const) {
      t.true(recipe.cleanup.includes(step), step);
    }
  }
});

test('checkKey accepts one public key, armored or binary, and returns it as a binary keyring', async (t) => {
  const [alice] = await keys;
  const armored = Buffer.from(alice.publicKey.armor());
  const binary = alice.publicKey.write();
  for (const [label, bytes] of [
    ['armored', armored],
    ['binary', binary],
  ] as const) {
    for (const pin of [undefined, alice.fingerprint]) {
      const checked = await checkKey(bytes, label, pin);
      t.is(checked.fingerprint, alice.fingerprint, label);
      t.regex(checked.fingerprint, /^[0-9A-F]{40}$/);
      t.false(Buffer.from(checked.keyring).toString('latin1').includes('-----BEGIN'), 'binary, as apt reads a .gpg keyring');
      const back = await openpgp.readKeys({ binaryKeys: checked.keyring });
      t.is(back.length, 1);
      t.false(back[0]!.isPrivate());
      t.is(back[0]!.getFingerprint().toUpperCase(), alice.fingerprint);
    }
  }
});

test('checkKey refuses a key whose fingerprint is not the pinned one, naming both as gpg prints them and --jitsi-key', async (t) => {
  const [alice, bob] = await keys;
  const error = await t.throwsAsync(checkKey(Buffer.from(alice.publicKey.armor()), 'https://mirror.example.org/jitsi-key.gpg.key', bob.fingerprint), {
    instanceOf: UserError,
  });
  t.true(error!.message.includes(formatFingerprint(alice.fingerprint)), error!.message);
  t.true(error!.message.includes(formatFingerprint(bob.fingerprint)), error!.message);
  t.regex(error!.message, /[0-9A-F]{4} [0-9A-F]{4} [0-9A-F]{4} [0-9A-F]{4} [0-9A-F]{4} {2}[0-9A-F]{4}/);
  t.true(error!.message.includes('https://mirror.example.org/jitsi-key.gpg.key'));
  t.true(error!.message.includes('--jitsi-key'));
  t.regex(error!.message, /has fingerprint (.+), but the recipe pins (.+);/);
  const [, got, pinned] = /has fingerprint (.+), but the recipe pins (.+?);/.exec(error!.message)!;
  t.is(got, formatFingerprint(alice.fingerprint), 'what arrived');
  t.is(pinned, formatFingerprint(bob.fingerprint), 'what the recipe pins');
  await t.throwsAsync(checkKey(bob.publicKey.write(), 'x', alice.fingerprint), { instanceOf: UserError, message: /but the recipe pins/ });
});

test('checkKey refuses two keys in one file, a private key and garbage', async (t) => {
  const [alice, bob] = await keys;
  const both = Buffer.concat([alice.publicKey.write(), bob.publicKey.write()]);
  const two = await t.throwsAsync(checkKey(both, 'keys.gpg'), { instanceOf: UserError });
  t.regex(two!.message, /^keys\.gpg: holds 2 keys \(.*\); expected exactly one$/);
  t.true(two!.message.includes(formatFingerprint(alice.fingerprint)) && two!.message.includes(formatFingerprint(bob.fingerprint)));
  // Two keys in one armor block (as `gpg --export --armor A B` writes them).
  const armoredBoth = Buffer.from(openpgp.armor(openpgp.enums.armor.publicKey, both));
  await t.throwsAsync(checkKey(armoredBoth, 'keys.asc'), { instanceOf: UserError, message: /holds 2 keys/ });
  // Even when one of them has the pinned fingerprint.
  await t.throwsAsync(checkKey(both, 'keys.gpg', alice.fingerprint), { instanceOf: UserError, message: /holds 2 keys/ });

  await t.throwsAsync(checkKey(alice.privateKey.write(), 'secret.gpg'), { instanceOf: UserError, message: /^secret\.gpg: is a private key; give the public key only$/ });
  await t.throwsAsync(checkKey(alice.privateKey.write(), 'secret.gpg', alice.fingerprint), { instanceOf: UserError, message: /private key/ });
  await t.throwsAsync(checkKey(Buffer.from(alice.privateKey.armor()), 'secret.asc'), { instanceOf: UserError, message: /^secret\.asc: is a private key; give the public key only$/ });
  // A public block and a private one in one file.
  await t.throwsAsync(checkKey(Buffer.from(alice.publicKey.armor() + alice.privateKey.armor()), 'both.asc', alice.fingerprint), { instanceOf: UserError, message: /^both\.asc: holds 2 keys/ });

  for (const garbage of [Buffer.from('<html>404 Not Found</html>\n'), Buffer.alloc(0), Buffer.from([0x99, 0x01, 0x0d, 0x04, 0xff, 0xff]), Buffer.from('-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot base64 !!\n-----END PGP PUBLIC KEY BLOCK-----\n')]) {
    await t.throwsAsync(checkKey(garbage, 'junk'), { instanceOf: UserError, message: /^junk: (not an OpenPGP public key|holds 0 keys)/ }, garbage.toString('latin1'));
  }
  await t.throwsAsync(checkKey(new Uint8Array(2 * 1024 * 1024), 'huge'), { instanceOf: UserError, message: /^huge: 2097152 bytes is not an OpenPGP public key file$/ });
});

test('checkKey refuses a file holding two armored key blocks (as `cat a.asc b.asc` makes)', async (t) => {
  // openpgp.readKeys({ armoredKeys }) reads only the first armor block: the second key must not
  // be silently ignored.
  const [alice, bob] = await keys;
  const twoBlocks = Buffer.from(alice.publicKey.armor() + bob.publicKey.armor());
  await t.throwsAsync(checkKey(twoBlocks, 'keys.asc'), { instanceOf: UserError, message: /holds 2 keys/ });
});

test('fetchKey reads --jitsi-key files and file: URLs, and says where it looked when it cannot', async (t) => {
  const [alice] = await keys;
  const dir = await scratchDir('jitsi-key-');
  const armored = alice.publicKey.armor();
  await writeFile(join(dir, 'mirror.asc'), armored);
  await mkdir(join(dir, 'mirror'));
  await writeFile(join(dir, 'mirror', MIRROR_KEY_NAME), armored);

  const fromFile = await fetchKey({ file: join(dir, 'mirror.asc') });
  t.is(Buffer.from(fromFile.bytes).toString(), armored);
  t.is(fromFile.from, join(dir, 'mirror.asc'));

  // A file: mirror, as resolveJitsiSource makes its key URL.
  const source = resolveJitsiSource(`${pathToFileURL(join(dir, 'mirror')).href}/`, undefined, { ...RECIPE, 'key-fingerprint': alice.fingerprint }, 'r')!;
  const fromUrl = await fetchKey(source.key);
  t.is(Buffer.from(fromUrl.bytes).toString(), armored);
  t.is(fromUrl.from, pathToFileURL(join(dir, 'mirror', MIRROR_KEY_NAME)).href);
  t.is((await checkKey(fromUrl.bytes, fromUrl.from, source.pinnedFingerprint)).fingerprint, alice.fingerprint);

  const missing = await t.throwsAsync(fetchKey({ file: join(dir, 'nope.asc') }), { instanceOf: UserError });
  t.is(missing!.message, `--jitsi-key ${join(dir, 'nope.asc')}: cannot read it (ENOENT)`);
  await t.throwsAsync(fetchKey({ file: dir }), { instanceOf: UserError, message: /^--jitsi-key .*: cannot read it \(EISDIR\)$/ });
  if (process.getuid?.() !== 0) {
    await writeFile(join(dir, 'locked.asc'), armored);
    await chmod(join(dir, 'locked.asc'), 0o000);
    await t.throwsAsync(fetchKey({ file: join(dir, 'locked.asc') }), { instanceOf: UserError, message: /cannot read it \(EACCES\)/ });
  }
  const noMirrorKey = await t.throwsAsync(fetchKey({ url: pathToFileURL(join(dir, 'empty-mirror', MIRROR_KEY_NAME)).href }), { instanceOf: UserError });
  t.regex(noMirrorKey!.message, /empty-mirror\/jitsi-key\.gpg\.key: cannot read it \(ENOENT\)/);
  t.regex(noMirrorKey!.message, /--jitsi-key FILE/);
});

test('fetchKey fetches a mirror key over HTTP (a loopback server), and an HTTP error says its status', async (t) => {
  const [alice, bob] = await keys;
  const armored = alice.publicKey.armor();
  const { base, requests } = await serve(t, (request) => (request.url === `/jitsi/${MIRROR_KEY_NAME}` ? { status: 200, body: armored } : { status: 404, body: 'not here' }));

  const source = resolveJitsiSource(`${base}/jitsi/`, undefined, { ...RECIPE, 'key-fingerprint': formatFingerprint(alice.fingerprint) }, 'r')!;
  t.deepEqual(source.key, { url: `${base}/jitsi/${MIRROR_KEY_NAME}` });
  const fetched = await fetchKey(source.key);
  t.is(Buffer.from(fetched.bytes).toString(), armored);
  t.is(fetched.from, `${base}/jitsi/${MIRROR_KEY_NAME}`);
  t.deepEqual(requests, [`/jitsi/${MIRROR_KEY_NAME}`]);
  t.is((await checkKey(fetched.bytes, fetched.from, source.pinnedFingerprint)).fingerprint, alice.fingerprint);
  await t.throwsAsync(checkKey(fetched.bytes, fetched.from, bob.fingerprint), { instanceOf: UserError, message: /but the recipe pins/ });

  const error = await t.throwsAsync(fetchKey({ url: `${base}/elsewhere/${MIRROR_KEY_NAME}` }), { instanceOf: UserError });
  t.regex(error!.message, /HTTP 404/);
  t.true(error!.message.includes(`${base}/elsewhere/${MIRROR_KEY_NAME}`), error!.message);
  t.regex(error!.message, /--jitsi-key FILE/);
});

test('fetchKey: a refused connection is a UserError naming the URL; an abort rejects with the signal reason', async (t) => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const refused = await t.throwsAsync(fetchKey({ url: `http://127.0.0.1:${port}/${MIRROR_KEY_NAME}` }), { instanceOf: UserError });
  t.regex(refused!.message, new RegExp(`^cannot fetch Jitsi's repository key from http://127\\.0\\.0\\.1:${port}/jitsi-key\\.gpg\\.key: ECONNREFUSED`));

  const { base, requests } = await serve(t, () => undefined);
  const controller = new AbortController();
  const reason = new Error('build interrupted');
  const pending = fetchKey({ url: `${base}/${MIRROR_KEY_NAME}` }, controller.signal);
  while (requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  controller.abort(reason);
  t.is(await t.throwsAsync(pending), reason);
});

test('a file: mirror URL with a host part (file://srv/mirror for file:///srv/mirror) is a UserError, not a crash', async (t) => {
  // resolveJitsiSource accepts it (URL.canParse: host "srv"), and fetchKey's fileURLToPath then
  // throws a TypeError (ERR_INVALID_FILE_URL_HOST) outside its catch: the CLI prints
  // "unexpected failure" with a stack trace instead of saying what to pass.
  const attempt = async () => {
    const source = resolveJitsiSource('file://srv/jitsi-mirror', undefined, RECIPE, 'recipes/x.yaml');
    await fetchKey(source!.key);
  };
  await t.throwsAsync(attempt(), { instanceOf: UserError });
});
