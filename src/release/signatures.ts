/**
 * Detached OpenPGP signatures over files, streamed through openpgp.js: the file is read once,
 * in chunks, and the same chunks feed a SHA-256 for SHA256SUMS.
 *
 * Two openpgp.js details shape this file. `sign({detached: true, format: 'armored'})` with a
 * stream buffers the whole input (it reads the full message alongside the signature), so we
 * ask for the signature object and drain the data ourselves. And openpgp.js redirects a
 * stream it clones by patching its methods, which a native stream's async iterator ignores:
 * streams are read through `getReader()` only.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import * as openpgp from 'openpgp';
import { hashingStream } from './checksums.js';

export type SignatureFailure = 'bad signature' | 'unknown key';

export type SignatureCheck = { ok: true; keyId: string } | { ok: false; failure: SignatureFailure; detail: string };

function webStreamOf(stream: Readable): ReadableStream<Uint8Array> {
  return Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>;
}

/** Reads a stream to its end, keeping nothing but what `keep` is given. */
async function consume<T>(stream: unknown, keep?: (chunk: T) => void): Promise<void> {
  if (!stream || typeof (stream as ReadableStream<T>).getReader !== 'function') {
    if (stream !== null && stream !== undefined) keep?.(stream as T);
    return;
  }
  const reader = (stream as ReadableStream<T>).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    keep?.(value);
  }
}

/** Signs `path` (armored, detached) and returns the signature and the file's SHA-256. */
export async function signFile(path: string, key: openpgp.PrivateKey): Promise<{ armoredSignature: string; sha256: string }> {
  const hash = createHash('sha256');
  const message = await openpgp.createMessage({ binary: webStreamOf(hashingStream(path, hash)) });
  const signature = await openpgp.sign({ message, signingKeys: key, detached: true, format: 'object' });
  let armoredSignature = '';
  await Promise.all([consume(message.getLiteralData()), consume<string>(signature.armor(), (chunk) => (armoredSignature += chunk))]);
  return { armoredSignature, sha256: hash.digest('hex') };
}

/** Binary detached signature of data in memory (SHA256SUMS is small). */
export async function signBytes(data: Uint8Array, key: openpgp.PrivateKey): Promise<Uint8Array> {
  const message = await openpgp.createMessage({ binary: data });
  return openpgp.sign({ message, signingKeys: key, detached: true, format: 'binary' }) as Promise<Uint8Array>;
}

async function parseSignature(signatureBytes: Uint8Array): Promise<openpgp.Signature> {
  const head = Buffer.from(signatureBytes.subarray(0, 4096)).toString('latin1');
  return head.includes('-----BEGIN PGP SIGNATURE-----')
    ? openpgp.readSignature({ armoredSignature: Buffer.from(signatureBytes).toString('utf8') })
    : openpgp.readSignature({ binarySignature: signatureBytes });
}

/**
 * Tells "signed by a key we do not trust" apart from "signature does not match": the first
 * means a wrong or missing --key, the second a tampered file or signature. The message is
 * always read to its end, so a streamed file is fully hashed whatever the outcome.
 */
async function check(signatureBytes: Uint8Array, message: openpgp.Message<any>, keys: readonly openpgp.PublicKey[]): Promise<SignatureCheck> {
  let signature: openpgp.Signature;
  try {
    signature = await parseSignature(signatureBytes);
  } catch (error) {
    await consume(message.getLiteralData());
    return { ok: false, failure: 'bad signature', detail: `not an OpenPGP signature (${(error as Error).message})` };
  }
  const issuers = signature.getSigningKeyIDs();
  const known = issuers.filter((id) => keys.some((key) => key.getKeys(id).length > 0));
  if (known.length === 0) {
    await consume(message.getLiteralData());
    const ids = issuers.map((id) => id.toHex().toUpperCase()).join(', ') || 'none';
    return { ok: false, failure: 'unknown key', detail: `made by key ${ids}, which is not among the trusted keys` };
  }
  try {
    const result = await openpgp.verify({ message, signature, verificationKeys: [...keys], format: 'binary' });
    // With a streamed message the signature is only decided once all data has been read.
    await consume(result.data);
    const verified = result.signatures.find((entry) => known.some((id) => id.equals(entry.keyID)))!;
    await verified.verified;
    return { ok: true, keyId: verified.keyID.toHex().toUpperCase() };
  } catch (error) {
    return { ok: false, failure: 'bad signature', detail: (error as Error).message.replace(/^Error verifying signed message: /, '') };
  }
}

export async function verifyBytes(data: Uint8Array, signatureBytes: Uint8Array, keys: readonly openpgp.PublicKey[]): Promise<SignatureCheck> {
  return check(signatureBytes, await openpgp.createMessage({ binary: data }), keys);
}

/** Checks a detached signature over `path` and hashes the file in the same read. */
export async function verifyFile(
  path: string,
  signatureBytes: Uint8Array,
  keys: readonly openpgp.PublicKey[],
): Promise<{ check: SignatureCheck; sha256: string }> {
  const hash = createHash('sha256');
  const message = await openpgp.createMessage({ binary: webStreamOf(hashingStream(path, hash)) });
  const result = await check(signatureBytes, message, keys);
  return { check: result, sha256: hash.digest('hex') };
}
