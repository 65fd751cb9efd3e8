/**
 * Streams the entries of a (compressed) tar archive through tar-stream.ts, which sees each
 * entry as GNU tar extracts it. Plain archives are read directly; xz, zstd, gzip and bzip2 are
 * decompressed by the host tools on the way in, so the archive is never held in memory
 * whatever its size.
 */
import { open } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import { UserError } from '../../lib/errors.js';
import { readTar } from './tar-stream.js';

export type Compression = 'xz' | 'zstd' | 'gzip' | 'bzip2' | 'none';

export interface ArchiveEntry {
  /** Path as stored in the archive. */
  rawPath: string;
  /** Relative to the archive root: no `./`, no leading or trailing `/`; '' for the root itself. */
  path: string;
  type: string;
  mode: number;
  /** Real size: a sparse file's expanded size. */
  size: number;
  linkpath?: string;
  /** Stored as a GNU sparse file. */
  sparse: boolean;
  /** Extended attributes by name (`security.capability`...). */
  xattrs: Map<string, Buffer>;
}

export interface WalkOptions {
  /** Which regular files' contents to collect, and at most how many bytes of them. */
  wantContent(entry: ArchiveEntry): number | false;
  onEntry(entry: ArchiveEntry, content?: Buffer): void;
  signal?: AbortSignal;
}

export interface WalkResult {
  compression: Compression;
  entries: number;
  /** Entries inspect cannot interpret and damage: each one an error. */
  problems: { path: string; message: string }[];
}

const MAGIC: [Compression, number[]][] = [
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['gzip', [0x1f, 0x8b]],
  ['bzip2', [0x42, 0x5a, 0x68]],
];

/** By content, not by name: a renamed or mislabelled file is still read correctly. */
export async function detectCompression(path: string): Promise<Compression> {
  const handle = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
    throw new UserError(`${path}: cannot open the archive (${error.code ?? error.message})`);
  });
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await handle.read(head, 0, 8, 0);
    for (const [name, magic] of MAGIC) {
      if (bytesRead >= magic.length && magic.every((byte, index) => head[index] === byte)) return name;
    }
    return 'none';
  } finally {
    await handle.close();
  }
}

const DECOMPRESSOR: Partial<Record<Compression, [string, string]>> = {
  xz: ['xz', 'xz-utils'],
  gzip: ['gzip', 'gzip'],
  zstd: ['zstd', 'zstd'],
  bzip2: ['bzip2', 'bzip2'],
};

/** `./etc/x/` -> `etc/x`; absolute paths lose their `/` (the caller reports them separately). */
export function normalizeEntryPath(raw: string): string {
  let path = raw.replace(/\/+$/, '');
  for (;;) {
    const next = path.replace(/^\.\//, '').replace(/^\/+/, '');
    if (next === path) break;
    path = next;
  }
  return path === '.' ? '' : path;
}

export async function walkArchive(path: string, options: WalkOptions): Promise<WalkResult> {
  const compression = await detectCompression(path);
  const problems: WalkResult['problems'] = [];
  let entries = 0;
  const tool = DECOMPRESSOR[compression];
  let input: Readable;
  let child: ReturnType<typeof execa> | undefined;
  if (tool) {
    child = execa(tool[0], ['-dc', '--', path], { buffer: { stdout: false, stderr: true }, stdin: 'ignore', cancelSignal: options.signal });
    // The failure is reported below, once the reader has stopped.
    child.catch(() => undefined);
    input = child.stdout!;
  } else {
    input = createReadStream(path);
  }
  const toEntry = (entry: Parameters<Parameters<typeof readTar>[1]['onEntry']>[0]): ArchiveEntry => ({ ...entry, rawPath: entry.path, path: normalizeEntryPath(entry.path) });
  let readError: Error | undefined;
  try {
    await readTar(input, {
      wantContent: (entry) => (entry.type === 'File' || entry.type === 'ContiguousFile' ? options.wantContent(toEntry(entry)) : false),
      onEntry: (entry, content) => {
        entries++;
        options.onEntry(toEntry(entry), content);
      },
      onProblem: (problem) => problems.push(problem),
    });
  } catch (error) {
    readError = error as Error;
    input.destroy();
  }
  if (child) {
    try {
      await child;
    } catch (error) {
      const failure = error as Error & { code?: string; stderr?: string; shortMessage?: string; isCanceled?: boolean; signal?: string };
      if (failure.code === 'ENOENT') {
        throw new UserError(`${path}: ${compression} archive, but '${tool![0]}' is not installed; install with: apt-get install ${tool![1]}`);
      }
      if (failure.isCanceled) throw options.signal?.reason ?? failure;
      // We stopped reading, so the decompressor could not write: our reason is the real one.
      if (readError && failure.signal === 'SIGPIPE') throw new UserError(`${path}: cannot read the archive (${readError.message})`);
      // The decompressor's own words explain a damaged file better than where the tar data ended.
      const detail = failure.stderr?.trim() || failure.shortMessage || failure.message;
      throw new UserError(`${path}: cannot read the archive (${detail})`);
    }
  }
  if (readError) throw new UserError(`${path}: cannot read the archive (${readError.message})`);
  return { compression, entries, problems };
}
