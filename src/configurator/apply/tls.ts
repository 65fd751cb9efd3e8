/**
 * TLS material at the canonical paths of paths.ts (webTls, authTls), whatever its source:
 * a self-signed pair made here with openssl, the admin's own pair copied in, or a Let's
 * Encrypt certificate put there by the deploy hook (letsencrypt.ts).
 *
 * A pair that is already right is kept as it is: re-running the configurator must not
 * change a certificate (clients that trusted it would stop trusting it).
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { readSmallRegularFile } from '../small-file.js';
import { join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../../lib/errors.js';
import { pathInRoot } from '../validators.js';
import { writeFileAtomic, type WriteOutcome } from './files.js';

/** A certificate is renewed when it expires within this many days. */
const RENEW_BEFORE_DAYS = 30;
const SELF_SIGNED_DAYS = 3650;

export interface TlsPair {
  /** Absolute paths on the machine doing the apply (root prefix included). */
  cert: string;
  key: string;
}

export interface KeyAccess {
  /** Key file mode: never world-readable. */
  mode: number;
  uid: number;
  /** Group that may read the key (prosody and coturn run under their own users). */
  gid: number;
}

export interface PairOutcome {
  cert: WriteOutcome;
  key: WriteOutcome;
}

function parseCertificate(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/** DNS names of a certificate's subjectAltName, sorted. */
export function certificateNames(certificate: X509Certificate): string[] {
  return (certificate.subjectAltName ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4))
    .sort();
}

function expiresWithin(certificate: X509Certificate, days: number): boolean {
  return new Date(certificate.validTo).getTime() - Date.now() < days * 86_400_000;
}

/** The pair on disk, when both files parse and the key belongs to the certificate. */
export async function readPair(pair: TlsPair): Promise<{ certificate: X509Certificate; certPem: string; keyPem: string } | undefined> {
  const certPem = await readFile(pair.cert, 'utf8').catch(() => undefined);
  const keyPem = await readFile(pair.key, 'utf8').catch(() => undefined);
  if (certPem === undefined || keyPem === undefined) return undefined;
  const certificate = parseCertificate(certPem);
  if (!certificate) return undefined;
  try {
    if (!certificate.checkPrivateKey(createPrivateKey(keyPem))) return undefined;
  } catch {
    return undefined;
  }
  return { certificate, certPem, keyPem };
}

/** True when a self-signed pair for exactly these names, valid for a while yet, is in place. */
export async function hasUsableSelfSigned(pair: TlsPair, names: readonly string[]): Promise<boolean> {
  const existing = await readPair(pair);
  if (!existing) return false;
  const { certificate } = existing;
  return (
    certificate.subject === certificate.issuer &&
    certificate.checkIssued(certificate) &&
    certificateNames(certificate).join(',') === [...names].sort().join(',') &&
    !expiresWithin(certificate, RENEW_BEFORE_DAYS)
  );
}

/** True when any certificate with its key is in place (a temporary one while waiting for ACME). */
export async function hasAnyPair(pair: TlsPair): Promise<boolean> {
  return (await readPair(pair)) !== undefined;
}

/**
 * Makes a self-signed pair (EC P-256) naming `names` (the first is the subject CN), unless a
 * usable one is already there. The new key is made in a private scratch directory and moved
 * into place atomically with its final mode, so it is never readable by others.
 */
export async function ensureSelfSigned(
  pair: TlsPair,
  names: readonly string[],
  access: KeyAccess,
  scratchParent: string,
  backupDir?: string,
  root?: string,
): Promise<PairOutcome> {
  if (await hasUsableSelfSigned(pair, names)) return { cert: 'unchanged', key: 'unchanged' };
  const scratch = await mkdtemp(join(scratchParent, '.tls-'));
  try {
    const keyFile = join(scratch, 'key.pem');
    const certFile = join(scratch, 'cert.pem');
    await execa('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-days', String(SELF_SIGNED_DAYS),
      '-subj', `/CN=${names[0]}`,
      '-addext', `subjectAltName=${names.map((name) => `DNS:${name}`).join(',')}`,
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,digitalSignature,keyCertSign',
      '-addext', 'extendedKeyUsage=serverAuth,clientAuth',
      '-keyout', keyFile, '-out', certFile,
    ], { stdin: 'ignore' });
    return await installPair(pair, await readFile(certFile), await readFile(keyFile), access, backupDir, root);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Writes key first, then certificate: a reader never sees a new certificate with an old key for longer than a rename. */
export async function installPair(pair: TlsPair, certPem: Buffer | string, keyPem: Buffer | string, access: KeyAccess, backupDir?: string, root?: string): Promise<PairOutcome> {
  const key = await writeFileAtomic(pair.key, keyPem, { mode: access.mode, uid: access.uid, gid: access.gid, backupDir, root });
  const cert = await writeFileAtomic(pair.cert, certPem, { mode: 0o644, uid: 0, gid: 0, backupDir, root });
  return { cert, key };
}

/**
 * Copies the admin's own pair to the canonical paths, after checking that it parses and the
 * key matches the certificate (a swapped or mismatched pair is the classic way coturn and
 * nginx break).
 */
export async function installOwnPair(source: TlsPair, target: TlsPair, access: KeyAccess, backupDir: string, root: string): Promise<PairOutcome> {
  // The admin's paths are paths inside the image, like every path of the master config; the
  // answers were checked under the same root (validators.ts), so read them there too.
  const read = (key: 'cert' | 'key', what: string) => {
    try {
      return readSmallRegularFile(pathInRoot(root, source[key]), source[key]);
    } catch (error) {
      if (error instanceof UserError) throw new UserError(`tls.${key}: ${error.message}`);
      throw new UserError(`tls.${key}: cannot read ${source[key]}; give the path of your ${what} (PEM)`);
    }
  };
  const certPem = read('cert', 'certificate');
  const keyPem = read('key', 'private key');
  const certificate = parseCertificate(certPem);
  if (!certificate) throw new UserError(`tls.cert: ${source.cert} is not a PEM certificate`);
  let matches = false;
  try {
    matches = certificate.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    throw new UserError(`tls.key: ${source.key} is not a PEM private key (is it password-protected or swapped with the certificate?)`);
  }
  if (!matches) throw new UserError(`tls.key: ${source.key} does not belong to the certificate ${source.cert}`);
  return installPair(target, certPem, keyPem, access, backupDir, root);
}
