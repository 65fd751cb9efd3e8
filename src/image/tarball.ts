/**
 * The one reader of image tarballs. GNU tar writes them (xz, zstd or plain; others publish gzip
 * and bzip2 too); the host's decompressor streams them back (Node 20's zlib has neither xz nor
 * zstd) and tar-stream.ts reads the stream the way GNU tar extracts it (sparse files expanded,
 * pax and GNU long names applied, xattrs kept), so an archive is never unpacked nor held in
 * memory, and what is reported is what `tar -x` (and `machinectl pull-tar`) would write.
 * `inspect`, the boot helper's init detection and the tests all read through here.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import { UserError } from '../lib/errors.js';
import { DECOMPRESSOR, detectCompression, type ReadableCompression } from './compression.js';
import { readTar, type TarEntry } from './tar-stream.js';

/** An entry as GNU tar extracts it (see TarEntry), its path made relative to the archive root. */
export interface ArchiveEntry extends TarEntry {
  /** Path as stored in the archive (after pax and GNU long names). */
  rawPath: string;
  /** Relative to the archive root: no `./`, no leading or trailing `/`; '' for the root itself. */
  path: string;
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
  /** Entries the reader cannot interpret, and damage: each one an error for inspect. */
  problems: { path: string; message: string }[];
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

function toEntry(entry: TarEntry): ArchiveEntry {
  return { ...entry, rawPath: entry.path, path: normalizeEntryPath(entry.path) };
}

/** Streams every entry of a (possibly compressed) archive once, in archive order. */
export async function walkArchive(path: string, options: WalkOptions): Promise<WalkResult> {
  const compression = await detectCompression(path);
  const problems: WalkResult['problems'] = [];
  let entries = 0;
  const tool = DECOMPRESSOR[compression];
  let input: Readable;
  let child: ReturnType<typeof execa> | undefined;
  if (tool) {
    child = execa(tool.command, ['-dc', '--', path], { buffer: { stdout: false, stderr: true }, stdin: 'ignore', cancelSignal: options.signal });
    // The failure is reported below, once the reader has stopped.
    child.catch(() => undefined);
    input = child.stdout!;
  } else {
    input = createReadStream(path);
  }
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
        throw new UserError(`${path}: ${compression} archive, but '${tool!.command}' is not installed; install with: apt-get install ${tool!.debianPackage}`);
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

export interface TarballContents {
  entries: Map<string, ArchiveEntry>;
  /** Contents of the regular files that `wantContent` selected. */
  contents: Map<string, Buffer>;
}

/**
 * Every entry of a tarball by normalised path, and the whole content of the regular files
 * `wantContent` accepts. A damaged or uninterpretable entry is an error here (inspect reports
 * them instead).
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
  if (walk.problems.length > 0) {
    throw new UserError(`${path}: cannot read the archive (${walk.problems.map((p) => `${p.path || 'archive'}: ${p.message}`).join('; ')})`);
  }
  return { entries, contents };
}
