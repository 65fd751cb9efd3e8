/**
 * Signs a release directory: `<artifact>.asc` for every artifact, `SHA256SUMS` listing them,
 * and `SHA256SUMS.gpg`, the detached signature systemd-pull checks.
 *
 * Nothing is signed until every tarball passed the build's inspection (inspect/gate.ts): a
 * tarball with per-instance state, secrets or unsafe modes in it is refused, whoever signs.
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
import { isTarball } from '../image/artifact-names.js';
import { listRelease, type ReleaseListing, SIGNATURE_SUFFIX, SUMS_FILE, SUMS_SIGNATURE_FILE, TEMPORARY_PREFIX } from './artifacts.js';
import { formatSums, type SumsEntry } from './checksums.js';
import { inspectForRelease, thingsThatMustNotShip } from './inspect/gate.js';
import { signBytes, signFile, verifyBytes, verifyFile } from './signatures.js';

export interface SignOutcome {
  /** Files written (new or replaced), by name. */
  written: string[];
  /** Absolute paths of the files written (in the staging directory when one was given). */
  writtenPaths: string[];
  /** Files that were already right and were left alone. */
  unchanged: string[];
  artifacts: SumsEntry[];
}

export interface SignOptions {
  log?: (line: string) => void;
  /**
   * A build's private staging directory: its files count as if they were in `dir` (they
   * replace same-named ones there), and every new file is written into it under its final
   * name instead of into `dir`. The build moves them into `dir` when the whole build succeeded,
   * so SHA256SUMS covers both the new artifacts and those of earlier builds in `dir`.
   */
  stagingDir?: string;
  /** Stops the inspection of the tarballs (a cancelled build). */
  signal?: AbortSignal;
}

interface PendingFile {
  name: string;
  /** Where the content is now. */
  written: string;
}

/** What the directory holds, with the staging directory's files overlaid on it. */
async function mergedListing(dir: string, stagingDir: string | undefined) {
  const base = await listRelease(dir);
  const paths = new Map<string, string>();
  for (const name of [...base.artifacts, ...base.signatures, ...base.orphanSignatures]) paths.set(name, join(dir, name));
  if (!stagingDir) return { listing: base, paths, sumsDir: dir };
  const staged = await listRelease(stagingDir);
  for (const name of [...staged.artifacts, ...staged.signatures, ...staged.orphanSignatures]) paths.set(name, join(stagingDir, name));
  // Recompute the categories over the union: a staged artifact adopts a signature in `dir`.
  const artifacts = [...new Set([...base.artifacts, ...staged.artifacts])].sort();
  const allSignatures = [...new Set([...base.signatures, ...base.orphanSignatures, ...staged.signatures, ...staged.orphanSignatures])];
  const signatures = allSignatures.filter((name) => artifacts.includes(name.slice(0, -SIGNATURE_SUFFIX.length)));
  const listing: ReleaseListing = {
    artifacts,
    signatures,
    orphanSignatures: allSignatures.filter((name) => !signatures.includes(name)).sort(),
    hasSums: base.hasSums,
    hasSumsSignature: base.hasSumsSignature,
    publicKeys: [...base.publicKeys, ...staged.publicKeys],
    leftovers: base.leftovers,
    unknown: [...base.unknown, ...staged.unknown.map((name) => join(stagingDir, name))],
    notFiles: [...base.notFiles, ...staged.notFiles.map((entry) => ({ ...entry, name: join(stagingDir, entry.name) }))],
  };
  return { listing, paths, sumsDir: dir };
}

/**
 * Throws when the directory holds files a signature would not cover: published next to a
 * signed release they would look vouched for.
 */
export function refuseUncovered(dir: string, listing: ReleaseListing): void {
  const refused = [
    ...listing.notFiles.map(({ name, why }) => `${name}: ${why}`),
    ...listing.unknown.map((name) => `${name}: neither an artifact (.tar*, .nspawn, .packages) nor a signature; move it out of the release directory`),
    ...listing.orphanSignatures.map(
      (name) => `${name}: signature of ${name.slice(0, -SIGNATURE_SUFFIX.length)}, which is not in the directory; delete the stale signature`,
    ),
  ];
  if (refused.length) throw new UserError(`${dir}: refusing to sign, these files would be published without being covered:\n  ${refused.join('\n  ')}`);
}

export async function signRelease(dir: string, key: openpgp.PrivateKey, options: SignOptions = {}): Promise<SignOutcome> {
  const log = options.log ?? (() => {});
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new UserError(`${dir}: not a directory; pass the release directory holding the tarballs`);
  const { listing, paths, sumsDir } = await mergedListing(dir, options.stagingDir);
  for (const leftover of listing.leftovers) await rm(join(dir, leftover), { force: true });
  refuseUncovered(dir, listing);
  if (listing.artifacts.length === 0) throw new UserError(`${dir}: no artifacts to sign (expected .tar.xz/.tar.zst/.tar.gz/.tar, .nspawn or .packages files)`);
  // Every tarball SHA256SUMS will vouch for, earlier ones included: the same inspection as the build's.
  const { failures } = await inspectForRelease(
    listing.artifacts.filter((name) => isTarball(name)).map((name) => paths.get(name)!),
    { log, signal: options.signal },
  );
  if (failures.length) {
    throw new UserError(
      `${dir}: refusing to sign, the images hold ${thingsThatMustNotShip(failures)} (fix the image and rebuild it; 'nspawn-jitsi inspect TARBALL' shows the whole report):\n  ${failures.join('\n  ')}`,
    );
  }

  const publicKey = key.toPublic();
  const pending: PendingFile[] = [];
  const unchanged: string[] = [];
  const entries: SumsEntry[] = [];
  const stage = async (name: string, content: string | Uint8Array) => {
    const written = options.stagingDir ? join(options.stagingDir, name) : join(dir, `${TEMPORARY_PREFIX}${randomBytes(6).toString('hex')}`);
    pending.push({ name, written });
    const handle = await open(written, options.stagingDir ? 'w' : 'wx', 0o644);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
  };
  try {
    for (const artifact of listing.artifacts) {
      const path = paths.get(artifact)!;
      const signatureName = artifact + SIGNATURE_SUFFIX;
      if (listing.signatures.includes(signatureName)) {
        const existing = await readFile(paths.get(signatureName)!);
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
    const oldSums = listing.hasSums ? await readFile(join(sumsDir, SUMS_FILE)) : undefined;
    const oldSignature = listing.hasSumsSignature ? await readFile(join(sumsDir, SUMS_SIGNATURE_FILE)) : undefined;
    const keepSums = oldSums?.equals(sums) && oldSignature && (await verifyBytes(sums, oldSignature, [publicKey])).ok;
    if (keepSums) {
      unchanged.push(SUMS_FILE, SUMS_SIGNATURE_FILE);
    } else {
      await stage(SUMS_FILE, sums);
      await stage(SUMS_SIGNATURE_FILE, await signBytes(sums, key));
    }
    if (!options.stagingDir) {
      // Per-file signatures first, SHA256SUMS.gpg last: what systemd-pull checks changes at the end.
      for (const file of pending) await rename(file.written, join(dir, file.name));
    }
    return {
      written: pending.map((file) => file.name),
      writtenPaths: pending.map((file) => (options.stagingDir ? file.written : join(dir, file.name))),
      unchanged,
      artifacts: entries,
    };
  } catch (error) {
    await Promise.all(pending.map((file) => rm(file.written, { force: true })));
    throw error;
  }
}
