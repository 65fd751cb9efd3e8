/**
 * Jitsi's own .debs for a Gentoo root, fetched and verified the way apt verifies them, without
 * apt (no maintained Gentoo ebuilds of Jitsi exist):
 *
 *   <url>/<suite>/InRelease   clearsigned by the pinned Jitsi key (openpgp.js)
 *   <url>/<suite>/Packages    (or Packages.gz) with the SHA256 and size InRelease lists for it
 *   <url>/<Filename>          each wanted .deb, with the Size and SHA256 its Packages stanza lists
 *
 * The key is Jitsi's pinned key as the Debian path resolves and checks it (jitsi-repository.ts).
 * Each wanted package is `name` (the highest version the repository has, by dpkg's ordering) or
 * `name=version`. Everything is downloaded and checked before anything is unpacked; any failure
 * refuses the whole set, naming the file, its URL, what was expected and what arrived.
 * Unpacking the verified .debs is deb-unpack.ts.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import * as openpgp from 'openpgp';
import { UserError } from '../../lib/errors.js';
import { checkKey, fetchKey, type JitsiSource } from '../jitsi-repository.js';
import { formatFingerprint } from '../openpgp-keys.js';
import { compareDebianVersions, debianVersionProblem } from './debian-version.js';
import { VerificationFailed, verifyClearsigned, type PinnedKey } from './signatures.js';

/** An index file larger than this is no repository index; refuse it instead of reading it all. */
const INDEX_MAX_BYTES = 64 * 1024 * 1024;
/** A connection that sends nothing for this long is given up. */
const IDLE_TIMEOUT_MS = 60_000;

/** What this needs of a resolved Jitsi source (resolveJitsiSource). */
export type JitsiDebSource = Pick<JitsiSource, 'url' | 'suite' | 'key' | 'pinnedFingerprint' | 'packages'>;

/** One stanza of a Packages file: its fields by name (as written), in order. */
export type Stanza = Map<string, string>;

/** A .deb downloaded and checked against the signed index. */
export interface VerifiedDeb {
  package: string;
  version: string;
  /** The local file. */
  file: string;
  url: string;
  sha256: string;
  size: number;
}

/**
 * Parses deb822 stanzas (Packages, the body of InRelease): `Field: value`, continuation lines
 * starting with a blank, stanzas separated by empty lines. `what` names the file in errors.
 */
export function parseStanzas(text: string, what: string): Stanza[] {
  const stanzas: Stanza[] = [];
  let current: Stanza | undefined;
  let last: string | undefined;
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') {
      if (current) stanzas.push(current);
      current = undefined;
      last = undefined;
      return;
    }
    if (/^[ \t]/.test(line)) {
      if (!current || last === undefined) throw new VerificationFailed(`${what}, line ${index + 1}: a continuation line with no field before it; refusing the file`);
      current.set(last, `${current.get(last)}\n${line.trim()}`);
      return;
    }
    const match = /^([!-9;-~][!-9;-~]*):[ \t]*(.*)$/.exec(line);
    if (!match) throw new VerificationFailed(`${what}, line ${index + 1}: '${line.slice(0, 80)}' is not a 'Field: value' line; refusing the file`);
    current ??= new Map();
    if (current.has(match[1]!)) throw new VerificationFailed(`${what}, line ${index + 1}: field ${match[1]} appears twice in one stanza; refusing the file`);
    current.set(match[1]!, match[2]!.trim());
    last = match[1]!;
  });
  if (current) stanzas.push(current);
  return stanzas;
}

/** The `SHA256:` list of a Release file: path -> { sha256, size }. */
export function releaseSha256(release: Stanza, what: string): Map<string, { sha256: string; size: number }> {
  const field = release.get('SHA256');
  if (field === undefined) throw new VerificationFailed(`${what}: has no SHA256 section; refusing the repository (apt needs one too)`);
  const files = new Map<string, { sha256: string; size: number }>();
  for (const line of field.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const match = /^([0-9a-fA-F]{64})\s+(\d+)\s+(\S+)$/.exec(line);
    if (!match) throw new VerificationFailed(`${what}: SHA256 line '${line}' is not '<sha256> <size> <path>'; refusing the repository`);
    files.set(match[3]!, { sha256: match[1]!.toLowerCase(), size: Number(match[2]) });
  }
  return files;
}

/** `name` or `name=version`, checked. */
export function parseWanted(spec: string): { name: string; version?: string } {
  const [name, version, extra] = spec.split('=');
  if (!name || !/^[a-z0-9][a-z0-9+.-]+$/.test(name) || extra !== undefined || version === '') {
    throw new UserError(`'${spec}' is not a package to install: give a Debian package name, optionally with =version`);
  }
  if (version !== undefined) {
    const problem = debianVersionProblem(version);
    if (problem) throw new UserError(`'${spec}': ${problem}`);
  }
  return version === undefined ? { name } : { name, version };
}

/**
 * The stanza of each wanted package: the pinned version, else the highest one. Refuses, naming
 * what the repository has, when a package or the pinned version is missing.
 */
export function pickPackages(stanzas: Stanza[], wanted: string[], what: string): Stanza[] {
  return wanted.map((spec) => {
    const { name, version } = parseWanted(spec);
    const candidates = stanzas.filter((stanza) => stanza.get('Package') === name);
    if (candidates.length === 0) {
      throw new VerificationFailed(`${what}: has no package ${name}; refusing before anything is unpacked (check the recipe's jitsi.packages and the repository)`);
    }
    for (const candidate of candidates) {
      const problem = debianVersionProblem(candidate.get('Version') ?? '');
      if (problem) throw new VerificationFailed(`${what}: package ${name}: ${problem}; refusing the repository`);
    }
    const versions = candidates.map((c) => c.get('Version')!);
    if (version !== undefined) {
      const pinned = candidates.filter((c) => compareDebianVersions(c.get('Version')!, version) === 0);
      if (pinned.length === 0) {
        throw new VerificationFailed(`${what}: has ${name} ${versions.join(', ')}, not the pinned ${version}; refusing before anything is unpacked (change the pin in jitsi.packages)`);
      }
      if (pinned.length > 1) throw new VerificationFailed(`${what}: lists ${name} ${version} ${pinned.length} times; refusing the repository`);
      return pinned[0]!;
    }
    const sorted = [...candidates].sort((a, b) => compareDebianVersions(b.get('Version')!, a.get('Version')!));
    if (sorted.length > 1 && compareDebianVersions(sorted[0]!.get('Version')!, sorted[1]!.get('Version')!) === 0) {
      throw new VerificationFailed(`${what}: lists ${name} ${sorted[0]!.get('Version')} more than once; refusing the repository`);
    }
    return sorted[0]!;
  });
}

function networkProblem(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

/** The body of `url` (http, https or file:) as a stream, or a UserError naming the URL. */
async function open(url: string, what: string, signal: AbortSignal | undefined): Promise<{ body: Readable; done: () => void }> {
  if (url.startsWith('file:')) {
    const path = fileURLToPath(url);
    const stream = createReadStream(path);
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', (error: NodeJS.ErrnoException) => reject(new UserError(`${what}: cannot read ${url} (${error.code ?? error.message})`)));
    });
    return { body: stream, done: () => undefined };
  }
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new Error(`no data for ${IDLE_TIMEOUT_MS / 1000} s`)), IDLE_TIMEOUT_MS);
  };
  touch();
  const combined = signal ? AbortSignal.any([signal, controller.signal]) : controller.signal;
  let response: Response;
  try {
    response = await fetch(url, { signal: combined, redirect: 'follow' });
  } catch (error) {
    clearTimeout(timer);
    if (signal?.aborted) throw signal.reason;
    throw new UserError(`${what}: cannot fetch ${url}: ${networkProblem(error)}; check the network or the repository URL`);
  }
  if (!response.ok || !response.body) {
    clearTimeout(timer);
    throw new UserError(`${what}: cannot fetch ${url}: HTTP ${response.status}`);
  }
  const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', touch);
  return { body, done: () => clearTimeout(timer) };
}

/** Fetches a small file whole; refuses more than `maxBytes`. */
async function fetchSmall(url: string, maxBytes: number, what: string, signal?: AbortSignal): Promise<Buffer> {
  const { body, done } = await open(url, what, signal);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        body.destroy();
        throw new VerificationFailed(`${what}: ${url} is larger than ${maxBytes} bytes, which no repository index is; refusing it`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (error instanceof UserError) throw error;
    if (signal?.aborted) throw signal.reason;
    throw new UserError(`${what}: fetching ${url} failed: ${networkProblem(error)}`);
  } finally {
    done();
  }
  return Buffer.concat(chunks);
}

/**
 * Downloads `url` to `file` (written beside it, renamed when whole) and checks size and SHA256
 * against the index; reading stops as soon as more bytes arrive than the index lists.
 */
async function downloadChecked(url: string, file: string, expected: { sha256: string; size: number }, what: string, signal?: AbortSignal): Promise<void> {
  const partial = `${file}.partial`;
  const hash = createHash('sha256');
  let size = 0;
  const { body, done } = await open(url, what, signal);
  const counting = new Transform({
    transform(chunk: Buffer, _encoding, next) {
      size += chunk.length;
      if (size > expected.size) {
        next(new VerificationFailed(`${what}: ${url} is larger than the ${expected.size} bytes the signed index lists; refusing it`));
        return;
      }
      hash.update(chunk);
      next(null, chunk);
    },
  });
  try {
    await pipeline(body, counting, createWriteStream(partial, { mode: 0o644 }));
  } catch (error) {
    await rm(partial, { force: true });
    if (error instanceof UserError) throw error;
    if (signal?.aborted) throw signal.reason;
    throw new UserError(`${what}: downloading ${url} failed: ${networkProblem(error)}`);
  } finally {
    done();
  }
  const sha256 = hash.digest('hex');
  if (size !== expected.size || sha256 !== expected.sha256) {
    await rm(partial, { force: true });
    throw new VerificationFailed(
      `${what}: ${url} has ${size} bytes, SHA256 ${sha256}; the signed index lists ${expected.size} bytes, SHA256 ${expected.sha256}; refusing it before anything is unpacked`,
    );
  }
  await rename(partial, file);
}

/** The pinned Jitsi key, as jitsi-repository.ts fetches and checks it, in the form signatures.ts verifies with. */
export async function loadJitsiKey(source: JitsiDebSource, signal?: AbortSignal): Promise<PinnedKey> {
  const { bytes, from } = await fetchKey(source.key, signal);
  const checked = await checkKey(bytes, from, source.pinnedFingerprint);
  const key = await openpgp.readKey({ binaryKey: checked.keyring });
  return { key, fingerprint: checked.fingerprint, role: "Jitsi's repository key", from };
}

/**
 * Fetches InRelease, Packages and the wanted .debs into `downloadDir` and verifies each link of
 * the chain. Returns the verified .debs in the order asked for; throws a VerificationFailed (or
 * a UserError for network trouble) before the caller unpacks anything.
 */
export async function fetchVerifiedJitsiDebs(
  source: JitsiDebSource,
  downloadDir: string,
  options: { signal?: AbortSignal; log?: (line: string) => void; now?: Date } = {},
): Promise<VerifiedDeb[]> {
  const { signal, log } = options;
  const suite = source.suite.replace(/^\/+|\/+$/g, '');
  const base = source.url.replace(/\/+$/, '');
  const wanted = source.packages.map((spec) => ({ spec, ...parseWanted(spec) }));
  const pinned = await loadJitsiKey(source, signal);
  log?.(`Jitsi's repository key: ${formatFingerprint(pinned.fingerprint)} (${pinned.from})`);

  const inReleaseUrl = `${base}/${suite}/InRelease`;
  const inReleaseWhat = `InRelease (${inReleaseUrl})`;
  const inRelease = await fetchSmall(inReleaseUrl, INDEX_MAX_BYTES, 'InRelease', signal);
  const signedText = await verifyClearsigned(inRelease.toString('utf8'), pinned, inReleaseWhat);
  const release = parseStanzas(signedText, inReleaseWhat);
  if (release.length !== 1) throw new VerificationFailed(`${inReleaseWhat}: its signed text holds ${release.length} stanzas, not one; refusing it`);
  const validUntil = release[0]!.get('Valid-Until');
  if (validUntil !== undefined) {
    const until = Date.parse(validUntil.replace(/ UTC$/, ' GMT'));
    if (Number.isNaN(until)) throw new VerificationFailed(`${inReleaseWhat}: Valid-Until '${validUntil}' is not a date; refusing it`);
    if (until < (options.now ?? new Date()).getTime()) throw new VerificationFailed(`${inReleaseWhat}: expired (Valid-Until ${validUntil}); a mirror may be serving an old copy; refusing it`);
  }
  const listed = releaseSha256(release[0]!, inReleaseWhat);

  // Plain Packages when InRelease lists it (nothing to decompress), else Packages.gz.
  const indexName = listed.has('Packages') ? 'Packages' : listed.has('Packages.gz') ? 'Packages.gz' : undefined;
  if (!indexName) throw new VerificationFailed(`${inReleaseWhat}: lists no SHA256 for Packages or Packages.gz; refusing the repository`);
  const indexExpected = listed.get(indexName)!;
  const indexUrl = `${base}/${suite}/${indexName}`;
  const indexBytes = await fetchSmall(indexUrl, INDEX_MAX_BYTES, indexName, signal);
  const indexSha256 = createHash('sha256').update(indexBytes).digest('hex');
  if (indexSha256 !== indexExpected.sha256 || indexBytes.length !== indexExpected.size) {
    throw new VerificationFailed(
      `${indexName} (${indexUrl}): has ${indexBytes.length} bytes, SHA256 ${indexSha256}; the signed InRelease lists ${indexExpected.size} bytes, SHA256 ${indexExpected.sha256}; refusing it before anything is unpacked`,
    );
  }
  let packagesText: string;
  try {
    packagesText = (indexName.endsWith('.gz') ? gunzipSync(indexBytes, { maxOutputLength: INDEX_MAX_BYTES }) : indexBytes).toString('utf8');
  } catch (error) {
    throw new VerificationFailed(`${indexName} (${indexUrl}): cannot decompress it (${(error as Error).message}); refusing it`);
  }
  const indexWhat = `${indexName} (${indexUrl})`;
  const stanzas = pickPackages(parseStanzas(packagesText, indexWhat), wanted.map((w) => w.spec), indexWhat);

  await mkdir(downloadDir, { recursive: true });
  const debs: VerifiedDeb[] = [];
  for (const stanza of stanzas) {
    const name = stanza.get('Package')!;
    const version = stanza.get('Version')!;
    const filename = stanza.get('Filename');
    const sha256 = stanza.get('SHA256')?.toLowerCase();
    const sizeText = stanza.get('Size');
    if (!filename || !sha256 || !/^[0-9a-f]{64}$/.test(sha256) || !sizeText || !/^\d+$/.test(sizeText)) {
      throw new VerificationFailed(`${indexWhat}: the stanza of ${name} ${version} lacks a Filename, a Size or a SHA256; refusing it`);
    }
    if (filename.startsWith('/') || filename.split('/').includes('..') || !/^[A-Za-z0-9._+~%/-]+\.deb$/.test(filename)) {
      throw new VerificationFailed(`${indexWhat}: ${name} ${version} has Filename '${filename}', not a .deb below the repository; refusing it`);
    }
    const url = `${base}/${filename}`;
    // Named by hash: two versions, or a name with odd characters, never collide.
    const file = join(downloadDir, `${sha256}.deb`);
    await downloadChecked(url, file, { sha256, size: Number(sizeText) }, `${name} ${version}`, signal);
    log?.(`${name} ${version}: ${url} matches the signed index (SHA256 ${sha256})`);
    debs.push({ package: name, version, file, url, sha256, size: Number(sizeText) });
  }
  return debs;
}
