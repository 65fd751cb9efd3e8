/**
 * A tar reader that sees each entry as GNU tar extracts it. node-tar (which inspect used
 * before) drops what it does not understand, and an attacker can hide behind that: GNU
 * sparse entries (an old GNU 'S' entry was skipped; PAX sparse entries showed up under a
 * `GNUSparseFile.<pid>/` name with their stored, not real, size), extended attributes such
 * as file capabilities, and a pax `mode` keyword that GNU tar ignores but node-tar applied.
 *
 * What GNU tar would extract is reported with the name, size, mode and extended attributes
 * GNU tar uses; what this reader cannot interpret (unknown entry types, damaged headers,
 * inconsistent sparse maps) is reported as a problem rather than guessed at, and parsing
 * stops at a damaged header (GNU tar would skip ahead and extract what follows, so nothing
 * after it can be vouched for).
 *
 * References: POSIX pax (ustar headers, `x`/`g` extended headers), GNU tar's manual,
 * "Sparse Formats" (old GNU, PAX 0.0, 0.1, 1.0) and "GNU tar and POSIX tar" (`L`/`K`).
 */
import type { Readable } from 'node:stream';

export interface TarEntry {
  /** Name as GNU tar extracts it (after pax `path`, GNU long names, GNU.sparse.name). */
  path: string;
  /** node-tar's names, which the checks already use: File, Directory, SymbolicLink, Link... */
  type: string;
  /** Permission bits from the header (GNU tar ignores a pax `mode` keyword). */
  mode: number;
  /** Real size: for a sparse file the expanded size, holes included. */
  size: number;
  linkpath?: string;
  sparse: boolean;
  /** Extended attributes (pax `SCHILY.xattr.<name>`, as GNU tar --xattrs writes and reads them). */
  xattrs: Map<string, Buffer>;
}

export interface TarProblem {
  /** The entry's name when known, else ''. */
  path: string;
  message: string;
}

export interface TarVisitor {
  /** How many leading bytes of this file's (expanded) content to collect, or false. */
  wantContent(entry: TarEntry): number | false;
  onEntry(entry: TarEntry, content?: Buffer): void;
  onProblem(problem: TarProblem): void;
}

const BLOCK = 512;
/** Extended headers and long names bigger than this are not real ones. */
const MAX_META = 16 * 1024 * 1024;
/** Sparse map entries per file (a real map has one per data region). */
const MAX_SPARSE_REGIONS = 1_000_000;

const TYPES: Record<string, string> = {
  '0': 'File',
  '\0': 'File',
  '7': 'ContiguousFile',
  '1': 'Link',
  '2': 'SymbolicLink',
  '3': 'CharacterDevice',
  '4': 'BlockDevice',
  '5': 'Directory',
  '6': 'FIFO',
};
/** Types whose data GNU tar does not read: a size in their header is not an amount to skip. */
const NO_DATA = new Set(['1', '2', '3', '4', '5', '6']);

/** Pulls exact byte counts out of a stream without holding more than a chunk or two. */
class ByteReader {
  private chunks: Buffer[] = [];
  private available = 0;
  private ended = false;
  private readonly iterator: AsyncIterator<Buffer>;

  constructor(stream: Readable) {
    this.iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  private async fill(wanted: number): Promise<void> {
    while (this.available < wanted && !this.ended) {
      const next = await this.iterator.next();
      if (next.done) {
        this.ended = true;
        break;
      }
      const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
      this.chunks.push(chunk);
      this.available += chunk.length;
    }
  }

  /** Exactly `length` bytes, or undefined at the end of the stream (with fewer left). */
  async read(length: number): Promise<Buffer | undefined> {
    await this.fill(length);
    if (this.available < length) return undefined;
    const parts: Buffer[] = [];
    this.stream(length, (part) => parts.push(part));
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, length);
  }

  /** Hands `length` bytes to `sink` chunk by chunk; false if the stream ends first. */
  async forEach(length: number, sink?: (chunk: Buffer) => void): Promise<boolean> {
    let left = length;
    while (left > 0) {
      if (this.available === 0) {
        await this.fill(1);
        if (this.available === 0) return false;
      }
      left -= this.stream(Math.min(left, this.available), sink);
    }
    return true;
  }

  /** Takes up to `length` buffered bytes. */
  private stream(length: number, sink?: (chunk: Buffer) => void): number {
    let left = length;
    while (left > 0 && this.chunks.length) {
      const head = this.chunks[0];
      const part = head.length <= left ? head : head.subarray(0, left);
      if (part === head) this.chunks.shift();
      else this.chunks[0] = head.subarray(left);
      this.available -= part.length;
      left -= part.length;
      sink?.(part);
    }
    return length - left;
  }

  /** True if anything but zero bytes is left in the stream (read to its end). */
  async restHasData(): Promise<boolean> {
    let data = false;
    for (;;) {
      for (const chunk of this.chunks) if (!data && chunk.some((byte) => byte !== 0)) data = true;
      this.chunks = [];
      this.available = 0;
      if (this.ended) return data;
      await this.fill(1);
    }
  }
}

function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

function text(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return (end === -1 ? field : field.subarray(0, end)).toString('utf8');
}

/** Octal (space or NUL terminated) or GNU base-256; NaN when it is neither. */
export function tarNumber(block: Buffer, offset: number, length: number): number {
  const field = block.subarray(offset, offset + length);
  if (field[0] & 0x80) {
    // Base-256: big-endian two's complement, the top bit of the first byte marking it.
    const negative = field[0] === 0xff;
    let value = 0n;
    for (let i = 0; i < field.length; i++) value = (value << 8n) | BigInt(i === 0 ? field[i] & 0x7f : field[i]);
    if (negative) return NaN;
    return value > BigInt(Number.MAX_SAFE_INTEGER) ? NaN : Number(value);
  }
  const digits = field.toString('latin1').replace(/\0.*$/s, '').trim();
  if (digits === '') return 0;
  return /^[0-7]+$/.test(digits) ? parseInt(digits, 8) : NaN;
}

function checksumValid(block: Buffer): boolean {
  const stored = tarNumber(block, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  // GNU tar accepts either sum (some old tars summed signed chars).
  return stored === unsigned || stored === signed;
}

/** pax records (`<length> <key>=<value>\n`), values kept as bytes: xattrs are binary. */
export function parsePaxRecords(data: Buffer): { records: [string, Buffer][]; malformed: boolean } {
  const records: [string, Buffer][] = [];
  let position = 0;
  while (position < data.length) {
    if (data[position] === 0) break;
    const space = data.indexOf(0x20, position);
    const length = space === -1 ? NaN : Number(data.subarray(position, space).toString('latin1'));
    if (!Number.isInteger(length) || length <= 0 || position + length > data.length || data[position + length - 1] !== 0x0a) {
      return { records, malformed: true };
    }
    const record = data.subarray(space + 1, position + length - 1);
    const equals = record.indexOf(0x3d);
    if (equals <= 0) return { records, malformed: true };
    records.push([record.subarray(0, equals).toString('utf8'), record.subarray(equals + 1)]);
    position += length;
  }
  return { records, malformed: false };
}

interface Region {
  offset: number;
  length: number;
}

/** The stored data of a sparse file laid out at its offsets, up to `limit` bytes. */
class SparseAssembler {
  readonly content: Buffer;
  private region = 0;
  private used = 0;

  constructor(
    private readonly regions: Region[],
    realSize: number,
    limit: number,
  ) {
    this.content = Buffer.alloc(Math.min(realSize, limit));
  }

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && this.region < this.regions.length) {
      const { offset, length } = this.regions[this.region];
      const take = Math.min(length - this.used, chunk.length - at);
      const target = offset + this.used;
      if (target < this.content.length) chunk.copy(this.content, target, at, at + Math.min(take, this.content.length - target));
      at += take;
      this.used += take;
      if (this.used === length) {
        this.region++;
        this.used = 0;
      }
    }
  }
}

function checkRegions(regions: Region[], realSize: number, stored: number): string | undefined {
  let end = 0;
  let total = 0;
  for (const { offset, length } of regions) {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < end || offset + length > realSize) {
      return `sparse map region ${offset}+${length} is out of order or past the real size ${realSize}`;
    }
    end = offset + length;
    total += length;
  }
  if (total !== stored) return `sparse map covers ${total} bytes but ${stored} are stored`;
  return undefined;
}

function decimal(value: Buffer | string | undefined): number {
  const digits = (typeof value === 'string' ? value : value?.toString('latin1'))?.trim() ?? '';
  return /^[0-9]+$/.test(digits) ? Number(digits) : NaN;
}

/** Reads the whole archive; throws only when the stream ends inside an entry. */
export async function readTar(stream: Readable, visitor: TarVisitor): Promise<void> {
  const reader = new ByteReader(stream);
  let global = new Map<string, Buffer>();
  let local: [string, Buffer][] = [];
  let longName: string | undefined;
  let longLink: string | undefined;
  let last = '';
  let afterEnd = false;
  let reportedAfterEnd = false;
  const truncated = (what: string) => new Error(`the archive ends inside ${what}`);
  const stop = async (problem: TarProblem) => {
    visitor.onProblem(problem);
    await reader.restHasData();
  };

  for (;;) {
    const header = await reader.read(BLOCK);
    if (!header) {
      // GNU tar accepts an archive without its end-of-archive blocks, and so do we.
      return;
    }
    if (header.every((byte) => byte === 0)) {
      // The end of the archive: plain GNU tar stops reading here, but machinectl pull-tar
      // runs it with --ignore-zeros, which reads on. So do we: an archive we build holds only
      // zero padding after it.
      afterEnd = true;
      continue;
    }
    if (afterEnd && !reportedAfterEnd) {
      reportedAfterEnd = true;
      visitor.onProblem({ path: '', message: 'entries after the end-of-archive marker: plain tar stops before them, tar --ignore-zeros (as machinectl pull-tar runs it) extracts them' });
    }
    if (!checksumValid(header)) {
      await stop({ path: '', message: `damaged header (checksum mismatch) after ${last || 'the start'}; GNU tar would skip ahead and extract what follows` });
      return;
    }
    const flag = String.fromCharCode(header[156]);
    const ustar = header.subarray(257, 263).toString('latin1') === 'ustar\0';
    const headerName = ustar && header[345] !== 0 ? `${text(header, 345, 155)}/${text(header, 0, 100)}` : text(header, 0, 100);
    const storedSize = tarNumber(header, 124, 12);
    if (!Number.isSafeInteger(storedSize)) {
      await stop({ path: headerName, message: 'size field is not a number' });
      return;
    }

    // Headers that describe the next entry.
    if (flag === 'x' || flag === 'g' || flag === 'X' || flag === 'L' || flag === 'K') {
      if (storedSize > MAX_META) {
        await stop({ path: headerName, message: `extended header of ${storedSize} bytes` });
        return;
      }
      const data = await reader.read(padded(storedSize));
      if (!data) throw truncated(`an extended header after ${last || 'the start'}`);
      const body = data.subarray(0, storedSize);
      if (flag === 'L' || flag === 'K') {
        const end = body.indexOf(0);
        const value = (end === -1 ? body : body.subarray(0, end)).toString('utf8');
        if (flag === 'L') longName = value;
        else longLink = value;
        continue;
      }
      const { records, malformed } = parsePaxRecords(body);
      if (malformed) visitor.onProblem({ path: headerName, message: 'malformed pax extended header' });
      if (flag === 'g') {
        global = new Map(global);
        for (const [key, value] of records) global.set(key, value);
      } else {
        local.push(...records);
      }
      continue;
    }

    // An entry: apply the global, then the local extended header (later records win).
    const pax = new Map(global);
    for (const [key, value] of local) pax.set(key, value);
    const paxRecords = local;
    local = [];
    // GNU tar reads these values as C strings: a NUL ends them.
    const paxText = (key: string) => {
      const value = pax.get(key);
      if (value === undefined) return undefined;
      const end = value.indexOf(0);
      return (end === -1 ? value : value.subarray(0, end)).toString('utf8');
    };
    let path = paxText('path') ?? longName ?? headerName;
    const linkpath = paxText('linkpath') ?? longLink ?? text(header, 157, 100);
    longName = undefined;
    longLink = undefined;
    const xattrs = new Map<string, Buffer>();
    for (const [key, value] of pax) if (key.startsWith('SCHILY.xattr.')) xattrs.set(key.slice('SCHILY.xattr.'.length), value);
    const paxSize = pax.has('size') ? decimal(pax.get('size')) : undefined;
    const size = paxSize ?? storedSize;
    if (!Number.isSafeInteger(size)) {
      await stop({ path, message: 'pax size is not a number' });
      return;
    }
    const rawMode = tarNumber(header, 100, 8);
    if (!Number.isSafeInteger(rawMode)) {
      await stop({ path, message: 'mode field is not a number' });
      return;
    }
    const mode = rawMode & 0o7777;
    const sparseKeys = [...pax.keys()].some((key) => key.startsWith('GNU.sparse.'));
    last = path;

    // Which regions of the real file the stored data fills, for sparse entries.
    let regions: Region[] | undefined;
    let realSize = size;
    let mapInData = false;
    const problem = (message: string) => visitor.onProblem({ path, message });

    if (flag === 'S') {
      // Old GNU sparse: four regions in the header, more in extension blocks that follow it
      // (not counted in the size), the real size at offset 483.
      regions = [];
      let block = header;
      let start = 386;
      let count = 4;
      let extended = header[482] !== 0;
      for (;;) {
        for (let i = 0; i < count; i++) {
          const at = start + i * 24;
          if (block[at] === 0) break;
          regions.push({ offset: tarNumber(block, at, 12), length: tarNumber(block, at + 12, 12) });
        }
        if (!extended) break;
        if (regions.length > MAX_SPARSE_REGIONS) {
          await stop({ path, message: 'sparse map with too many regions' });
          return;
        }
        const next = await reader.read(BLOCK);
        if (!next) throw truncated(path);
        block = next;
        start = 0;
        count = 21;
        extended = block[504] !== 0;
      }
      realSize = tarNumber(header, 483, 12);
    } else if (sparseKeys) {
      const major = paxText('GNU.sparse.major');
      const minor = paxText('GNU.sparse.minor');
      path = paxText('GNU.sparse.name') ?? path;
      last = path;
      realSize = decimal(pax.get('GNU.sparse.realsize') ?? pax.get('GNU.sparse.size'));
      if (major !== undefined || minor !== undefined) {
        if (major !== '1' || minor !== '0') {
          problem(`GNU sparse format ${major}.${minor}, which inspect cannot read`);
          if (!(await reader.forEach(padded(size)))) throw truncated(path);
          continue;
        }
        mapInData = true;
      } else if (pax.has('GNU.sparse.map')) {
        // 0.1: "offset,length,offset,length..."
        const numbers = (paxText('GNU.sparse.map') ?? '').split(',').map((n) => decimal(n));
        regions = [];
        for (let i = 0; i + 1 < numbers.length; i += 2) regions.push({ offset: numbers[i], length: numbers[i + 1] });
        if (numbers.length % 2) regions.push({ offset: NaN, length: NaN });
      } else {
        // 0.0: repeated GNU.sparse.offset / GNU.sparse.numbytes records, in order.
        regions = [];
        for (const [key, value] of paxRecords) {
          if (key === 'GNU.sparse.offset') regions.push({ offset: decimal(value), length: NaN });
          else if (key === 'GNU.sparse.numbytes' && regions.length) regions[regions.length - 1].length = decimal(value);
        }
      }
    }
    const sparse = regions !== undefined || mapInData;
    if (sparse && flag !== '0' && flag !== '\0' && flag !== 'S' && flag !== '7') {
      problem(`sparse information on a '${flag}' entry, which inspect cannot interpret`);
      if (!(await reader.forEach(padded(size)))) throw truncated(path);
      continue;
    }
    if (sparse && !Number.isSafeInteger(realSize)) {
      problem('sparse file without a readable real size');
      if (!(await reader.forEach(padded(size)))) throw truncated(path);
      continue;
    }

    const type = flag === 'S' ? 'File' : TYPES[flag];
    if (type === undefined) {
      problem(`entry type '${flag.replace(/[^\x21-\x7e]/, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}', which inspect cannot interpret (GNU tar extracts unknown types as regular files)`);
      if (!(await reader.forEach(padded(size)))) throw truncated(path);
      continue;
    }
    if (NO_DATA.has(flag)) {
      if (size !== 0) {
        // GNU tar and other readers disagree on whether such data exists: refuse to guess.
        await stop({ path, message: `a ${type} entry with ${size} bytes of data` });
        return;
      }
      visitor.onEntry({ path, type, mode, size: 0, linkpath: type === 'Link' || type === 'SymbolicLink' ? linkpath : undefined, sparse: false, xattrs });
      continue;
    }

    // Regular files (sparse or not): the data follows, padded to whole blocks.
    let dataLeft = padded(size);
    if (mapInData) {
      // PAX 1.0: the map is decimal lines at the start of the data, padded to a block.
      const lines: number[] = [];
      let partial = '';
      let count = -1;
      while (count < 0 || lines.length < 1 + 2 * count) {
        if (dataLeft === 0 || lines.length > 2 * MAX_SPARSE_REGIONS) {
          await stop({ path, message: 'unreadable GNU sparse 1.0 map' });
          return;
        }
        const block = await reader.read(BLOCK);
        if (!block) throw truncated(path);
        dataLeft -= BLOCK;
        partial += block.toString('latin1');
        const parts = partial.split('\n');
        partial = parts.pop()!;
        for (const part of parts) {
          if (count >= 0 && lines.length >= 1 + 2 * count) break;
          lines.push(decimal(part));
          if (lines.length === 1) count = Number.isSafeInteger(lines[0]) ? lines[0] : 0;
        }
        // A number is at most 20 digits: anything longer is not a map.
        if (partial.length > 64 && (count < 0 || lines.length < 1 + 2 * count)) {
          await stop({ path, message: 'unreadable GNU sparse 1.0 map' });
          return;
        }
      }
      regions = [];
      for (let i = 0; i < count; i++) regions.push({ offset: lines[1 + 2 * i], length: lines[2 + 2 * i] });
    }
    const storedData = mapInData ? size - (padded(size) - dataLeft) : size;
    const entry: TarEntry = { path, type, mode, size: sparse ? realSize : size, linkpath: undefined, sparse, xattrs };
    if (regions) {
      const wrong = checkRegions(regions, realSize, Math.max(storedData, 0));
      if (wrong) {
        await stop({ path, message: `${wrong}; inspect cannot tell what GNU tar would write` });
        return;
      }
    }
    const limit = visitor.wantContent(entry);
    const bodyBytes = Math.max(storedData, 0);
    if (limit === false) {
      if (!(await reader.forEach(dataLeft))) throw truncated(path);
      visitor.onEntry(entry);
      continue;
    }
    let content: Buffer;
    if (regions) {
      const assembler = new SparseAssembler(regions, realSize, limit);
      if (!(await reader.forEach(bodyBytes, (chunk) => assembler.push(chunk)))) throw truncated(path);
      content = assembler.content;
    } else {
      const parts: Buffer[] = [];
      let kept = 0;
      if (
        !(await reader.forEach(bodyBytes, (chunk) => {
          if (kept >= limit) return;
          const part = chunk.subarray(0, limit - kept);
          // Copied: the chunk belongs to the stream's buffer.
          parts.push(Buffer.from(part));
          kept += part.length;
        }))
      ) {
        throw truncated(path);
      }
      content = Buffer.concat(parts);
    }
    if (!(await reader.forEach(dataLeft - bodyBytes))) throw truncated(path);
    visitor.onEntry(entry, content);
  }
}
