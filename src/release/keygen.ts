/**
 * Writes a new release signing key to a directory: the encrypted private key (0600), the
 * armored public key, and the public key as the binary keyring systemd reads, under both
 * names systemd versions use (`import-pubring.gpg`, `import-pubring.pgp`; same bytes).
 *
 * An existing file is never replaced: losing a private key that signed published releases
 * cannot be undone. All files appear or none do.
 */
import { link, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeTemporaryBeside } from '../lib/atomic-write.js';
import { UserError } from '../lib/errors.js';
import { generateSigningKey, type KeyAlgorithm } from './keys.js';

export interface KeygenResult {
  fingerprint: string;
  files: { privateKey: string; publicKey: string; keyrings: string[] };
}

/** `Jitsi Release Team` -> `jitsi-release-team`: a file name a shell needs no quotes for. */
export function fileBaseName(name: string): string {
  const base = name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return base || 'release-key';
}

export async function writeNewKey(options: {
  name: string;
  email: string;
  algorithm: KeyAlgorithm;
  passphrase: string;
  outDir: string;
  baseName?: string;
}): Promise<KeygenResult> {
  if (!/^[^\s@<>]+@[^\s@<>]+$/.test(options.email)) throw new UserError(`--email '${options.email}' is not an e-mail address`);
  if (/[<>]/.test(options.name)) throw new UserError(`--name must not contain '<' or '>' (they delimit the e-mail in the key's user id)`);
  if (options.passphrase.length < 8) throw new UserError('the passphrase must have at least 8 characters: it is all that protects the private key');
  const base = options.baseName ?? fileBaseName(options.name);
  const names = {
    privateKey: `${base}.private.asc`,
    publicKey: `${base}.public.asc`,
    keyrings: ['import-pubring.gpg', 'import-pubring.pgp'],
  };
  const key = await generateSigningKey(options);
  const files: { name: string; content: string | Uint8Array; mode: number }[] = [
    { name: names.privateKey, content: key.privateArmored, mode: 0o600 },
    { name: names.publicKey, content: key.publicArmored, mode: 0o644 },
    ...names.keyrings.map((name) => ({ name, content: key.publicBinary, mode: 0o644 })),
  ];
  await mkdir(options.outDir, { recursive: true });
  const staged: { temporary: string; target: string }[] = [];
  const linked: string[] = [];
  try {
    for (const file of files) {
      const target = join(options.outDir, file.name);
      // Created with its final mode: the private key is never readable by others, not even briefly.
      staged.push({ temporary: await writeTemporaryBeside(target, file.content, { mode: file.mode }), target });
    }
    // link() fails with EEXIST instead of replacing: no check-then-write race.
    for (const { temporary, target } of staged) {
      try {
        await link(temporary, target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new UserError(`${target} already exists; move it away or choose another --out (an existing key is never replaced)`);
        }
        throw error;
      }
      linked.push(target);
    }
  } catch (error) {
    await Promise.all(linked.map((path) => rm(path, { force: true })));
    throw error;
  } finally {
    await Promise.all(staged.map(({ temporary }) => rm(temporary, { force: true })));
  }
  return {
    fingerprint: key.fingerprint,
    files: {
      privateKey: join(options.outDir, names.privateKey),
      publicKey: join(options.outDir, names.publicKey),
      keyrings: names.keyrings.map((name) => join(options.outDir, name)),
    },
  };
}
