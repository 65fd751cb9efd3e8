/**
 * SHA256SUMS: the checksum list systemd-pull and `sha256sum -c` read. Hashing streams, so a
 * multi-gigabyte tarball costs a fixed amount of memory.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface SumsEntry {
  name: string;
  /** Lower-case hex SHA-256. */
  sha256: string;
}

export interface SumsProblem {
  line: number;
  message: string;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/**
 * A read stream of `path` that feeds every chunk into `hash` on the way through: one read of
 * a large file serves both the checksum and the OpenPGP signature.
 */
export function hashingStream(path: string, hash: Hash): Readable {
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  const source = createReadStream(path, { highWaterMark: 1 << 20 });
  source.on('error', (error) => tap.destroy(error));
  return source.pipe(tap);
}

/** `<hex> *<name>` lines (the `*` marks binary mode), sorted by name so output is stable. */
export function formatSums(entries: readonly SumsEntry[]): string {
  return [...entries]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((entry) => `${entry.sha256} *${entry.name}\n`)
    .join('');
}

/** Accepts both forms coreutils writes: `<hex>  <name>` (text) and `<hex> *<name>` (binary). */
export function parseSums(text: string): { entries: SumsEntry[]; problems: SumsProblem[] } {
  const entries: SumsEntry[] = [];
  const problems: SumsProblem[] = [];
  const seen = new Set<string>();
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((raw, index) => {
    const line = index + 1;
    const match = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(raw);
    if (!match) {
      problems.push({ line, message: `not a '<sha256> *<name>' line: ${JSON.stringify(raw.slice(0, 80))}` });
      return;
    }
    const name = match[2];
    if (name.includes('/') || name === '.' || name === '..') {
      problems.push({ line, message: `'${name}' is not a plain file name in this directory` });
      return;
    }
    if (seen.has(name)) {
      problems.push({ line, message: `'${name}' is listed twice` });
      return;
    }
    seen.add(name);
    entries.push({ name, sha256: match[1].toLowerCase() });
  });
  return { entries, problems };
}
