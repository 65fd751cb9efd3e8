/**
 * Signs a release directory: `<artifact>.asc` for every artifact, `SHA256SUMS` listing them,
 * and `SHA256SUMS.gpg`, the detached signature systemd-pull checks.
 *
 * Never half-signed: everything new is written under temporary names first and renamed into
 * place only when all signatures exist; on failure the temporary files are removed and the
 * directory is as it was. A file nobody would sign or list is refused rather than silently
 * published unsigned. Re-signing an unchanged directory changes nothing: signatures that
 * still verify with this key are kept (OpenPGP signatures carry a time, so fresh ones would
 * differ byte for byte).
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type * as openpgp from 'openpgp';
import { UserError } from '../lib/errors.js';
import { listRelease, SIGNATURE_SUFFIX, SUMS_FILE, SUMS_SIGNATURE_FILE, TEMPORARY_PREFIX } from './artifacts.js';
import { formatSums, type SumsEntry } from './checksums.js';
import { signBytes, signFile, verifyBytes, verifyFile } from './signatures.js';

export interface SignOutcome {
  /** Files written (new or replaced), by name. */
  written: string[];
  /** Files that were already right and were left alone. */
  unchanged: string[];
  artifacts: SumsEntry[];
}

interface PendingFile {
  name: string;
  temporary: string;
}

export async function signRelease(dir: string, key: openpgp.PrivateKey, log: (line: string) => void = () => {}): Promise<SignOutcome> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new UserError(`${dir}: not a directory; pass the release directory holding the tarballs`);
  const listing = await listRelease(dir);
  for (const leftover of listing.leftovers) await rm(join(dir, leftover), { force: true });
  const refused = [
    ...listing.unknown.map((name) => `${name}: neither an artifact (.tar*, .nspawn, .packages) nor a signature; move it out of the release directory`),
    ...listing.orphanSignatures.map(
      (name) => `${name}: signature of ${name.slice(0, -SIGNATURE_SUFFIX.length)}, which is not in the directory; delete the stale signature`,
    ),
  ];
  if (refused.length) throw new UserError(`${dir}: refusing to sign, these files would be published without being covered:\n  ${refused.join('\n  ')}`);
  if (listing.artifacts.length === 0) throw new UserError(`${dir}: no artifacts to sign (expected .tar.xz/.tar.zst/.tar.gz/.tar, .nspawn or .packages files)`);

  const publicKey = key.toPublic();
  const pending: PendingFile[] = [];
  const unchanged: string[] = [];
  const entries: SumsEntry[] = [];
  const stage = async (name: string, content: string | Uint8Array) => {
    const temporary = join(dir, `${TEMPORARY_PREFIX}${randomBytes(6).toString('hex')}`);
    pending.push({ name, temporary });
    const handle = await open(temporary, 'wx', 0o644);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
  };
  try {
    for (const artifact of listing.artifacts) {
      const path = join(dir, artifact);
      const signatureName = artifact + SIGNATURE_SUFFIX;
      if (listing.signatures.includes(signatureName)) {
        const existing = await readFile(join(dir, signatureName));
        const { check, sha256 } = await verifyFile(path, existing, [publicKey]);
        if (check.ok) {
          log(`${artifact}: signature still valid, kept`);
          unchanged.push(signatureName);
          entries.push({ name: artifact, sha256 });
          continue;
        }
      }
      log(`${artifact}: signing`);
      const { armoredSignature, sha256 } = await signFile(path, key);
      await stage(signatureName, armoredSignature);
      entries.push({ name: artifact, sha256 });
    }

    const sums = Buffer.from(formatSums(entries));
    const oldSums = listing.hasSums ? await readFile(join(dir, SUMS_FILE)) : undefined;
    const oldSignature = listing.hasSumsSignature ? await readFile(join(dir, SUMS_SIGNATURE_FILE)) : undefined;
    const keepSums = oldSums?.equals(sums) && oldSignature && (await verifyBytes(sums, oldSignature, [publicKey])).ok;
    if (keepSums) {
      unchanged.push(SUMS_FILE, SUMS_SIGNATURE_FILE);
    } else {
      await stage(SUMS_FILE, sums);
      await stage(SUMS_SIGNATURE_FILE, await signBytes(sums, key));
    }
    // Per-file signatures first, SHA256SUMS.gpg last: what systemd-pull checks changes at the end.
    for (const file of pending) await rename(file.temporary, join(dir, file.name));
    return { written: pending.map((file) => file.name), unchanged, artifacts: entries };
  } catch (error) {
    await Promise.all(pending.map((file) => rm(file.temporary, { force: true })));
    throw error;
  }
}
