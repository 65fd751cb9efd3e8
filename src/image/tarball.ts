/**
 * The one reader of image tarballs. GNU tar writes them (xz, zstd or plain; others publish gzip
 * and bzip2 too); the host's decompressor streams them back (Node 20's zlib has neither xz nor
 * zstd) and node-tar parses the stream, so an archive is never unpacked nor held in memory.
 * `inspect`, the boot helper's init detection and the tests all read through here.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import { Parser, type ReadEntry } from 'tar';
import { UserError } from '../lib/errors.js';
import { DECOMPRESSOR, detectCompression, type ReadableCompression } from './compression.js';

export interface ArchiveEntry {
  /** Path as stored in the archive. */
  rawPath: string;
  /** Relative to the archive root: no `./`, no leading or trailing `/`; '' for the root itself. */
  path: string;
  type: string;
  mode: number;
  size: number;
  uid: number;
  gid: number;
  linkpath?: string;
}

export interface WalkOptions {
  /** Which regular files' contents to collect, and at most how many bytes of them. */
  wantContent(entry: ArchiveEntry): number | false;
  onEntry(entry: ArchiveEntry, content?: Buffer): void;
  signal?: AbortSignal;
}

export interface WalkResult {
  compression: ReadableCompression;
  entries: number;
  /** node-tar's complaints about damaged or unsupported entries. */
  warnings: string[];
}

/** `./etc/x/` -> `etc/x`; absolute paths lose their `/` (inspect reports them separately). */
export function normalizeEntryPath(raw: string): string {
  let path = raw.replace(/\/+$/, '');
  for (;;) {
    const next = path.replace(/^\.\//, '').replace(/^\/+/, '');
    if (next === path) break;
    path = next;
  }
  return path === '.' ? '' : path;
}

const REGULAR_FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

/** Streams every entry of a (possibly compressed) archive once, in archive order. */
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
        size: entry.size ?? 0,
        uid: entry.uid ?? 0,
        gid: entry.gid ?? 0,
        linkpath: entry.linkpath,
      };
      const limit = REGULAR_FILE_TYPES.has(entry.type) ? options.wantContent(info) : false;
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
    child = execa(tool.command, ['-dc', '--', path], { buffer: { stdout: false, stderr: true }, stdin: 'ignore', cancelSignal: options.signal });
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
      throw new UserError(`${path}: ${compression} archive, but '${tool.command}' is not installed; install with: apt-get install ${tool.debianPackage}`);
    }
    const detail = failure.stderr?.trim() || failure.shortMessage || failure.message;
    throw new UserError(`${path}: cannot read the archive (${detail})`);
  }
  return { compression, entries, warnings };
}

export interface TarballContents {
  entries: Map<string, ArchiveEntry>;
  /** Contents of the regular files that `wantContent` selected. */
  contents: Map<string, Buffer>;
}

/**
 * Every entry of a tarball by normalised path, and the whole content of the regular files
 * `wantContent` accepts. A damaged entry is an error here (inspect reports them instead).
 */
export async function readTarball(path: string, wantContent: (path: string) => boolean = () => false): Promise<TarballContents> {
  const entries = new Map<string, ArchiveEntry>();
  const contents = new Map<string, Buffer>();
  const walk = await walkArchive(path, {
    wantContent: (entry) => (wantContent(entry.path) ? Number.POSITIVE_INFINITY : false),
    onEntry: (entry, content) => {
      entries.set(entry.path, entry);
      if (content) contents.set(entry.path, content);
    },
  });
  if (walk.warnings.length > 0) throw new UserError(`${path}: cannot read the archive (${walk.warnings.join('; ')})`);
  return { entries, contents };
}
