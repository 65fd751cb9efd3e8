/**
 * OpenPGP public key files and fingerprints, as the build pins them: Jitsi's repository key
 * (jitsi-repository.ts) and Gentoo's release and snapshot keys (gentoo/) are each pinned by
 * the primary key's v4 fingerprint in the recipe, written and compared the same way.
 */
import * as openpgp from 'openpgp';
import { UserError } from '../lib/errors.js';

/** A public key file is a few KiB (Gentoo's bundle of service keys some 100 KiB); refuse anything that could not be one. */
export const KEY_FILE_MAX_BYTES = 1024 * 1024;

/** `FFD6 5A0D ...` or `ffd65a0d...`: 40 upper-case hex digits; undefined when it is not a v4 fingerprint. */
export function normalizeFingerprint(text: string): string | undefined {
  const hex = text.replace(/\s+/g, '').toUpperCase();
  return /^[0-9A-F]{40}$/.test(hex) ? hex : undefined;
}

/** `FFD6 5A0D A2BE BDEB 73D4  4C8B B4D2 D216 F1FD 7806`, as gpg prints it. */
export function formatFingerprint(hex: string): string {
  const groups = hex.toUpperCase().match(/.{1,4}/g) ?? [];
  return `${groups.slice(0, 5).join(' ')}  ${groups.slice(5).join(' ')}`.trim();
}

/** For a recipe's fingerprint field: why `text` is not a v4 fingerprint, or undefined. */
export function fingerprintProblem(text: string): string | undefined {
  return normalizeFingerprint(text) ? undefined : `'${text}' is not an OpenPGP v4 fingerprint (40 hex digits)`;
}

/**
 * The keys in a key file (armored, several armor blocks, or binary); refuses a file that is
 * not one. Callers refuse private keys, each in its own words.
 */
export async function readKeyFile(bytes: Uint8Array, from: string): Promise<openpgp.Key[]> {
  if (bytes.length > KEY_FILE_MAX_BYTES) throw new UserError(`${from}: ${bytes.length} bytes is not an OpenPGP public key file`);
  const text = Buffer.from(bytes).toString('latin1');
  let keys: openpgp.Key[];
  try {
    // readKeys reads one armor block only; a file of several (`cat a.asc b.asc`) is read block by block.
    const blocks = text.match(/-----BEGIN PGP [A-Z ]+ BLOCK-----[\s\S]*?-----END PGP [A-Z ]+ BLOCK-----/g);
    keys = blocks
      ? (await Promise.all(blocks.map((block) => openpgp.readKeys({ armoredKeys: block })))).flat()
      : await openpgp.readKeys({ binaryKeys: bytes });
  } catch (error) {
    throw new UserError(`${from}: not an OpenPGP public key (${(error as Error).message.split('\n')[0]})`);
  }
  return keys;
}
