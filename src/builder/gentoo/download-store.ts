/**
 * Where Gentoo's release files are downloaded to and kept (under the build's cache directory,
 * `<cache>/gentoo/`, or a work directory with --no-cache):
 *
 *   files/<sha512>            verified files, named by their content hash; never rewritten
 *   verified/<path>.json      for each mirror path verified once: its SHA512 and size
 *   partial/<path>            a download in progress or interrupted, resumed with HTTP Range
 *   partial/<path>.meta.json  the URL, ETag and Last-Modified it was started with (If-Range)
 *
 * (`<path>` is the mirror-relative path, `/` written as `%2F`.)
 *
 * A release file under a dated name never changes upstream. Once one is verified, its record
 * stays: a later download of the same path with another hash (a changed or swapped file on
 * some mirror) is refused and reported, never swapped in. Names that move by design are not
 * recorded by hash: `gentoo-latest.tar.xz` not at all, a `latest-stage3-*.txt` pointer by the
 * build stamp of the stage3 it named, which may only grow (an older one is refused).
 *
 * Every file is written beside its final name and renamed into place. Deleting the directory,
 * or any file in it, is always safe: what is missing is downloaded again (and checked against
 * the records that remain).
 */
import { open, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../lib/errors.js';
import { writeFileAtomically } from '../../lib/atomic-write.js';
import { processRuns } from '../../lib/process-exists.js';
import { requirePrivateCacheDir } from '../bootstrap-cache.js';
import { VerificationFailed } from './signatures.js';

/** A connection that sends nothing for this long is given up (a stage3 may take long in all, but never stalls). */
export const IDLE_TIMEOUT_MS = 60_000;

/** What a verified file's record holds. */
export interface VerifiedRecord {
  path: string;
  sha512: string;
  size: number;
  /** Where it was downloaded from the first time (any mirror must serve the same bytes). */
  url: string;
  verifiedAt: string;
}

/** Thrown when the mirror does not have a file (HTTP 404/410). */
export class MissingOnMirror extends UserError {
  override name = 'MissingOnMirror';
}

function encode(path: string): string {
  return encodeURIComponent(path);
}

function networkProblem(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

/** An AbortSignal that fires when `signal` does or when `touch` was not called for IDLE_TIMEOUT_MS. */
function idleSignal(signal: AbortSignal | undefined, idleMs: number): { signal: AbortSignal; touch(): void; dispose(): void } {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new Error(`no data for ${idleMs / 1000} s`)), idleMs);
  };
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  touch();
  return {
    signal: controller.signal,
    touch,
    dispose() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * The store of a build: `<cacheDir>/gentoo` (checked private, as the other caches), or with
 * --no-cache a directory inside the build's work directory, gone with it.
 */
export async function openDownloadStore(cacheDir: string | undefined, workDir: string, options: ConstructorParameters<typeof DownloadStore>[1] = {}): Promise<DownloadStore> {
  if (!cacheDir) return new DownloadStore(join(workDir, 'gentoo-downloads'), options);
  await requirePrivateCacheDir(cacheDir);
  const dir = join(cacheDir, 'gentoo');
  await requirePrivateCacheDir(dir);
  return new DownloadStore(dir, options);
}

export class DownloadStore {
  constructor(
    readonly dir: string,
    private readonly options: { signal?: AbortSignal; log?: (line: string) => void; idleTimeoutMs?: number } = {},
  ) {}

  private get idleMs(): number {
    return this.options.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
  }

  fileFor(sha512: string): string {
    return join(this.dir, 'files', sha512);
  }

  recordPath(path: string): string {
    return join(this.dir, 'verified', `${encode(path)}.json`);
  }

  partialPath(path: string): string {
    return join(this.dir, 'partial', encode(path));
  }

  async prepare(): Promise<void> {
    for (const sub of ['files', 'verified', 'partial']) await mkdir(join(this.dir, sub), { recursive: true, mode: 0o755 });
  }

  async record(path: string): Promise<VerifiedRecord | undefined> {
    const text = await readFile(this.recordPath(path), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      const record = JSON.parse(text) as VerifiedRecord;
      if (typeof record.sha512 === 'string' && /^[0-9a-f]{128}$/.test(record.sha512)) return record;
    } catch {
      // fall through
    }
    throw new UserError(`${this.recordPath(path)}: not a record of a verified file; delete it (the file is then verified again as if new)`);
  }

  /**
   * Refuses `sha512` for `path` when a different file was verified under that path before:
   * upstream never changes a released file, so a change is a mirror serving something else.
   */
  async requireUnchanged(path: string, sha512: string, what: string): Promise<void> {
    const record = await this.record(path);
    if (record && record.sha512 !== sha512) {
      throw new VerificationFailed(
        `${what}: the mirror now serves a different file (SHA512 ${sha512}) than the one verified on ${record.verifiedAt} from ${record.url} (SHA512 ${record.sha512}); ` +
          `refusing it: a released file never changes upstream. If Gentoo really replaced it, delete ${this.recordPath(path)} and build again to verify the new file from scratch.`,
      );
    }
  }

  /** Stores a verified file's record (and, for small files, the file itself under its hash). */
  async remember(path: string, url: string, sha512: string, size: number, content?: Uint8Array): Promise<void> {
    if (content) await writeFileAtomically(this.fileFor(sha512), content);
    const existing = await this.record(path);
    if (existing) return;
    const record: VerifiedRecord = { path, sha512, size, url, verifiedAt: new Date().toISOString() };
    await writeFileAtomically(this.recordPath(path), `${JSON.stringify(record, null, 2)}\n`);
  }

  /**
   * Refuses a pointer that names an older stage3 than one this store verified from the same
   * pointer before: Gentoo's pointer only moves forward, so an older one is a stale or
   * rolled-back mirror offering a stage3 without the fixes of the newer one.
   */
  async requireNotOlder(pointerPath: string, stamp: string, names: string, what: string): Promise<void> {
    const text = await readFile(this.recordPath(pointerPath), 'utf8').catch(() => undefined);
    if (text === undefined) return;
    const seen = JSON.parse(text) as { stamp: string; names: string; seenAt: string };
    if (stamp < seen.stamp) {
      throw new VerificationFailed(
        `${what}: names ${names} (${stamp}), older than ${seen.names} (${seen.stamp}), which it named on ${seen.seenAt}: a stale or rolled-back mirror; ` +
          `refusing it. Use an up-to-date mirror, or delete ${this.recordPath(pointerPath)} to accept the older stage3.`,
      );
    }
  }

  /** Remembers the newest stage3 a pointer named (after it verified). */
  async rememberPointer(pointerPath: string, stamp: string, names: string): Promise<void> {
    const text = await readFile(this.recordPath(pointerPath), 'utf8').catch(() => undefined);
    if (text !== undefined && (JSON.parse(text) as { stamp: string }).stamp >= stamp) return;
    await writeFileAtomically(this.recordPath(pointerPath), `${JSON.stringify({ path: pointerPath, stamp, names, seenAt: new Date().toISOString() }, null, 2)}\n`);
  }

  /** The verified file with this hash when the store has it. */
  async cached(sha512: string): Promise<string | undefined> {
    const path = this.fileFor(sha512);
    return (await stat(path).catch(() => undefined))?.isFile() ? path : undefined;
  }

  /** Moves a downloaded file that verified into `files/<sha512>` and returns its new path. */
  async adopt(downloaded: string, sha512: string): Promise<string> {
    const target = this.fileFor(sha512);
    await rename(downloaded, target);
    await rm(`${downloaded}.meta.json`, { force: true });
    return target;
  }

  /** Fetches a small file whole (pointer, signature, DIGESTS); refuses more than `maxBytes`. */
  async fetchSmall(url: string, maxBytes: number, what: string): Promise<Buffer> {
    const idle = idleSignal(this.options.signal, this.idleMs);
    try {
      let response: Response;
      try {
        response = await fetch(url, { signal: idle.signal, redirect: 'follow' });
      } catch (error) {
        if (this.options.signal?.aborted) throw this.options.signal.reason;
        throw new UserError(`cannot fetch ${what} from ${url}: ${networkProblem(error)}; check the network or the recipe's gentoo.mirror`);
      }
      if (response.status === 404 || response.status === 410) {
        await response.body?.cancel();
        throw new MissingOnMirror(`${what}: ${url} is not on the mirror (HTTP ${response.status})`);
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new UserError(`cannot fetch ${what} from ${url}: HTTP ${response.status}`);
      }
      const chunks: Buffer[] = [];
      let total = 0;
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        idle.touch();
        total += chunk.length;
        if (total > maxBytes) throw new VerificationFailed(`${what}: ${url} is bigger than ${maxBytes} bytes, which no such file is; refusing it`);
        chunks.push(Buffer.from(chunk));
      }
      return Buffer.concat(chunks);
    } catch (error) {
      if (this.options.signal?.aborted) throw this.options.signal.reason;
      if (error instanceof UserError) throw error;
      throw new UserError(`cannot fetch ${what} from ${url}: ${networkProblem(error)}`);
    } finally {
      idle.dispose();
    }
  }

  /**
   * Runs `body` holding the lock of `path`'s partial download: from the download through its
   * verification to its move into files/, no other build touches that partial file.
   */
  async exclusive<T>(path: string, what: string, body: () => Promise<T>): Promise<T> {
    const release = await this.lock(this.partialPath(path), what);
    try {
      return await body();
    } finally {
      await release();
    }
  }

  /**
   * Downloads `url` into the partial file for `path` (call it inside `exclusive`), continuing a
   * partial download of the same upstream file (HTTP Range with If-Range on its ETag or
   * Last-Modified; a server that answers with the whole file starts it over). Refuses more than
   * `maxBytes`. Returns the partial file, complete as far as the server is concerned: the
   * caller verifies it.
   */
  async download(path: string, url: string, maxBytes: number, what: string): Promise<string> {
    return this.downloadTo(this.partialPath(path), url, maxBytes, what);
  }

  /** One build at a time downloads a path: a second one would write into the same partial file. */
  private async lock(partial: string, what: string): Promise<() => Promise<void>> {
    const lockFile = `${partial}.lock`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await open(lockFile, 'wx', 0o644);
        await handle.writeFile(`${process.pid}\n`);
        await handle.close();
        return () => rm(lockFile, { force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const pid = Number((await readFile(lockFile, 'utf8').catch(() => '')).trim());
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processRuns(pid)) {
          throw new UserError(`${what}: another build (PID ${pid}) is downloading it into ${partial}; wait for it, or build with another --cache-dir`);
        }
        // Left by a killed build.
        await rm(lockFile, { force: true });
      }
    }
    throw new UserError(`${what}: cannot lock ${lockFile}`);
  }

  private async downloadTo(partial: string, url: string, maxBytes: number, what: string): Promise<string> {
    const metaFile = `${partial}.meta.json`;
    let meta = await readFile(metaFile, 'utf8')
      .then((text) => JSON.parse(text) as { url: string; etag?: string; lastModified?: string })
      .catch(() => undefined);
    let have = (await stat(partial).catch(() => undefined))?.size ?? 0;
    const validator = meta?.etag && !meta.etag.startsWith('W/') ? meta.etag : meta?.lastModified;
    if (have > 0 && (!meta || !validator || have > maxBytes || meta.url !== url)) {
      // Nothing to tell the server which file these bytes belong to (or another server's): start over.
      await rm(partial, { force: true });
      have = 0;
    }
    const headers: Record<string, string> = {};
    if (have > 0 && validator) {
      headers.range = `bytes=${have}-`;
      headers['if-range'] = validator;
    }
    const idle = idleSignal(this.options.signal, this.idleMs);
    try {
      let response: Response;
      try {
        response = await fetch(url, { signal: idle.signal, redirect: 'follow', headers });
      } catch (error) {
        if (this.options.signal?.aborted) throw this.options.signal.reason;
        throw new UserError(`cannot download ${what} from ${url}: ${networkProblem(error)}; build again to resume`);
      }
      if (response.status === 404 || response.status === 410) {
        await response.body?.cancel();
        throw new MissingOnMirror(`${what}: ${url} is not on the mirror (HTTP ${response.status})`);
      }
      if (response.status === 416 && have > 0) {
        // The partial file is as long as the file or longer: verify what we have; a wrong file is thrown away then.
        await response.body?.cancel();
        return partial;
      }
      let append = false;
      if (response.status === 206 && have > 0) {
        const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(response.headers.get('content-range') ?? '');
        if (!range || Number(range[1]) !== have) {
          await response.body?.cancel();
          await this.discard(partial);
          throw new UserError(`cannot resume ${what} from ${url}: the server answered with range ${response.headers.get('content-range') ?? '(none)'} for bytes ${have}-; build again to download it from the start`);
        }
        append = true;
        this.options.log?.(`${what}: resuming at byte ${have} of ${range[2]}`);
      } else if (response.status !== 200) {
        await response.body?.cancel();
        throw new UserError(`cannot download ${what} from ${url}: HTTP ${response.status}`);
      } else if (have > 0) {
        this.options.log?.(`${what}: the server sent the whole file, not the rest (it changed, or ranges are not supported); starting over`);
      }
      if (!append) {
        meta = {
          url,
          ...(response.headers.get('etag') ? { etag: response.headers.get('etag')! } : {}),
          ...(response.headers.get('last-modified') ? { lastModified: response.headers.get('last-modified')! } : {}),
        };
        await rm(partial, { force: true });
        await writeFileAtomically(metaFile, `${JSON.stringify(meta)}\n`);
        have = 0;
      }
      let written = have;
      // Each chunk is on disk before the next is read: when the transfer breaks off, the file
      // holds every byte received, and the next build asks for the rest.
      const handle = await open(partial, append ? 'a' : 'w', 0o644);
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          idle.touch();
          written += chunk.length;
          if (written > maxBytes) {
            await handle.close();
            await this.discard(partial);
            throw new VerificationFailed(`${what}: ${url} is bigger than the ${maxBytes} bytes expected; refusing it`);
          }
          await handle.write(chunk);
        }
      } catch (error) {
        if (this.options.signal?.aborted) throw this.options.signal.reason;
        if (error instanceof VerificationFailed) throw error;
        throw new UserError(`download of ${what} from ${url} broke off after ${written} bytes (${networkProblem(error)}); build again to resume it`);
      } finally {
        await handle.close().catch(() => undefined);
      }
      return partial;
    } finally {
      idle.dispose();
    }
  }

  /** Throws away a partial download that failed verification, so the next build starts it over. */
  async discard(partial: string): Promise<void> {
    await rm(partial, { force: true });
    await rm(`${partial}.meta.json`, { force: true });
  }
}
