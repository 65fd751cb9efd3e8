/**
 * The files of Gentoo's release tree the build reads, where they live on a mirror and how
 * they are written. Pure: no network, no files (stage3-source.ts does the fetching).
 *
 * - `releases/<arch>/autobuilds/latest-stage3-<arch>-<flavor>.txt`: the pointer to the newest
 *   stage3, clearsigned by the release engineering key (since October 2023). Inside the
 *   signed text: comment lines starting with `#`, then one line `<path> <size>`, the path
 *   relative to the autobuilds directory (`20261124T170000Z/stage3-amd64-openrc-20261124T170000Z.tar.xz`).
 * - next to the stage3: `<tarball>.asc` (detached signature) and `<tarball>.DIGESTS`, in
 *   catalyst's format: a `# BLAKE2B HASH` or `# SHA512 HASH` line, then `<hex>  <file name>`
 *   lines for that algorithm; several files (the tarball, its CONTENTS.gz) and both algorithms
 *   in one file; newer releases clearsign it.
 * - `snapshots/gentoo-<YYYYMMDD|latest>.tar.xz` with `.gpgsig` (detached), signed by the
 *   snapshot key.
 */
import { UserError } from '../../lib/errors.js';

export const GENTOO_ARCHES = ['amd64', 'arm64'] as const;
export type GentooArch = (typeof GENTOO_ARCHES)[number];
/** The init system a stage3 comes with (the images' init names: openrc, systemd). */
export const STAGE3_FLAVORS = ['openrc', 'systemd'] as const;
export type Stage3Flavor = (typeof STAGE3_FLAVORS)[number];

/** A pointer file is a few lines; anything bigger is not one. */
export const POINTER_MAX_BYTES = 64 * 1024;
/** A DIGESTS file lists a handful of files (a signature is a few hundred bytes). */
export const DIGESTS_MAX_BYTES = 1024 * 1024;
export const SIGNATURE_MAX_BYTES = 64 * 1024;

/** `releases/amd64/autobuilds`: where the pointer and the stage3 paths it names are relative to. */
export function autobuildsDir(arch: GentooArch): string {
  return `releases/${arch}/autobuilds`;
}

/** `releases/amd64/autobuilds/latest-stage3-amd64-openrc.txt`. */
export function stage3PointerPath(arch: GentooArch, flavor: Stage3Flavor): string {
  return `${autobuildsDir(arch)}/latest-stage3-${arch}-${flavor}.txt`;
}

/** `snapshots/gentoo-20261124.tar.xz` (or `gentoo-latest.tar.xz`). */
export function snapshotPath(date: string): string {
  return `snapshots/gentoo-${date}.tar.xz`;
}

export interface Stage3Pointer {
  /** Mirror-relative path of the tarball (`releases/amd64/autobuilds/<dir>/<name>`). */
  path: string;
  /** Its size in bytes, as the pointer states it. */
  size: number;
}

/** A path segment of a release file: letters, digits and `._+-`, not `.` or `..`. */
const SAFE_SEGMENT = /^[A-Za-z0-9_+-][A-Za-z0-9._+-]*$/;

/**
 * The stage3 the (already verified) text of a pointer names. Refuses anything but one
 * `<path> <size>` line, and a path that leaves the autobuilds directory or is not a stage3 of
 * this architecture and flavor: the pointer is trusted for which file, not for where to write.
 */
export function parseStage3Pointer(text: string, from: string, arch: GentooArch, flavor: Stage3Flavor): Stage3Pointer {
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (lines.length !== 1) {
    throw new UserError(`${from}: expected one line '<path> <size>' after the comments, found ${lines.length}${lines.length ? `: ${lines.slice(0, 3).map((l) => JSON.stringify(l)).join(', ')}` : ''}`);
  }
  const match = /^(\S+)\s+(\d+)$/.exec(lines[0]!);
  if (!match) throw new UserError(`${from}: ${JSON.stringify(lines[0])} is not '<path> <size>'`);
  const relative = match[1]!;
  const segments = relative.split('/');
  if (segments.some((segment) => !SAFE_SEGMENT.test(segment))) {
    throw new UserError(`${from}: the stage3 path ${JSON.stringify(relative)} is not a plain relative path below ${autobuildsDir(arch)}/`);
  }
  const name = segments[segments.length - 1]!;
  const prefix = `stage3-${arch}-${flavor}-`;
  if (!name.startsWith(prefix) || !/\.tar\.(xz|bz2|gz|zst)$/.test(name)) {
    throw new UserError(`${from}: names ${relative}, which is not a ${prefix}*.tar.xz tarball (wrong pointer for ${arch} ${flavor}?)`);
  }
  const size = Number(match[2]);
  if (!Number.isSafeInteger(size) || size <= 0) throw new UserError(`${from}: size ${match[2]} of ${relative} is not a file size`);
  return { path: `${autobuildsDir(arch)}/${relative}`, size };
}

/** Hash algorithms of catalyst's DIGESTS, by their header name, with Node's name for each. */
export const DIGEST_ALGORITHMS = { SHA512: 'sha512', BLAKE2B: 'blake2b512' } as const;
export type DigestAlgorithm = keyof typeof DIGEST_ALGORITHMS;

export interface DigestEntry {
  algorithm: DigestAlgorithm;
  /** Lower-case hex. */
  hash: string;
  /** The file name as listed (a base name). */
  name: string;
  line: number;
}

const HEX_LENGTH: Record<DigestAlgorithm, number> = { SHA512: 128, BLAKE2B: 128 };

/**
 * The entries of a DIGESTS text (its signed content when clearsigned). Headers of algorithms
 * we do not check (old DIGESTS had MD5, SHA1, WHIRLPOOL) skip their lines; a hash line before
 * any header, or a malformed line under a known header, is refused with its line number.
 */
export function parseDigests(text: string, from: string): DigestEntry[] {
  const entries: DigestEntry[] = [];
  let algorithm: DigestAlgorithm | undefined;
  let inUnknown = false;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    const number = index + 1;
    if (line === '') return;
    const header = /^#\s*([A-Z0-9]+)\s+HASH\s*$/i.exec(line);
    if (header) {
      const name = header[1]!.toUpperCase();
      algorithm = Object.hasOwn(DIGEST_ALGORITHMS, name) ? (name as DigestAlgorithm) : undefined;
      inUnknown = algorithm === undefined;
      return;
    }
    if (line.startsWith('#')) return;
    if (inUnknown) return;
    if (!algorithm) throw new UserError(`${from}:${number}: a hash line before any '# SHA512 HASH' or '# BLAKE2B HASH' header`);
    const entry = /^([0-9A-Fa-f]+)\s+\*?(\S+)$/.exec(line);
    if (!entry || entry[1]!.length !== HEX_LENGTH[algorithm]) {
      throw new UserError(`${from}:${number}: not a '<${HEX_LENGTH[algorithm]} hex digits>  <file name>' line of ${algorithm}: ${JSON.stringify(line.slice(0, 200))}`);
    }
    entries.push({ algorithm, hash: entry[1]!.toLowerCase(), name: entry[2]!.replace(/^\.\//, ''), line: number });
  });
  return entries;
}

/**
 * What DIGESTS says `name` must hash to: SHA512 required, BLAKE2B when listed. Refuses a file
 * listed with two different hashes of one algorithm (which one would be true?).
 */
export function expectedDigests(entries: DigestEntry[], name: string, from: string): { sha512: string; blake2b?: string } {
  const result: Partial<Record<DigestAlgorithm, string>> = {};
  for (const entry of entries) {
    if (entry.name !== name) continue;
    const seen = result[entry.algorithm];
    if (seen !== undefined && seen !== entry.hash) {
      throw new UserError(`${from}:${entry.line}: lists ${name} twice with different ${entry.algorithm} hashes (${seen} and ${entry.hash})`);
    }
    result[entry.algorithm] = entry.hash;
  }
  if (!result.SHA512) {
    const listed = [...new Set(entries.map((entry) => entry.name))];
    throw new UserError(`${from}: has no SHA512 hash of ${name} (it lists: ${listed.join(', ') || 'nothing'})`);
  }
  return { sha512: result.SHA512, ...(result.BLAKE2B ? { blake2b: result.BLAKE2B } : {}) };
}

/** Whether a text is an OpenPGP clearsigned message (the whole file, whitespace aside). */
export function isClearsigned(text: string): boolean {
  return /^\s*-----BEGIN PGP SIGNED MESSAGE-----\r?\n/.test(text);
}
