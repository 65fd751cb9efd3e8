/**
 * How image tarballs are compressed: what the build writes (xz, zstd or none), the file name
 * suffix of each, the compressor levels, and how a tarball's compression is recognised from its
 * first bytes when reading it back.
 */
import { open } from 'node:fs/promises';
import { UserError } from '../lib/errors.js';

/** What the build can write. */
export const COMPRESSIONS = ['xz', 'zstd', 'none'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

/** What a tarball we read may be compressed with: ours, plus what others publish. */
export type ReadableCompression = Compression | 'gzip' | 'bzip2';

export const DEFAULT_LEVEL: Record<Compression, number> = { xz: 6, zstd: 19, none: 0 };
export const LEVEL_RANGE: Record<Compression, [number, number]> = { xz: [0, 9], zstd: [1, 19], none: [0, 0] };

const EXTENSION: Record<Compression, string> = { xz: '.tar.xz', zstd: '.tar.zst', none: '.tar' };

export function compressionExtension(compression: Compression): string {
  return EXTENSION[compression];
}

/** Why a level is out of range for a compression, or undefined when it is fine. */
export function levelProblem(compression: Compression, level: number): string | undefined {
  const [min, max] = LEVEL_RANGE[compression];
  if (Number.isInteger(level) && level >= min && level <= max) return undefined;
  return `${compression} level must be ${min}..${max}, not ${level}`;
}

const MAGIC: [ReadableCompression, number[]][] = [
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['gzip', [0x1f, 0x8b]],
  ['bzip2', [0x42, 0x5a, 0x68]],
];

/** By content, not by name: a renamed or mislabelled file is still read correctly. */
export async function detectCompression(path: string): Promise<ReadableCompression> {
  const handle = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
    throw new UserError(`${path}: cannot open the archive (${error.code ?? error.message})`);
  });
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    for (const [name, magic] of MAGIC) {
      if (bytesRead >= magic.length && magic.every((byte, index) => head[index] === byte)) return name;
    }
    return 'none';
  } finally {
    await handle.close();
  }
}

/** The host program that decompresses each kind, and the Debian package holding it. */
export const DECOMPRESSOR: Partial<Record<ReadableCompression, { command: string; debianPackage: string }>> = {
  xz: { command: 'xz', debianPackage: 'xz-utils' },
  zstd: { command: 'zstd', debianPackage: 'zstd' },
  gzip: { command: 'gzip', debianPackage: 'gzip' },
  bzip2: { command: 'bzip2', debianPackage: 'bzip2' },
};
