/**
 * OpenPGP keys for release signing, made and read with openpgp.js.
 *
 * Compatibility drives the choices here: the verifiers that matter are GnuPG 2.2 (Debian
 * bookworm) and systemd-pull, which runs that gpg. GnuPG 2.2 understands neither v6 keys
 * (RFC 9580) nor the new Ed25519 algorithm id, so keys are v4 with EdDSA on the legacy
 * curve25519 encoding (what `gpg --quick-gen-key ... ed25519` makes), or RSA 4096.
 */
import { readFile } from 'node:fs/promises';
import * as openpgp from 'openpgp';
import { UserError } from '../lib/errors.js';

export type KeyAlgorithm = 'ed25519' | 'rsa4096';

export interface GeneratedKey {
  /** Armored private key, encrypted with the passphrase. */
  privateArmored: string;
  publicArmored: string;
  /** Binary transferable public key: the format of systemd's import-pubring.gpg. */
  publicBinary: Uint8Array;
  fingerprint: string;
}

/** Public-key algorithm ids (RFC 4880 / RFC 9580) that GnuPG 2.2 cannot use. */
const UNSUPPORTED_BY_GNUPG_22 = new Set(['ed25519', 'ed448', 'x25519', 'x448']);

export async function generateSigningKey(options: {
  name: string;
  email: string;
  algorithm: KeyAlgorithm;
  passphrase: string;
}): Promise<GeneratedKey> {
  const algorithm =
    options.algorithm === 'rsa4096'
      ? ({ type: 'rsa', rsaBits: 4096 } as const)
      : ({ type: 'ecc', curve: 'curve25519Legacy' } as const);
  const { privateKey } = await openpgp.generateKey({
    ...algorithm,
    userIDs: [{ name: options.name, email: options.email }],
    passphrase: options.passphrase,
    // A signing key needs no encryption subkey; fewer parts, fewer ways to confuse a verifier.
    subkeys: [],
    format: 'object',
    config: { v6Keys: false },
  });
  const publicKey = privateKey.toPublic();
  return {
    privateArmored: privateKey.armor(),
    publicArmored: publicKey.armor(),
    publicBinary: publicKey.write() as Uint8Array,
    fingerprint: publicKey.getFingerprint().toUpperCase(),
  };
}

function isArmored(data: Buffer): boolean {
  return data.subarray(0, 4096).toString('latin1').includes('-----BEGIN PGP ');
}

/**
 * Reads a private key (armored or binary) and unlocks it. `passphrase` is only asked for when
 * the key is encrypted, so an unprotected key (a CI key, say) needs none.
 */
export async function readSigningKey(path: string, passphrase: () => Promise<string>): Promise<openpgp.PrivateKey> {
  const data = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    throw new UserError(`${path}: cannot read the signing key (${error.code ?? error.message})`);
  });
  let key: openpgp.PrivateKey;
  try {
    key = isArmored(data) ? await openpgp.readPrivateKey({ armoredKey: data.toString('utf8') }) : await openpgp.readPrivateKey({ binaryKey: data });
  } catch (error) {
    throw new UserError(
      `${path}: not an OpenPGP private key (${(error as Error).message}); pass the '<name>.private.asc' written by 'nspawn-jitsi keygen' or a key exported with 'gpg --export-secret-keys --armor'`,
    );
  }
  checkVerifiersUnderstand(key, path);
  if (!key.isDecrypted()) {
    const secret = await passphrase();
    try {
      key = await openpgp.decryptKey({ privateKey: key, passphrase: secret });
    } catch {
      throw new UserError(`${path}: wrong passphrase (the key could not be unlocked)`);
    }
  }
  try {
    await key.getSigningKey();
  } catch (error) {
    throw new UserError(`${path}: this key cannot make signatures (${(error as Error).message})`);
  }
  return key;
}

function checkVerifiersUnderstand(key: openpgp.Key, path: string): void {
  if (key.keyPacket.version !== 4) {
    throw new UserError(
      `${path}: a v${key.keyPacket.version} key; GnuPG 2.2 and the systemd-pull that uses it only verify v4 keys: make one with 'nspawn-jitsi keygen'`,
    );
  }
  const algorithm = key.getAlgorithmInfo().algorithm;
  if (UNSUPPORTED_BY_GNUPG_22.has(algorithm)) {
    throw new UserError(
      `${path}: algorithm '${algorithm}' (RFC 9580) is unknown to GnuPG 2.2 and systemd-pull: use an EdDSA (legacy curve25519) or RSA key, as 'nspawn-jitsi keygen' makes`,
    );
  }
}

/** Public keys from an armored or binary file; a private key file yields its public part. */
export async function readPublicKeys(path: string): Promise<openpgp.PublicKey[]> {
  const data = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    throw new UserError(`${path}: cannot read the public key (${error.code ?? error.message})`);
  });
  try {
    const keys = isArmored(data) ? await openpgp.readKeys({ armoredKeys: data.toString('utf8') }) : await openpgp.readKeys({ binaryKeys: data });
    return keys.map((key) => key.toPublic());
  } catch (error) {
    throw new UserError(`${path}: no OpenPGP public key could be read (${(error as Error).message})`);
  }
}

/** Binary keyring: the concatenated public keys, as systemd's import-pubring.gpg wants it. */
export function binaryKeyring(keys: readonly openpgp.Key[]): Uint8Array {
  const parts = keys.map((key) => key.toPublic().write() as Uint8Array);
  return Buffer.concat(parts);
}
