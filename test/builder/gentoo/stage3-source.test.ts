/**
 * Fetching and verifying a stage3 and a snapshot from the stand-in of Gentoo's release tree,
 * served on loopback: what succeeds, and each refusal, which must come before anything is
 * unpacked (the target directory never appears, no tarball enters the store).
 */
import test, { type ExecutionContext } from 'ava';
import { readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DownloadStore, openDownloadStore } from '../../../src/builder/gentoo/download-store.js';
import { VerificationFailed } from '../../../src/builder/gentoo/signatures.js';
import { fetchVerifiedSnapshot, fetchVerifiedStage3, resolveGentooSource, type GentooSource } from '../../../src/builder/gentoo/stage3-source.js';
import { unpackVerifiedArchive } from '../../../src/builder/gentoo/unpack.js';
import { formatFingerprint } from '../../../src/builder/openpgp-keys.js';
import type { GentooSourceRecipe } from '../../../src/builder/recipe/schema.js';
import { UserError } from '../../../src/lib/errors.js';
import {
  buildStandinRelease,
  clearsign,
  createGpgTestKey,
  createTestKey,
  detachSign,
  digestsText,
  pointerText,
  serveStandin,
  SNAPSHOT_DATE,
  STAMP,
  writeKeyFile,
  type StandinOptions,
  type StandinRelease,
  type TestKey,
} from '../../helpers/gentoo-standin/index.js';
import { scratchDir } from '../../helpers/scratch.js';

const KEYS = (async () => ({ release: await createTestKey('release'), snapshot: await createTestKey('snapshot'), other: await createTestKey('other') }))();

function section(mirror: string, keys: { release: TestKey; snapshot: TestKey }, date = SNAPSHOT_DATE): GentooSourceRecipe {
  return {
    mirror,
    'stage3-key-fingerprint': formatFingerprint(keys.release.fingerprint),
    'snapshot-key-fingerprint': keys.snapshot.fingerprint.toLowerCase(),
    'snapshot-date': date,
    'key-file': undefined,
  };
}

interface Setup {
  release: StandinRelease;
  mirrorDir: string;
  served: Awaited<ReturnType<typeof serveStandin>>;
  source: GentooSource;
  store: DownloadStore;
  keys: Awaited<typeof KEYS>;
  logs: string[];
  /** An unpack target that does not exist yet. */
  target: string;
  at(path: string): string;
  rebuild(options?: Partial<StandinOptions>): Promise<StandinRelease>;
}

async function setup(t: ExecutionContext, options: Partial<StandinOptions> = {}): Promise<Setup> {
  const keys = await KEYS;
  const mirrorDir = await scratchDir('gentoo-mirror-');
  const rebuild = (more: Partial<StandinOptions> = {}) => buildStandinRelease({ dir: mirrorDir, keys, ...options, ...more });
  const release = await rebuild();
  const served = await serveStandin(mirrorDir);
  t.teardown(() => served.close());
  const keyFile = await writeKeyFile(join(await scratchDir('gentoo-keys-'), 'gentoo-release.asc'), keys.other, keys.release, keys.snapshot);
  const source = await resolveGentooSource(section(served.url, keys), { keyFile, recipeFile: 'recipes/gentoo-test.yaml' });
  const logs: string[] = [];
  const store = new DownloadStore(join(await scratchDir('gentoo-cache-'), 'gentoo'), { log: (line) => logs.push(line) });
  const target = join(await scratchDir('gentoo-unpack-'), 'rootfs');
  return { release, mirrorDir, served, source, store, keys, logs, target, at: (path) => join(mirrorDir, path), rebuild };
}

const log = (s: Setup) => (line: string) => s.logs.push(line);

/** Fetch, verify, unpack: what a build stage does. */
async function provide(s: Setup): Promise<void> {
  const archive = await fetchVerifiedStage3(s.source, 'amd64', 'openrc', { store: s.store, log: log(s) });
  await unpackVerifiedArchive(archive, s.target);
}

/** The refusal happened before unpacking: no target, and no tarball in the store. */
async function refusedBeforeUnpacking(t: ExecutionContext, s: Setup, message: RegExp): Promise<string> {
  const error = await t.throwsAsync(provide(s), { instanceOf: VerificationFailed });
  t.regex(error!.message, message);
  t.false(await exists(s.target), 'nothing was unpacked');
  const files = await readdir(join(s.store.dir, 'files')).catch(() => [] as string[]);
  t.false(files.includes(s.release.sha512), 'the tarball was not stored as verified');
  t.false(await exists(s.store.recordPath(s.release.stage3)), 'no record of a verified stage3');
  return error!.message;
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

test('a stage3 and a snapshot are downloaded, verified and stored under their hashes; a second run downloads neither again', async (t) => {
  const s = await setup(t);
  const archive = await fetchVerifiedStage3(s.source, 'amd64', 'openrc', { store: s.store, log: log(s) });
  t.is(archive.kind, 'stage3');
  t.is(archive.name, `stage3-amd64-openrc-${STAMP}.tar.xz`);
  t.is(archive.sha512, s.release.sha512);
  t.is(archive.size, s.release.size);
  t.is(archive.signedBy, s.keys.release.fingerprint);
  t.is(archive.url, `${s.served.url}/${s.release.stage3}`);
  t.is(archive.file, join(s.store.dir, 'files', s.release.sha512));
  t.deepEqual(await readFile(archive.file), await readFile(s.at(s.release.stage3)));
  const record = JSON.parse(await readFile(s.store.recordPath(s.release.stage3), 'utf8'));
  t.like(record, { path: s.release.stage3, sha512: s.release.sha512, size: s.release.size, url: archive.url });
  t.true(s.logs.some((line) => line.includes(`signed by Gentoo's release key ${formatFingerprint(s.keys.release.fingerprint)}`)), s.logs.join('\n'));
  t.deepEqual(await readdir(join(s.store.dir, 'partial')), [], 'no partial download left');

  const snapshot = await fetchVerifiedSnapshot(s.source, { store: s.store, log: log(s) });
  t.is(snapshot.kind, 'snapshot');
  t.is(snapshot.name, `gentoo-${SNAPSHOT_DATE}.tar.xz`);
  t.is(snapshot.signedBy, s.keys.snapshot.fingerprint);
  t.deepEqual(await readFile(snapshot.file), await readFile(s.at(s.release.snapshot)));

  const before = s.served.requests.length;
  const again = await fetchVerifiedStage3(s.source, 'amd64', 'openrc', { store: s.store, log: log(s) });
  const againSnapshot = await fetchVerifiedSnapshot(s.source, { store: s.store });
  t.is(again.file, archive.file);
  t.is(againSnapshot.file, snapshot.file);
  const fetched = s.served.requests.slice(before).map((r) => r.path);
  t.false(fetched.includes(`/${s.release.stage3}`), `the stage3 came from the store: ${fetched.join(', ')}`);
  t.false(fetched.includes(`/${s.release.snapshot}`), 'and the snapshot');
  t.true(fetched.includes(`/${s.release.pointer}`), 'the pointer is read afresh every time');
  t.true(s.logs.some((line) => /in the download cache .*verifying it again/.test(line)));
});

test('a plain (not clearsigned) DIGESTS, as older releases have, is accepted: the tarball signature vouches', async (t) => {
  const s = await setup(t, { clearsignDigests: false });
  const archive = await fetchVerifiedStage3(s.source, 'amd64', 'openrc', { store: s.store, log: log(s) });
  t.is(archive.sha512, s.release.sha512);
  t.true(s.logs.some((line) => line.includes('DIGESTS: not signed')));
});

test('the store of a build lives in <cache>/gentoo and refuses a cache directory others can write', async (t) => {
  const cache = await scratchDir('gentoo-cachedir-');
  const store = await openDownloadStore(cache, '/nonexistent-work');
  t.is(store.dir, join(cache, 'gentoo'));
  t.is((await stat(store.dir)).mode & 0o777, 0o755);
  const noCache = await openDownloadStore(undefined, '/work/dir');
  t.is(noCache.dir, '/work/dir/gentoo-downloads');
  const open = await scratchDir('gentoo-cachedir-open-');
  const { chmod } = await import('node:fs/promises');
  await chmod(open, 0o777);
  await t.throwsAsync(openDownloadStore(open, '/w'), { instanceOf: UserError, message: /writable by others/ });
});

test('a tampered stage3 is refused before anything is unpacked, naming both hashes, and the download is thrown away', async (t) => {
  const s = await setup(t);
  const bytes = await readFile(s.at(s.release.stage3));
  bytes[bytes.length >> 1]! ^= 0xff;
  await writeFile(s.at(s.release.stage3), bytes);
  const message = await refusedBeforeUnpacking(t, s, new RegExp(`SHA512 is [0-9a-f]{128}, but ${s.release.stage3Name}\\.DIGESTS says ${s.release.sha512}`));
  t.regex(message, /refusing it before anything is unpacked \(the download was thrown away\)/);
  t.deepEqual(await readdir(join(s.store.dir, 'partial')), []);
});

test('a tampered stage3 with a plain DIGESTS tampered to match is still refused, by its signature', async (t) => {
  // An attacker who can change the tarball and a plain DIGESTS still cannot sign.
  const s = await setup(t, { clearsignDigests: false });
  const bytes = await readFile(s.at(s.release.stage3));
  bytes[bytes.length >> 1]! ^= 0xff;
  await writeFile(s.at(s.release.stage3), bytes);
  await writeFile(s.at(s.release.digests), digestsText({ [s.release.stage3Name]: bytes }));
  await refusedBeforeUnpacking(t, s, /signature by Gentoo's release key .* does not verify .*changed after signing/);
});

test('a tampered DIGESTS is refused: clearsigned, its signature fails; plain, the tarball no longer matches it', async (t) => {
  const signed = await setup(t);
  const text = await readFile(signed.at(signed.release.digests), 'utf8');
  t.true(text.includes(`${signed.release.sha512}  ${signed.release.stage3Name}`));
  // Inside the signed text: the hash of the tarball replaced, the signature left as it was.
  await writeFile(signed.at(signed.release.digests), text.replace(signed.release.sha512, '0'.repeat(128)));
  await refusedBeforeUnpacking(t, signed, new RegExp(`${signed.release.stage3Name}\\.DIGESTS \\(.*\\): the signature by Gentoo's release key .* does not verify`));

  const plain = await setup(t, { clearsignDigests: false });
  const plainText = await readFile(plain.at(plain.release.digests), 'utf8');
  await writeFile(plain.at(plain.release.digests), plainText.replace(plain.release.sha512, 'f'.repeat(128)));
  await refusedBeforeUnpacking(t, plain, new RegExp(`SHA512 is ${plain.release.sha512}, but .*DIGESTS says f{128}`));

  const unlisted = await setup(t, { clearsignDigests: false });
  await writeFile(unlisted.at(unlisted.release.digests), '# SHA512 HASH\n' + 'a'.repeat(128) + '  something-else.tar.xz\n');
  await t.throwsAsync(provide(unlisted), { instanceOf: UserError, message: /has no SHA512 hash of stage3-amd64-openrc-.*\.tar\.xz \(it lists: something-else\.tar\.xz\)/ });
  t.false(await exists(unlisted.target));
});

test('a key file without the pinned key is refused, naming both fingerprints, before anything is downloaded', async (t) => {
  const keys = await KEYS;
  const dir = await scratchDir('gentoo-keys-');
  const onlyOther = await writeKeyFile(join(dir, 'other.asc'), keys.other);
  const error = await t.throwsAsync(resolveGentooSource(section('http://127.0.0.1:9', keys), { keyFile: onlyOther, recipeFile: 'r.yaml' }), { instanceOf: VerificationFailed });
  t.true(error!.message.startsWith(`${onlyOther}: holds ${formatFingerprint(keys.other.fingerprint)}, not Gentoo's release key ${formatFingerprint(keys.release.fingerprint)} (pinned by the recipe's gentoo.stage3-key-fingerprint)`), error!.message);
  // The release key alone is not enough: the snapshot key is pinned too.
  const onlyRelease = await writeKeyFile(join(dir, 'release.asc'), keys.release);
  await t.throwsAsync(resolveGentooSource(section('http://127.0.0.1:9', keys), { keyFile: onlyRelease, recipeFile: 'r.yaml' }), {
    message: new RegExp(`not Gentoo's snapshot key ${formatFingerprint(keys.snapshot.fingerprint)} \\(pinned by the recipe's gentoo.snapshot-key-fingerprint\\)`),
  });
  const secret = join(dir, 'secret.asc');
  await writeFile(secret, keys.release.privateKey.armor());
  await t.throwsAsync(resolveGentooSource(section('http://127.0.0.1:9', keys), { keyFile: secret, recipeFile: 'r.yaml' }), { message: /holds a private key .*give the public key only/ });
  await t.throwsAsync(resolveGentooSource(section('http://127.0.0.1:9', keys), { recipeFile: 'r.yaml' }), { instanceOf: UserError, message: /^r\.yaml: no key file .*set gentoo\.key-file/ });
  await t.throwsAsync(resolveGentooSource(undefined, { keyFile: onlyOther, recipeFile: 'r.yaml' }), { message: /r\.yaml has no gentoo section/ });
  await t.throwsAsync(resolveGentooSource(section('http://x', keys), { keyFile: join(dir, 'missing.asc'), recipeFile: 'r.yaml' }), { message: /missing\.asc: cannot read the key file .*ENOENT/ });
});

test('a pointer signed by another key is refused, naming the signer and the pinned key', async (t) => {
  const s = await setup(t);
  await writeFile(s.at(s.release.pointer), await clearsign(pointerText(`${STAMP}/${s.release.stage3Name}`, s.release.size), s.keys.other));
  const otherSigningKey = (await s.keys.other.privateKey.getSigningKey()).getFingerprint().toUpperCase();
  const message = await refusedBeforeUnpacking(t, s, /latest-stage3-amd64-openrc\.txt \(http:.*\): signed by .*, not by Gentoo's release key/);
  t.true(message.includes(formatFingerprint(otherSigningKey)), `names the signing (sub)key: ${message}`);
  t.true(message.includes(formatFingerprint(s.keys.release.fingerprint)), 'and the pinned key');
});

test('a stage3 or snapshot signed by another key is refused', async (t) => {
  const s = await setup(t);
  await writeFile(s.at(s.release.asc), await detachSign(await readFile(s.at(s.release.stage3)), s.keys.other));
  await refusedBeforeUnpacking(t, s, new RegExp(`${s.release.stage3Name} \\(.*\\): signed by .*, not by Gentoo's release key`));

  // The snapshot must carry the snapshot key's signature, not the release key's.
  await writeFile(s.at(s.release.gpgsig), await detachSign(await readFile(s.at(s.release.snapshot)), s.keys.release));
  await t.throwsAsync(fetchVerifiedSnapshot(s.source, { store: s.store }), { instanceOf: VerificationFailed, message: /gentoo-20261124\.tar\.xz \(.*\): signed by .*, not by Gentoo's snapshot key/ });
  const files = await readdir(join(s.store.dir, 'files'));
  t.false(files.includes(await sha512File(s.at(s.release.snapshot))), 'the snapshot was not stored');
});

test('a missing signature is refused: no .asc, a pointer that is not clearsigned, no .gpgsig', async (t) => {
  const noAsc = await setup(t);
  await rm(noAsc.at(noAsc.release.asc));
  await refusedBeforeUnpacking(t, noAsc, new RegExp(`${noAsc.release.stage3Name}\\.asc, the stage3's signature: http://.*\\.asc is not on the mirror; refusing to use it unverified`));

  const unsigned = await setup(t);
  await writeFile(unsigned.at(unsigned.release.pointer), pointerText(`${STAMP}/${unsigned.release.stage3Name}`, unsigned.release.size));
  await refusedBeforeUnpacking(t, unsigned, /latest-stage3-amd64-openrc\.txt \(.*\): not clearsigned .*nothing vouches for the file it names/);

  const noSig = await setup(t);
  await rm(noSig.at(noSig.release.gpgsig));
  await t.throwsAsync(fetchVerifiedSnapshot(noSig.source, { store: noSig.store }), { instanceOf: VerificationFailed, message: /gentoo-20261124\.tar\.xz\.gpgsig, the snapshot's signature: .* is not on the mirror/ });

  const garbage = await setup(t);
  await writeFile(garbage.at(garbage.release.asc), '<html>not found</html>\n');
  await refusedBeforeUnpacking(t, garbage, /\.asc: not an OpenPGP signature/);
});

test('a pointer naming a file the mirror does not have is refused', async (t) => {
  const s = await setup(t);
  const missing = `stage3-amd64-openrc-20261201T170000Z.tar.xz`;
  await writeFile(s.at(s.release.pointer), await clearsign(pointerText(`20261201T170000Z/${missing}`, 1234), s.keys.release));
  await refusedBeforeUnpacking(t, s, new RegExp(`${missing}\\.asc, the stage3's signature: .* is not on the mirror`));

  // The signatures there, the tarball not.
  const t2 = await setup(t);
  await rm(t2.at(t2.release.stage3));
  await refusedBeforeUnpacking(t, t2, new RegExp(`${t2.release.stage3Name}: http://.* is not on the mirror \\(HTTP 404\\), though it is named as the file to use`));

  // A signed pointer still cannot send the build out of the autobuilds directory or to another flavor.
  const t3 = await setup(t);
  await writeFile(t3.at(t3.release.pointer), await clearsign(pointerText(`../../../snapshots/gentoo-${SNAPSHOT_DATE}.tar.xz`, 10), t3.keys.release));
  await t.throwsAsync(provide(t3), { instanceOf: UserError, message: /not a plain relative path below releases\/amd64\/autobuilds\// });
  await writeFile(t3.at(t3.release.pointer), await clearsign(pointerText(`${STAMP}/stage3-amd64-systemd-${STAMP}.tar.xz`, 10), t3.keys.release));
  await t.throwsAsync(provide(t3), { instanceOf: UserError, message: /not a stage3-amd64-openrc-\*\.tar\.xz tarball/ });
  t.false(await exists(t3.target));
});

test('a stage3 of another size than the pointer says is refused', async (t) => {
  const s = await setup(t);
  await writeFile(s.at(s.release.pointer), await clearsign(pointerText(`${STAMP}/${s.release.stage3Name}`, s.release.size + 1), s.keys.release));
  await refusedBeforeUnpacking(t, s, new RegExp(`${s.release.size} bytes, but the signed pointer says ${s.release.size + 1}`));
  await writeFile(s.at(s.release.pointer), await clearsign(pointerText(`${STAMP}/${s.release.stage3Name}`, s.release.size - 1), s.keys.release));
  await refusedBeforeUnpacking(t, s, /is bigger than the \d+ bytes expected/);
});

test('a download broken off is resumed where it stopped (HTTP Range), then verified whole', async (t) => {
  const s = await setup(t, { payloadBytes: 3 * 1024 * 1024 });
  const cut = 1024 * 1024 + 17;
  s.served.breakNext(s.release.stage3, cut);
  await t.throwsAsync(fetchVerifiedStage3(s.source, 'amd64', 'openrc', { store: s.store, log: log(s) }), { instanceOf: UserError, message: /broke off after \d+ bytes .*build again to resume/ });
  const partial = s.store.partialPath(s.release.stage3);
  // fetch may drop what it had buffered when the connection broke; what reached the file is kept.
  const kept = (await stat(partial)).size;
  t.true(kept > 0 && kept <= cut, `kept ${kept} of the ${cut} bytes sent`);
  t.false(await exists(s.target));

  const archive = await fetchVerifiedStage3(s.source, 'amd64', 'openrc', { store: s.store, log: log(s) });
  t.is(archive.sha512, s.release.sha512);
  const gets = s.served.requests.filter((r) => r.path === `/${s.release.stage3}`);
  t.is(gets.length, 2);
  t.like(gets[1], { range: `bytes=${kept}-`, status: 206, sent: s.release.size - kept });
  t.true(s.logs.some((line) => line.includes(`resuming at byte ${kept} of ${s.release.size}`)));
  t.false(await exists(partial), 'the partial file became the stored one');
});

test('a partial download of a file that changed upstream meanwhile starts over (If-Range), and a wrong complete partial is thrown away', async (t) => {
  const s = await setup(t, { payloadBytes: 1024 * 1024 });
  s.served.breakNext(s.release.stage3, 300_000);
  await t.throwsAsync(fetchVerifiedStage3(s.source, 'amd64', 'openrc', { store: s.store }), { message: /broke off/ });
  // Gentoo publishes anew under the same stamp (the stand-in's only way to change the file).
  const next = await s.rebuild({ payloadBytes: 1024 * 1024 });
  const archive = await fetchVerifiedStage3(s.source, 'amd64', 'openrc', { store: s.store, log: log(s) });
  t.is(archive.sha512, next.sha512);
  const last = s.served.requests.filter((r) => r.path === `/${s.release.stage3}`).at(-1)!;
  t.is(last.status, 200, 'the server sent the whole new file');
  t.true(s.logs.some((line) => line.includes('the server sent the whole file, not the rest')));

  // A partial file as long as the tarball but with other bytes: 416 from the server, then the hash refuses it and it goes.
  const other = await setup(t);
  const partial = other.store.partialPath(other.release.stage3);
  await other.store.prepare();
  await writeFile(partial, Buffer.alloc(other.release.size));
  await writeFile(`${partial}.meta.json`, JSON.stringify({ url: `${other.served.url}/${other.release.stage3}`, lastModified: (await stat(other.at(other.release.stage3))).mtime.toUTCString() }));
  await refusedBeforeUnpacking(t, other, /SHA512 is [0-9a-f]+, but .*DIGESTS says/);
  t.false(await exists(partial), 'thrown away');
  const archive2 = await fetchVerifiedStage3(other.source, 'amd64', 'openrc', { store: other.store });
  t.is(archive2.sha512, other.release.sha512, 'the next run downloads it afresh');
});

test('a changed upstream file after a verified download is refused, not swapped in, even with the stored copy gone', async (t) => {
  const s = await setup(t);
  const first = await fetchVerifiedStage3(s.source, 'amd64', 'openrc', { store: s.store });
  const firstBytes = await readFile(first.file);
  // Upstream (or a mirror) now serves another tarball under the same name, validly signed, with its DIGESTS and pointer.
  const changed = await s.rebuild({ release: 'Gentoo Base System release 2.18' });
  t.not(changed.sha512, first.sha512);
  const error = await t.throwsAsync(provide(s), { instanceOf: VerificationFailed });
  t.regex(error!.message, new RegExp(`${s.release.stage3Name}\\.asc \\(.*\\): the mirror now serves a different file .* than the one verified on .* from ${s.served.url}/`));
  t.regex(error!.message, /delete .*verified\/.*\.asc\.json and build again/);
  t.false(await exists(s.target));
  t.deepEqual(await readFile(first.file), firstBytes, 'the verified file is untouched');

  // The same with the records of the small files gone and the stored tarball deleted: the tarball's own record refuses.
  await rm(s.store.recordPath(`${s.release.stage3}.asc`));
  await rm(s.store.recordPath(`${s.release.stage3}.DIGESTS`));
  await rm(first.file);
  const second = await t.throwsAsync(provide(s), { instanceOf: VerificationFailed });
  t.regex(second!.message, new RegExp(`${s.release.stage3Name} \\(.*\\), as its DIGESTS lists it: the mirror now serves a different file \\(SHA512 ${changed.sha512}\\) than the one verified .* \\(SHA512 ${first.sha512}\\)`));
  t.false((await readdir(join(s.store.dir, 'files'))).includes(changed.sha512), 'the new file was not stored');

  // A dated snapshot too.
  const snapshot = await fetchVerifiedSnapshot(s.source, { store: s.store });
  const bytes = await readFile(s.at(s.release.snapshot));
  bytes[bytes.length - 40]! ^= 1;
  await writeFile(s.at(s.release.snapshot), bytes);
  await writeFile(s.at(s.release.gpgsig), await detachSign(bytes, s.keys.snapshot));
  await t.throwsAsync(fetchVerifiedSnapshot(s.source, { store: s.store }), { instanceOf: VerificationFailed, message: /gentoo-20261124\.tar\.xz\.gpgsig .*the mirror now serves a different file/ });
  await rm(s.store.recordPath(`${s.release.snapshot}.gpgsig`));
  await rm(snapshot.file);
  await t.throwsAsync(fetchVerifiedSnapshot(s.source, { store: s.store }), { instanceOf: VerificationFailed, message: new RegExp(`gentoo-20261124\\.tar\\.xz .*the mirror now serves a different file .*\\(SHA512 ${snapshot.sha512}\\)`) });
  t.false(await exists(s.store.partialPath(s.release.snapshot)), 'the refused download was thrown away');
  t.false((await readdir(join(s.store.dir, 'files'))).includes(await sha512File(s.at(s.release.snapshot))), 'the new snapshot was not stored');
});

test('a stored file damaged after verification is refused on the next run and left for inspection', async (t) => {
  const s = await setup(t);
  const first = await fetchVerifiedStage3(s.source, 'amd64', 'openrc', { store: s.store });
  const damaged = await readFile(first.file);
  damaged[100]! ^= 0xff;
  await writeFile(first.file, damaged);
  const error = await refusedBeforeUnpackingStored(t, s);
  t.regex(error, new RegExp(`SHA512 is [0-9a-f]+, but ${s.release.stage3Name}\\.DIGESTS says ${s.release.sha512}; refusing it before anything is unpacked \\(the stored copy ${first.file} is left for inspection: delete it and build again to download it afresh\\)$`));
  t.deepEqual(await readFile(first.file), damaged, 'left where it is');

  await truncate(first.file, 100);
  await t.throwsAsync(provide(s), { instanceOf: VerificationFailed, message: /100 bytes, but the signed pointer says/ });
});

async function refusedBeforeUnpackingStored(t: ExecutionContext, s: Setup): Promise<string> {
  const error = await t.throwsAsync(provide(s), { instanceOf: VerificationFailed });
  t.false(await exists(s.target));
  return error!.message;
}

test('the latest snapshot is verified but not recorded: it changes daily by design', async (t) => {
  const s = await setup(t, { snapshotDate: 'latest' });
  const source = { ...s.source, snapshotDate: 'latest' };
  const first = await fetchVerifiedSnapshot(source, { store: s.store, log: log(s) });
  t.is(first.name, 'gentoo-latest.tar.xz');
  t.false(await exists(s.store.recordPath('snapshots/gentoo-latest.tar.xz')));
  t.true(s.logs.some((line) => line.includes('pin a date for reproducible builds')));
  const next = await s.rebuild({ snapshotDate: 'latest' });
  // The stand-in's snapshot content differs by its timestamp only when the date does; change it by hand.
  const bytes = await readFile(s.at(next.snapshot));
  bytes[bytes.length - 40]! ^= 1;
  await writeFile(s.at(next.snapshot), bytes);
  await writeFile(s.at(next.gpgsig), await detachSign(bytes, s.keys.snapshot));
  const second = await fetchVerifiedSnapshot(source, { store: s.store });
  t.not(second.sha512, first.sha512);
});

async function sha512File(path: string): Promise<string> {
  const { createHash } = await import('node:crypto');
  return createHash('sha512').update(await readFile(path)).digest('hex');
}

test('signatures made by GnuPG with RSA 4096 signing subkeys, as Gentoo makes them, verify; a gpg-signed pointer by another key does not', async (t) => {
  const release = await createGpgTestKey('release');
  t.teardown(release.dispose);
  const snapshot = await createGpgTestKey('snapshot');
  t.teardown(snapshot.dispose);
  const mirrorDir = await scratchDir('gentoo-mirror-gpg-');
  const built = await buildStandinRelease({ dir: mirrorDir, keys: { release, snapshot } });
  t.regex(await readFile(join(mirrorDir, built.pointer), 'utf8'), /^-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n/);
  const served = await serveStandin(mirrorDir);
  t.teardown(() => served.close());
  const keyFile = await writeKeyFile(join(await scratchDir('gentoo-keys-'), 'service-keys.asc'), release, snapshot);
  const source = await resolveGentooSource(
    { mirror: served.url, 'stage3-key-fingerprint': release.fingerprint, 'snapshot-key-fingerprint': snapshot.fingerprint, 'snapshot-date': SNAPSHOT_DATE, 'key-file': keyFile },
    { recipeFile: 'r.yaml' },
  );
  const store = new DownloadStore(join(await scratchDir('gentoo-cache-'), 'gentoo'));
  const archive = await fetchVerifiedStage3(source, 'amd64', 'openrc', { store });
  t.is(archive.sha512, built.sha512);
  t.is(archive.signedBy, release.fingerprint);
  t.is((await fetchVerifiedSnapshot(source, { store })).signedBy, snapshot.fingerprint);

  // The snapshot key signing the pointer: a good signature, by the wrong key.
  await writeFile(join(mirrorDir, built.pointer), await clearsign(pointerText(`${STAMP}/${built.stage3Name}`, built.size), snapshot));
  await t.throwsAsync(fetchVerifiedStage3(source, 'amd64', 'openrc', { store }), { instanceOf: VerificationFailed, message: /signed by .*, not by Gentoo's release key/ });
});

test('a pointer naming an older stage3 than one verified before is refused (a stale or rolled-back mirror); a newer one is taken', async (t) => {
  const s = await setup(t);
  await fetchVerifiedStage3(s.source, 'amd64', 'openrc', { store: s.store });
  // The mirror now offers last week's build, validly signed.
  await s.rebuild({ stamp: '20261117T170000Z' });
  const error = await t.throwsAsync(provide(s), { instanceOf: VerificationFailed });
  t.regex(error!.message, new RegExp(`^latest-stage3-amd64-openrc\\.txt \\(.*\\): names stage3-amd64-openrc-20261117T170000Z\\.tar\\.xz \\(20261117T170000Z\\), older than ${s.release.stage3Name.replaceAll('.', '\\.')} \\(${STAMP}\\), which it named on .*: a stale or rolled-back mirror`));
  t.false(await exists(s.target));
  const newer = await s.rebuild({ stamp: '20261201T170000Z' });
  const archive = await fetchVerifiedStage3(s.source, 'amd64', 'openrc', { store: s.store });
  t.is(archive.name, newer.stage3Name);
  // And now the one before that is refused too.
  await s.rebuild({ stamp: STAMP });
  await t.throwsAsync(fetchVerifiedStage3(s.source, 'amd64', 'openrc', { store: s.store }), { message: /older than stage3-amd64-openrc-20261201T170000Z\.tar\.xz/ });
});

test('a download another running build holds is refused; a lock left by a killed build is taken over', async (t) => {
  const s = await setup(t);
  await s.store.prepare();
  const lockFile = `${s.store.partialPath(s.release.stage3)}.lock`;
  // The test runner's parent process: certainly running, certainly not us.
  await writeFile(lockFile, `${process.ppid}\n`);
  await t.throwsAsync(provide(s), { instanceOf: UserError, message: new RegExp(`${s.release.stage3Name}: another build \\(PID ${process.ppid}\\) is downloading it into .*; wait for it`) });
  t.false(await exists(s.target));
  const { execa } = await import('execa');
  const finished = await execa('sh', ['-c', 'echo $$']);
  await writeFile(lockFile, `${finished.stdout.trim()}\n`);
  await provide(s);
  t.true(await exists(join(s.target, 'etc/gentoo-release')));
  t.false(await exists(lockFile), 'the lock is gone after the download');
});

test('a partial download begun from another mirror is started over, not continued from this one', async (t) => {
  const s = await setup(t);
  await s.store.prepare();
  const partial = s.store.partialPath(s.release.stage3);
  const bytes = await readFile(s.at(s.release.stage3));
  await writeFile(partial, bytes.subarray(0, 1000));
  const lastModified = (await stat(s.at(s.release.stage3))).mtime.toUTCString();
  await writeFile(`${partial}.meta.json`, JSON.stringify({ url: `http://mirror.example.org/gentoo/${s.release.stage3}`, lastModified }));
  await fetchVerifiedStage3(s.source, 'amd64', 'openrc', { store: s.store });
  const get = s.served.requests.find((r) => r.path === `/${s.release.stage3}`)!;
  t.like(get, { status: 200, sent: s.release.size });
  t.is(get.range, undefined);
  // The same partial begun from this mirror is continued.
  const again = await setup(t);
  await again.store.prepare();
  const partial2 = again.store.partialPath(again.release.stage3);
  await writeFile(partial2, (await readFile(again.at(again.release.stage3))).subarray(0, 1000));
  await writeFile(`${partial2}.meta.json`, JSON.stringify({ url: `${again.served.url}/${again.release.stage3}`, lastModified: (await stat(again.at(again.release.stage3))).mtime.toUTCString() }));
  await fetchVerifiedStage3(again.source, 'amd64', 'openrc', { store: again.store });
  t.like(again.served.requests.find((r) => r.path === `/${again.release.stage3}`), { status: 206, range: 'bytes=1000-', sent: again.release.size - 1000 });
});
