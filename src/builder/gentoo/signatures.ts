/**
 * Checking Gentoo's OpenPGP signatures with openpgp.js against one pinned key each: the key
 * comes from a file the admin gives (Gentoo's own keyservers are not reachable from every
 * build machine), and only the key whose primary fingerprint the recipe pins is used from it,
 * so whatever else the file holds grants nothing. Gentoo signs with subkeys of the pinned
 * keys (gpg prints the subkey's ID); the pin is on the primary key, as gpg and Gentoo's
 * handbook state it.
 */
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import * as openpgp from 'openpgp';
import { UserError } from '../../lib/errors.js';
import { formatFingerprint, readKeyFile } from '../openpgp-keys.js';

/** A key the recipe pins, read from the admin's key file. */
export interface PinnedKey {
  key: openpgp.Key;
  /** Primary key fingerprint, 40 upper-case hex digits. */
  fingerprint: string;
  /** What it signs, for messages: `Gentoo's release key`. */
  role: string;
  /** The key file it came from. */
  from: string;
}

/** Thrown when a file fails verification: the build refuses it before anything is unpacked. */
export class VerificationFailed extends UserError {
  override name = 'VerificationFailed';
}

/**
 * The key with primary fingerprint `pinned` from a key file (armored or binary, one key or a
 * bundle like Gentoo's gentoo-release.asc). Refuses a file without it, naming what it holds.
 */
export async function loadPinnedKey(file: string, pinned: string, role: string, setting: string): Promise<PinnedKey> {
  const bytes = await readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw new UserError(`${file}: cannot read the key file for ${role} (${error.code ?? error.message})`);
  });
  const keys = await readKeyFile(bytes, file);
  const secret = keys.find((key) => key.isPrivate());
  if (secret) throw new UserError(`${file}: holds a private key (${formatFingerprint(secret.getFingerprint())}); give the public key only`);
  const key = keys.find((candidate) => candidate.getFingerprint().toUpperCase() === pinned);
  if (!key) {
    const held = keys.map((k) => formatFingerprint(k.getFingerprint())).join(', ') || 'no key';
    throw new VerificationFailed(
      `${file}: holds ${held}, not ${role} ${formatFingerprint(pinned)} (pinned by the recipe's ${setting}); refusing before anything is downloaded. ` +
        "Get Gentoo's keys from keys.gentoo.org or app-crypt/openpgp-keys-gentoo-release (/usr/share/openpgp-keys/gentoo-release.asc) and compare their fingerprints with those Gentoo publishes.",
    );
  }
  return { key, fingerprint: pinned, role, from: file };
}

/** `key ID 2C44695DB9F6043D (fingerprint 534E ...)` for the issuers a signature names. */
function describeIssuers(signature: openpgp.Signature): string {
  const described = signature.packets.map((packet) => {
    const id = packet.issuerKeyID?.toHex().toUpperCase();
    const fingerprint = packet.issuerFingerprint ? Buffer.from(packet.issuerFingerprint).toString('hex').toUpperCase() : undefined;
    return fingerprint ? formatFingerprint(fingerprint) : `key ID ${id ?? 'unknown'}`;
  });
  return [...new Set(described)].join(', ') || 'no key';
}

/**
 * Decides on openpgp.js's verification results: at least one signature by the pinned key (its
 * primary key or a subkey) that verifies. Otherwise says whether the file was signed by
 * another key, or by the pinned key but does not match (tampered), or not at all.
 */
type VerificationResults = Awaited<ReturnType<typeof openpgp.verify>>['signatures'];

async function requireGoodSignature(results: VerificationResults, signature: openpgp.Signature, pinned: PinnedKey, what: string): Promise<void> {
  const ours = new Set(pinned.key.getKeyIDs().map((id) => id.toHex()));
  const failures: string[] = [];
  for (const result of results) {
    try {
      await result.verified;
      return;
    } catch (error) {
      if (ours.has(result.keyID.toHex())) failures.push((error as Error).message.replace(/^Error verifying signature: /, ''));
    }
  }
  if (results.length === 0) throw new VerificationFailed(`${what}: holds no signature; refusing it`);
  if (failures.length === 0) {
    throw new VerificationFailed(
      `${what}: signed by ${describeIssuers(signature)}, not by ${pinned.role} ${formatFingerprint(pinned.fingerprint)} (from ${pinned.from}); refusing it`,
    );
  }
  throw new VerificationFailed(`${what}: the signature by ${pinned.role} ${formatFingerprint(pinned.fingerprint)} does not verify (${failures.join('; ')}): the file was changed after signing or damaged; refusing it`);
}

/**
 * The signed text of a clearsigned file, once its signature by the pinned key verified. Only
 * the signed text is returned: anything a mirror put around the armor is never read.
 */
export async function verifyClearsigned(text: string, pinned: PinnedKey, what: string): Promise<string> {
  let message: openpgp.CleartextMessage;
  try {
    message = await openpgp.readCleartextMessage({ cleartextMessage: text });
  } catch (error) {
    throw new VerificationFailed(`${what}: not an OpenPGP clearsigned message (${(error as Error).message.split('\n')[0]}); refusing it`);
  }
  const result = await openpgp.verify({ message, verificationKeys: pinned.key });
  // The type declarations leave out the parsed signature, which every CleartextMessage holds.
  await requireGoodSignature(result.signatures, (message as unknown as { signature: openpgp.Signature }).signature, pinned, what);
  return result.data;
}

/** Reads a detached signature, armored (`.asc`, `.gpgsig`) or binary. */
export async function readDetachedSignature(bytes: Uint8Array, what: string): Promise<openpgp.Signature> {
  const text = Buffer.from(bytes).toString('latin1');
  try {
    return text.includes('-----BEGIN PGP SIGNATURE-----')
      ? await openpgp.readSignature({ armoredSignature: text })
      : await openpgp.readSignature({ binarySignature: bytes });
  } catch (error) {
    throw new VerificationFailed(`${what}: not an OpenPGP signature (${(error as Error).message.split('\n')[0]}); refusing it`);
  }
}

export interface FileHashes {
  sha512: string;
  blake2b: string;
  size: number;
}

/** SHA512 and BLAKE2B of a file, in one read. */
export async function hashFile(path: string): Promise<FileHashes> {
  const sha512 = createHash('sha512');
  const blake2b = createHash('blake2b512');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    sha512.update(chunk as Buffer);
    blake2b.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha512: sha512.digest('hex'), blake2b: blake2b.digest('hex'), size };
}

/**
 * Checks a detached signature over a file by the pinned key, streaming it (a stage3 is some
 * 300 MB), and returns the file's hashes from the same read.
 */
export async function verifyDetached(path: string, signatureBytes: Uint8Array, pinned: PinnedKey, what: string, signatureWhat: string): Promise<FileHashes> {
  const signature = await readDetachedSignature(signatureBytes, signatureWhat);
  const sha512 = createHash('sha512');
  const blake2b = createHash('blake2b512');
  let size = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      sha512.update(chunk);
      blake2b.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  const source = createReadStream(path).pipe(hashing);
  const message = await openpgp.createMessage({ binary: Readable.toWeb(source) as unknown as ReadableStream<Uint8Array> });
  const result = await openpgp.verify({ message, signature, verificationKeys: pinned.key, format: 'binary' });
  // The signatures are decided only once the data has been read to its end.
  const reader = (result.data as ReadableStream<Uint8Array>).getReader();
  while (!(await reader.read()).done);
  await requireGoodSignature(result.signatures, signature, pinned, what);
  return { sha512: sha512.digest('hex'), blake2b: blake2b.digest('hex'), size };
}
