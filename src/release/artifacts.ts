/**
 * What a release directory holds and what each file is. One flat directory is published as
 * is: systemd-pull fetches `<tarball>`, `<name>.nspawn`, `SHA256SUMS` and `SHA256SUMS.gpg`
 * from the same URL prefix, and people fetch `<file>.asc` to check one file with gpg.
 */
import type { Dirent } from 'node:fs';
import { readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isTarball } from '../image/artifact-names.js';

export const SUMS_FILE = 'SHA256SUMS';
export const SUMS_SIGNATURE_FILE = 'SHA256SUMS.gpg';
export const SIGNATURE_SUFFIX = '.asc';
/**
 * Prefix of the build's private staging directory inside the output directory (see the build
 * pipeline): it holds a build still running, whose files join the release only when it succeeds.
 */
export const BUILD_STAGING_PREFIX = '.partial-';
/** Prefix of our own temporary files: a crashed run leaves only names like these behind. */
export const TEMPORARY_PREFIX = '.nspawn-jitsi-sign-';

/** Settings file systemd-pull fetches next to the tarball, and the package list of the image. */
const SIDE_FILE = /\.(nspawn|packages)$/;
/**
 * Public keys a maintainer may publish beside a release for convenience. They are not signed
 * (a key vouching for itself proves nothing) and not listed; admins get the key another way.
 */
const PUBLIC_KEY = /(\.public\.asc|^import-pubring\.(gpg|pgp))$/;

/** Files that are signed and listed in SHA256SUMS. */
export function isArtifact(name: string): boolean {
  return isTarball(name) || SIDE_FILE.test(name);
}

export interface ReleaseListing {
  /** Artifacts present, sorted by name. */
  artifacts: string[];
  /** `<artifact>.asc` files whose artifact is present. */
  signatures: string[];
  /** `<x>.asc` files where `<x>` looks like an artifact but is absent. */
  orphanSignatures: string[];
  hasSums: boolean;
  hasSumsSignature: boolean;
  publicKeys: string[];
  /** Temporary files of an interrupted signing run. */
  leftovers: string[];
  /** Everything else: files nobody signs or lists. */
  unknown: string[];
  /**
   * Entries that are not regular files: folders, symbolic links, FIFOs, devices, sockets.
   * Never read (a FIFO would hang, a link to /dev/zero never end, a link to /etc/shadow leak
   * it into SHA256SUMS), never signed, never published: each with the reason.
   */
  notFiles: { name: string; why: string }[];
}

/** Why a directory entry that is not a regular file cannot be part of a release. */
async function notAFile(dir: string, entry: Dirent): Promise<string> {
  if (entry.isDirectory()) {
    return 'a folder: sign and verify look at files directly in the release directory, so what it holds would be published unsigned; move it out';
  }
  if (entry.isSymbolicLink()) {
    const target = await readlink(join(dir, entry.name)).catch(() => '?');
    return `a symbolic link (to ${target}): a link can point anywhere, and a web server may or may not follow it; put the file itself here`;
  }
  return 'not a regular file (a FIFO, device or socket): nothing to publish; remove it';
}

export async function listRelease(dir: string): Promise<ReleaseListing> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
  const buildInProgress = (entry: Dirent) => entry.isDirectory() && entry.name.startsWith(BUILD_STAGING_PREFIX);
  const notFiles = await Promise.all(entries.filter((entry) => !entry.isFile() && !buildInProgress(entry)).map(async (entry) => ({ name: entry.name, why: await notAFile(dir, entry) })));
  notFiles.sort((a, b) => (a.name < b.name ? -1 : 1));
  const present = new Set(files);
  const listing: ReleaseListing = {
    artifacts: [],
    signatures: [],
    orphanSignatures: [],
    hasSums: present.has(SUMS_FILE),
    hasSumsSignature: present.has(SUMS_SIGNATURE_FILE),
    publicKeys: [],
    leftovers: [],
    unknown: [],
    notFiles,
  };
  for (const name of files.sort()) {
    if (name === SUMS_FILE || name === SUMS_SIGNATURE_FILE) continue;
    if (name.startsWith(TEMPORARY_PREFIX)) listing.leftovers.push(name);
    else if (isArtifact(name)) listing.artifacts.push(name);
    else if (PUBLIC_KEY.test(name)) listing.publicKeys.push(name);
    else if (name.endsWith(SIGNATURE_SUFFIX) && isArtifact(name.slice(0, -SIGNATURE_SUFFIX.length))) {
      if (present.has(name.slice(0, -SIGNATURE_SUFFIX.length))) listing.signatures.push(name);
      else listing.orphanSignatures.push(name);
    } else listing.unknown.push(name);
  }
  return listing;
}
