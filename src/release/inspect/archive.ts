/**
 * Streams the entries of a (compressed) tar archive through node-tar's parser. node-tar reads
 * plain and gzip archives itself; xz, zstd and bzip2 are decompressed by the host tools on
 * the way in (node-tar cannot read xz, and its zstd needs a newer Node than ours), so the
 * archive is never held in memory whatever its size.
 */
import { open } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import { Parser, type ReadEntry } from 'tar';
import { UserError } from '../../lib/errors.js';

export type Compression = 'xz' | 'zstd' | 'gzip' | 'bzip2' | 'none';

export interface ArchiveEntry {
  /** Path as stored in the archive. */
  rawPath: string;
  /** Relative to the archive root: no `./`, no leading or trailing `/`; '' for the root itself. */
  path: string;
  type: string;
  mode: number;
  size: number;
  linkpath?: string;
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
  /** node-tar's complaints about damaged or unsupported entries. */
  warnings: string[];
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
  const warnings: string[] = [];
  let entries = 0;
  const parser = new Parser({
    strict: false,
    onReadEntry: (entry: ReadEntry) => {
      entries++;
      const info: ArchiveEntry = {
        rawPath: entry.path,
        path: normalizeEntryPath(entry.path),
        type: entry.type,
        mode: entry.mode ?? 0,
        size: entry.size,
        linkpath: entry.linkpath,
      };
      const limit = entry.type === 'File' || entry.type === 'OldFile' || entry.type === 'ContiguousFile' ? options.wantContent(info) : false;
      if (limit === false) {
        options.onEntry(info);
        // A bare Parser (unlike tar.list) waits until each entry's data is read: skip it.
        entry.resume();
        return;
      }
      const chunks: Buffer[] = [];
      let kept = 0;
      entry.on('data', (chunk: Buffer) => {
        if (kept >= limit) return;
        chunks.push(chunk.subarray(0, limit - kept));
        kept += Math.min(chunk.length, limit - kept);
      });
      entry.on('end', () => options.onEntry(info, Buffer.concat(chunks)));
      entry.resume();
    },
  });
  parser.on('warn', (code: string, message: string | Error) => {
    warnings.push(`${code}: ${typeof message === 'string' ? message : message.message}`);
  });
  const parsed = new Promise<void>((resolve, reject) => {
    parser.on('end', resolve);
    parser.on('close', resolve);
    parser.on('error', reject);
  });

  const tool = DECOMPRESSOR[compression];
  let input: Readable;
  let child: ReturnType<typeof execa> | undefined;
  if (tool) {
    child = execa(tool[0], ['-dc', '--', path], { buffer: { stdout: false, stderr: true }, stdin: 'ignore', cancelSignal: options.signal });
    input = child.stdout!;
  } else {
    input = createReadStream(path);
  }
  input.pipe(parser);
  try {
    await Promise.all([parsed, child]);
  } catch (error) {
    child?.kill();
    const failure = error as Error & { code?: string; stderr?: string; shortMessage?: string };
    if (failure.code === 'ENOENT' && tool) {
      throw new UserError(`${path}: ${compression} archive, but '${tool[0]}' is not installed; install with: apt-get install ${tool[1]}`);
    }
    const detail = failure.stderr?.trim() || failure.shortMessage || failure.message;
    throw new UserError(`${path}: cannot read the archive (${detail})`);
  }
  return { compression, entries, warnings };
}
