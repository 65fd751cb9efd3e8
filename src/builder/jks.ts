/**
 * Clamps the entry dates of a Java KeyStore (JKS) file, so that Debian's
 * /etc/ssl/certs/java/cacerts (written by ca-certificates-java at install time, each entry
 * stamped with the current time) comes out byte-identical in two builds.
 *
 * JKS layout (all big-endian): magic FEEDFEED, version 2, entry count; per entry a tag
 * (1 private key, 2 trusted certificate), the alias (u16 length + modified UTF-8), the
 * creation date (int64 milliseconds), then for a certificate: type (u16 + UTF-8), length
 * (int32) and DER bytes; for a key: length + bytes, then a chain count and certificates.
 * The file ends with SHA-1 over (password as UTF-16BE, "Mighty Aphrodite", everything
 * before the digest). Only the dates change; the digest is recomputed.
 */
import { createHash } from 'node:crypto';

const MAGIC = 0xfeedfeed;
const WHITENER = Buffer.from('Mighty Aphrodite', 'utf8');

function integrityDigest(body: Buffer, password: string): Buffer {
  const passwordBytes = Buffer.alloc(password.length * 2);
  for (let i = 0; i < password.length; i++) passwordBytes.writeUInt16BE(password.charCodeAt(i), i * 2);
  return createHash('sha1').update(passwordBytes).update(WHITENER).update(body).digest();
}

export class KeystoreFormatError extends Error {
  override name = 'KeystoreFormatError';
}

/**
 * Returns the keystore with every entry date later than `epochSeconds` set to it. Refuses
 * files that are not JKS or whose digest does not match `password` (then nothing is
 * changed: we never write a keystore Java would reject).
 */
export function clampKeystoreDates(keystore: Buffer, epochSeconds: number, password = 'changeit'): { bytes: Buffer; clamped: number } {
  if (keystore.length < 32 || keystore.readUInt32BE(0) !== MAGIC) throw new KeystoreFormatError('not a JKS keystore (no FEEDFEED magic)');
  const version = keystore.readUInt32BE(4);
  if (version !== 2) throw new KeystoreFormatError(`JKS version ${version} is not supported (only 2)`);
  const body = keystore.subarray(0, keystore.length - 20);
  if (!integrityDigest(body, password).equals(keystore.subarray(keystore.length - 20))) {
    throw new KeystoreFormatError('keystore digest does not match the password');
  }
  const out = Buffer.from(body);
  const limit = BigInt(epochSeconds) * 1000n;
  let offset = 12;
  const need = (bytes: number) => {
    if (offset + bytes > out.length) throw new KeystoreFormatError('truncated keystore');
  };
  const skipUtf = () => {
    need(2);
    const length = out.readUInt16BE(offset);
    need(2 + length);
    offset += 2 + length;
  };
  const skipCertificate = () => {
    skipUtf(); // certificate type, "X.509"
    need(4);
    const length = out.readUInt32BE(offset);
    need(4 + length);
    offset += 4 + length;
  };
  let clamped = 0;
  const count = out.readUInt32BE(8);
  for (let entry = 0; entry < count; entry++) {
    need(4);
    const tag = out.readUInt32BE(offset);
    offset += 4;
    skipUtf(); // alias
    need(8);
    if (out.readBigInt64BE(offset) > limit) {
      out.writeBigInt64BE(limit, offset);
      clamped++;
    }
    offset += 8;
    if (tag === 2) skipCertificate();
    else if (tag === 1) {
      need(4);
      const keyLength = out.readUInt32BE(offset);
      need(4 + keyLength + 4);
      offset += 4 + keyLength;
      const chain = out.readUInt32BE(offset);
      offset += 4;
      for (let i = 0; i < chain; i++) skipCertificate();
    } else throw new KeystoreFormatError(`unknown entry tag ${tag}`);
  }
  if (offset !== out.length) throw new KeystoreFormatError('trailing bytes after the last entry');
  return { bytes: Buffer.concat([out, integrityDigest(out, password)]), clamped };
}
