/**
 * A verified Gentoo stage3 and ebuild repository snapshot from a mirror.
 *
 * Stage3, in this order, each step refusing with what failed before the next:
 * 1. `releases/<arch>/autobuilds/latest-stage3-<arch>-<flavor>.txt`: must be clearsigned by the
 *    pinned release key; its signed text names the tarball and its size (release-files.ts),
 *    not older (by the build stamp in its name) than one this store verified before;
 * 2. `<tarball>.asc` and `<tarball>.DIGESTS`: a DIGESTS that is clearsigned must be signed by the
 *    same key (a plain one, as older releases have, is only a list of hashes: the tarball's own
 *    signature is what vouches for it); both must be the files verified before under that
 *    name, if any (download-store.ts);
 * 3. the tarball: from the store when a file with DIGESTS' SHA512 is there, else downloaded
 *    (resumed when a partial download exists), then its size (the pointer's), SHA512 (and
 *    BLAKE2B when listed) and its detached signature by the pinned key are all checked
 *    again, on every build, whether it came from the store or the network.
 * Only then is it a `VerifiedArchive`, the one thing unpack.ts accepts.
 *
 * Snapshot: `snapshots/gentoo-<date>.tar.xz` with `.gpgsig`, signed by the pinned snapshot
 * key, its size unknown beforehand (bounded by SNAPSHOT_MAX_BYTES).
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { UserError } from '../../lib/errors.js';
import { formatFingerprint, normalizeFingerprint } from '../openpgp-keys.js';
import { GENTOO_RELEASE_KEY, GENTOO_SNAPSHOT_KEY, type GentooSourceRecipe } from '../recipe/schema.js';
import { DownloadStore, MissingOnMirror } from './download-store.js';
import {
  DIGESTS_MAX_BYTES,
  expectedDigests,
  isClearsigned,
  parseDigests,
  parseStage3Pointer,
  POINTER_MAX_BYTES,
  SIGNATURE_MAX_BYTES,
  snapshotPath,
  stage3PointerPath,
  type GentooArch,
  type Stage3Flavor,
} from './release-files.js';
import { hashFile, loadPinnedKey, VerificationFailed, verifyClearsigned, verifyDetached, type PinnedKey } from './signatures.js';

/** A snapshot of the ebuild repository is some 50 MB xz; anything past this is not one. */
export const SNAPSHOT_MAX_BYTES = 2 * 1024 * 1024 * 1024;

declare const verified: unique symbol;

/** A tarball that passed every check; only this module makes them. */
export interface VerifiedArchive {
  readonly [verified]: true;
  readonly kind: 'stage3' | 'snapshot';
  /** The verified file (in the store, named by its SHA512). */
  readonly file: string;
  /** Its upstream name (`stage3-amd64-openrc-20261124T170000Z.tar.xz`). */
  readonly name: string;
  readonly url: string;
  readonly sha512: string;
  readonly size: number;
  /** Primary fingerprint of the key whose signature verified. */
  readonly signedBy: string;
}

/** Where a build gets Gentoo from: the recipe's `gentoo` section with the keys read. */
export interface GentooSource {
  mirror: string;
  releaseKey: PinnedKey;
  snapshotKey: PinnedKey;
  snapshotDate: string;
}

/**
 * The Gentoo source of a build: mirror and snapshot date from the recipe (`mirror` overrides
 * it), the two pinned keys read from `keyFile` (the recipe's key-file when not given). Refuses,
 * naming the setting, when there is no key file or it lacks a pinned key.
 */
export async function resolveGentooSource(recipe: GentooSourceRecipe | undefined, options: { keyFile?: string; mirror?: string; recipeFile: string }): Promise<GentooSource> {
  if (!recipe) {
    throw new UserError(`${options.recipeFile} has no gentoo section (mirror, pinned keys, snapshot date); a Gentoo build needs one (the defaults are Gentoo's)`);
  }
  const keyFile = options.keyFile ?? recipe['key-file'];
  if (!keyFile) {
    throw new UserError(
      `${options.recipeFile}: no key file for Gentoo's release and snapshot keys: pass --gentoo-key FILE or set gentoo.key-file. ` +
        "Gentoo publishes them on keys.gentoo.org and in app-crypt/openpgp-keys-gentoo-release (/usr/share/openpgp-keys/gentoo-release.asc); check their fingerprints against Gentoo's before trusting the file.",
    );
  }
  const release = normalizeFingerprint(recipe['stage3-key-fingerprint']) ?? GENTOO_RELEASE_KEY;
  const snapshot = normalizeFingerprint(recipe['snapshot-key-fingerprint']) ?? GENTOO_SNAPSHOT_KEY;
  return {
    mirror: (options.mirror ?? recipe.mirror).replace(/\/+$/, ''),
    releaseKey: await loadPinnedKey(keyFile, release, "Gentoo's release key", 'gentoo.stage3-key-fingerprint'),
    snapshotKey: await loadPinnedKey(keyFile, snapshot, "Gentoo's snapshot key", 'gentoo.snapshot-key-fingerprint'),
    snapshotDate: recipe['snapshot-date'],
  };
}

export interface FetchOptions {
  store: DownloadStore;
  log?: (line: string) => void;
}

function urlOf(mirror: string, path: string): string {
  return `${mirror}/${path}`;
}

/** A small file that must exist: a missing one is named as what it is (`the stage3's signature`). */
async function fetchRequired(store: DownloadStore, url: string, max: number, what: string, missing: string): Promise<Buffer> {
  try {
    return await store.fetchSmall(url, max, what);
  } catch (error) {
    if (error instanceof MissingOnMirror) throw new VerificationFailed(`${missing}: ${url} is not on the mirror; refusing to use it unverified`);
    throw error;
  }
}

function sha512Of(bytes: Uint8Array): string {
  return createHash('sha512').update(bytes).digest('hex');
}

/**
 * Takes from the store, or downloads, the tarball at mirror path `path`, expecting `sha512`
 * (and `blake2b`, `size` when known; `storedAs`: a hash to look for in the store when nothing
 * lists one), and verifies hash and detached signature.
 */
async function obtainVerifiedTarball(
  source: { mirror: string; key: PinnedKey },
  path: string,
  expected: { sha512?: string; blake2b?: string; size?: number; maxBytes: number; storedAs?: string },
  signature: Uint8Array,
  signatureName: string,
  options: FetchOptions,
): Promise<{ file: string; sha512: string; size: number }> {
  const { store } = options;
  const url = urlOf(source.mirror, path);
  const name = basename(path);
  const lookup = expected.sha512 ?? expected.storedAs;
  const stored = lookup ? await store.cached(lookup) : undefined;
  if (stored) {
    options.log?.(`${name}: in the download cache (${stored}); verifying it again`);
    return verifyTarball(source, path, stored, true, expected, signature, signatureName, store);
  }
  return store.exclusive(path, name, async () => {
    options.log?.(`${name}: downloading ${url}`);
    let file: string;
    try {
      file = await store.download(path, url, expected.maxBytes, name);
    } catch (error) {
      if (error instanceof MissingOnMirror) throw new VerificationFailed(`${name}: ${url} is not on the mirror (HTTP 404), though it is named as the file to use; refusing`);
      throw error;
    }
    return verifyTarball(source, path, file, false, expected, signature, signatureName, store);
  });
}

/**
 * Checks a tarball, stored or just downloaded, and keeps it under its hash. A download that
 * fails is thrown away (the next build starts over); a stored file that fails is reported and
 * left for inspection.
 */
async function verifyTarball(
  source: { mirror: string; key: PinnedKey },
  path: string,
  file: string,
  isStored: boolean,
  expected: { sha512?: string; blake2b?: string; size?: number },
  signature: Uint8Array,
  signatureName: string,
  store: DownloadStore,
): Promise<{ file: string; sha512: string; size: number }> {
  const url = urlOf(source.mirror, path);
  const name = basename(path);
  const stored = isStored ? file : undefined;
  /** The refusal of this file; a download is thrown away first (a stored copy is left for inspection). */
  const refusal = async (message: string): Promise<VerificationFailed> => {
    if (!stored) await store.discard(file);
    return new VerificationFailed(
      `${message}; refusing it before anything is unpacked ${stored ? `(the stored copy ${stored} is left for inspection: delete it and build again to download it afresh)` : '(the download was thrown away)'}`,
    );
  };
  const actualSize = (await stat(file)).size;
  if (expected.size !== undefined && actualSize !== expected.size) {
    throw await refusal(`${name}: ${actualSize} bytes, but the signed pointer says ${expected.size}`);
  }
  // Hashes first: "SHA512 is X, DIGESTS says Y" tells more than a signature that does not verify.
  const hashes = await hashFile(file);
  if (expected.sha512 && hashes.sha512 !== expected.sha512) {
    throw await refusal(`${name}: SHA512 is ${hashes.sha512}, but ${name}.DIGESTS says ${expected.sha512}`);
  }
  if (expected.blake2b && hashes.blake2b !== expected.blake2b) {
    throw await refusal(`${name}: BLAKE2B is ${hashes.blake2b}, but ${name}.DIGESTS says ${expected.blake2b}`);
  }
  let signed;
  try {
    signed = await verifyDetached(file, signature, source.key, `${name} (${url})`, signatureName);
  } catch (error) {
    if (error instanceof VerificationFailed) throw await refusal(error.message.replace(/; refusing it$/, ''));
    throw error;
  }
  // Nothing changes a file between two reads of it, unless someone else writes to the store.
  if (signed.sha512 !== hashes.sha512) throw await refusal(`${name}: changed while it was being verified`);
  try {
    await store.requireUnchanged(path, hashes.sha512, `${name} (${url})`);
  } catch (error) {
    if (!stored) await store.discard(file);
    throw error;
  }
  const kept = stored ?? (await store.adopt(file, hashes.sha512));
  return { file: kept, sha512: hashes.sha512, size: hashes.size };
}

/**
 * The newest stage3 of `arch` and `flavor` on the mirror, verified (see the top of this file).
 * Throws VerificationFailed naming the file and what did not match.
 */
export async function fetchVerifiedStage3(source: GentooSource, arch: GentooArch, flavor: Stage3Flavor, options: FetchOptions): Promise<VerifiedArchive> {
  const { store } = options;
  await store.prepare();
  const key = source.releaseKey;
  const pointerPath = stage3PointerPath(arch, flavor);
  const pointerUrl = urlOf(source.mirror, pointerPath);
  const pointerName = basename(pointerPath);
  const pointerBytes = await fetchRequired(store, pointerUrl, POINTER_MAX_BYTES, pointerName, `${pointerName}, the pointer to the newest ${arch} ${flavor} stage3`);
  const pointerText = pointerBytes.toString('utf8');
  if (!isClearsigned(pointerText)) {
    throw new VerificationFailed(`${pointerName} (${pointerUrl}): not clearsigned (Gentoo signs it since October 2023): nothing vouches for the file it names; refusing it`);
  }
  const signedPointer = await verifyClearsigned(pointerText, key, `${pointerName} (${pointerUrl})`);
  const pointer = parseStage3Pointer(signedPointer, pointerName, arch, flavor);
  const name = basename(pointer.path);
  const stamp = /-(\d{8}T\d{6}Z)\./.exec(name)?.[1];
  if (stamp) await store.requireNotOlder(pointerPath, stamp, name, `${pointerName} (${pointerUrl})`);
  options.log?.(`${pointerName}: signed by ${key.role} ${formatFingerprint(key.fingerprint)}; it names ${name} (${pointer.size} bytes)`);

  const ascPath = `${pointer.path}.asc`;
  const digestsPath = `${pointer.path}.DIGESTS`;
  const asc = await fetchRequired(store, urlOf(source.mirror, ascPath), SIGNATURE_MAX_BYTES, `${name}.asc`, `${name}.asc, the stage3's signature`);
  const digests = await fetchRequired(store, urlOf(source.mirror, digestsPath), DIGESTS_MAX_BYTES, `${name}.DIGESTS`, `${name}.DIGESTS, the stage3's hashes`);
  const ascSha512 = sha512Of(asc);
  const digestsSha512 = sha512Of(digests);
  await store.requireUnchanged(ascPath, ascSha512, `${name}.asc (${urlOf(source.mirror, ascPath)})`);
  await store.requireUnchanged(digestsPath, digestsSha512, `${name}.DIGESTS (${urlOf(source.mirror, digestsPath)})`);
  let digestsText = digests.toString('utf8');
  if (isClearsigned(digestsText)) {
    digestsText = await verifyClearsigned(digestsText, key, `${name}.DIGESTS (${urlOf(source.mirror, digestsPath)})`);
  } else {
    options.log?.(`${name}.DIGESTS: not signed (older releases); the tarball's own signature (.asc) vouches for it`);
  }
  const expected = expectedDigests(parseDigests(digestsText, `${name}.DIGESTS`), name, `${name}.DIGESTS`);
  await store.requireUnchanged(pointer.path, expected.sha512, `${name} (${urlOf(source.mirror, pointer.path)}), as its DIGESTS lists it`);

  const tarball = await obtainVerifiedTarball(
    { mirror: source.mirror, key },
    pointer.path,
    { ...expected, size: pointer.size, maxBytes: pointer.size },
    asc,
    `${name}.asc`,
    options,
  );
  await store.remember(ascPath, urlOf(source.mirror, ascPath), ascSha512, asc.length, asc);
  await store.remember(digestsPath, urlOf(source.mirror, digestsPath), digestsSha512, digests.length, digests);
  await store.remember(pointer.path, urlOf(source.mirror, pointer.path), tarball.sha512, tarball.size);
  if (stamp) await store.rememberPointer(pointerPath, stamp, name);
  options.log?.(`${name}: SHA512 matches its DIGESTS, signature by ${key.role} ${formatFingerprint(key.fingerprint)} verified`);
  return { kind: 'stage3', file: tarball.file, name, url: urlOf(source.mirror, pointer.path), sha512: tarball.sha512, size: tarball.size, signedBy: key.fingerprint } as VerifiedArchive;
}

/**
 * The ebuild repository snapshot of `source.snapshotDate`, verified against its `.gpgsig` by the
 * pinned snapshot key. A dated snapshot is recorded like a release file (it never changes);
 * `latest` moves daily, so it is verified but never recorded.
 */
export async function fetchVerifiedSnapshot(source: GentooSource, options: FetchOptions): Promise<VerifiedArchive> {
  const { store } = options;
  await store.prepare();
  const key = source.snapshotKey;
  const path = snapshotPath(source.snapshotDate);
  const name = basename(path);
  const url = urlOf(source.mirror, path);
  const pinned = source.snapshotDate !== 'latest';
  const sigPath = `${path}.gpgsig`;
  const signature = await fetchRequired(store, urlOf(source.mirror, sigPath), SIGNATURE_MAX_BYTES, `${name}.gpgsig`, `${name}.gpgsig, the snapshot's signature`);
  const sigSha512 = sha512Of(signature);
  if (pinned) await store.requireUnchanged(sigPath, sigSha512, `${name}.gpgsig (${urlOf(source.mirror, sigPath)})`);
  else options.log?.(`${name}: not pinned (gentoo.snapshot-date: latest); pin a date for reproducible builds`);
  const record = pinned ? await store.record(path) : undefined;
  const tarball = await obtainVerifiedTarball({ mirror: source.mirror, key }, path, { storedAs: record?.sha512, maxBytes: SNAPSHOT_MAX_BYTES }, signature, `${name}.gpgsig`, options);
  if (pinned) {
    await store.remember(sigPath, urlOf(source.mirror, sigPath), sigSha512, signature.length, signature);
    await store.remember(path, url, tarball.sha512, tarball.size);
  }
  options.log?.(`${name}: signature by ${key.role} ${formatFingerprint(key.fingerprint)} verified (SHA512 ${tarball.sha512})`);
  return { kind: 'snapshot', file: tarball.file, name, url, sha512: tarball.sha512, size: tarball.size, signedBy: key.fingerprint } as VerifiedArchive;
}

/** Re-hashes a verified archive: unpack.ts checks it did not change since it was verified. */
export async function requireStillVerified(archive: VerifiedArchive): Promise<void> {
  const { sha512 } = await hashFile(archive.file);
  if (sha512 !== archive.sha512) {
    throw new VerificationFailed(`${archive.file} (${archive.name}) changed after it was verified: SHA512 ${sha512}, verified ${archive.sha512}; refusing to unpack it`);
  }
}
