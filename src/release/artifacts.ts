/**
 * What a release directory holds and what each file is. One flat directory is published as
 * is: systemd-pull fetches `<tarball>`, `<name>.nspawn`, `SHA256SUMS` and `SHA256SUMS.gpg`
 * from the same URL prefix, and people fetch `<file>.asc` to check one file with gpg.
 */
import { readdir } from 'node:fs/promises';

export const SUMS_FILE = 'SHA256SUMS';
export const SUMS_SIGNATURE_FILE = 'SHA256SUMS.gpg';
export const SIGNATURE_SUFFIX = '.asc';
/** Prefix of our own temporary files: a crashed run leaves only names like these behind. */
export const TEMPORARY_PREFIX = '.nspawn-jitsi-sign-';

/** Compressed or plain tar archives: the images themselves. */
const TARBALL = /\.tar(\.(xz|zst|gz|bz2))?$/;
/** Settings file systemd-pull fetches next to the tarball, and the package list of the image. */
const SIDE_FILE = /\.(nspawn|packages)$/;
/**
 * Public keys a maintainer may publish beside a release for convenience. They are not signed
 * (a key vouching for itself proves nothing) and not listed; admins get the key another way.
 */
const PUBLIC_KEY = /(\.public\.asc|^import-pubring\.(gpg|pgp))$/;

export function isTarball(name: string): boolean {
  return TARBALL.test(name);
}

/** Files that are signed and listed in SHA256SUMS. */
export function isArtifact(name: string): boolean {
  return TARBALL.test(name) || SIDE_FILE.test(name);
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
}

export async function listRelease(dir: string): Promise<ReleaseListing> {
  const entries = await readdir(dir, { withFileTypes: true });
  // Symbolic links count as files: a release directory may link to artifacts stored elsewhere.
  const files = entries.filter((entry) => entry.isFile() || entry.isSymbolicLink()).map((entry) => entry.name);
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
