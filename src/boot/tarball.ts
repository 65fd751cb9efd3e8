/**
 * Reading rootfs tarballs without unpacking them: GNU tar writes them (xz, zstd or plain), an
 * external decompressor streams them back (Node 20's zlib has neither xz nor zstd) and node-tar
 * parses the stream. Used to guess the init system of an image and, in tests, to check what an
 * image carries.
 */
import { open } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import { Parser, type ReadEntry } from 'tar';
import { UserError } from '../lib/errors.js';

export type Compression = 'xz' | 'zstd' | 'none';

const MAGIC: Array<[Compression, Buffer]> = [
  ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])],
  ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd])],
];

/** Compression of a tarball judged by its first bytes, not its name. */
export async function detectCompression(path: string): Promise<Compression> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    for (const [name, magic] of MAGIC) {
      if (bytesRead >= magic.length && head.subarray(0, magic.length).equals(magic)) return name;
    }
    return 'none';
  } finally {
    await handle.close();
  }
}

export interface TarEntryInfo {
  /** Path without the leading `./`, e.g. `etc/machine-id`; directories end without `/`. */
  path: string;
  type: string;
  mode: number;
  size: number;
  uid: number;
  gid: number;
  linkpath?: string;
}

export interface TarballContents {
  entries: Map<string, TarEntryInfo>;
  /** Contents of the regular files that `wantContent` selected. */
  contents: Map<string, Buffer>;
}

/** `./etc/x`, `etc/x/` and `/etc/x` all become `etc/x`. */
export function normalizeEntryPath(path: string): string {
  return path.replace(/^\.?\/+/, '').replace(/\/+$/, '');
}

/**
 * Lists every entry of a (possibly compressed) tarball and keeps the content of the regular
 * files `wantContent` accepts. The whole archive is streamed once; nothing is written to disk.
 */
export async function readTarball(path: string, wantContent: (path: string) => boolean = () => false): Promise<TarballContents> {
  const compression = await detectCompression(path);
  const entries = new Map<string, TarEntryInfo>();
  const contents = new Map<string, Buffer>();
  const parser = new Parser({
    onReadEntry: (entry: ReadEntry) => {
      const name = normalizeEntryPath(entry.path);
      entries.set(name, {
        path: name,
        type: entry.type,
        mode: entry.mode ?? 0,
        size: entry.size ?? 0,
        uid: entry.uid ?? 0,
        gid: entry.gid ?? 0,
        linkpath: entry.linkpath,
      });
      if (entry.type === 'File' && wantContent(name)) {
        const chunks: Buffer[] = [];
        entry.on('data', (chunk: Buffer) => chunks.push(chunk));
        entry.on('end', () => contents.set(name, Buffer.concat(chunks)));
      } else {
        entry.resume();
      }
    },
  });
  const done = new Promise<void>((resolve, reject) => {
    parser.on('end', () => resolve());
    parser.on('error', reject);
  });
  let source: Readable;
  let decompressor: ReturnType<typeof execa> | undefined;
  if (compression === 'none') {
    source = createReadStream(path);
  } else {
    decompressor = execa(compression, ['--decompress', '--stdout', '--', path], { stdout: 'pipe', stderr: 'pipe', buffer: { stdout: false } });
    source = decompressor.stdout!;
  }
  source.pipe(parser);
  try {
    await Promise.all([done, decompressor]);
  } catch (error) {
    decompressor?.kill();
    throw new UserError(`cannot read tarball ${path}: ${(error as Error).message}`);
  }
  return { entries, contents };
}

export type InitGuess = 'systemd' | 'openrc';

/**
 * Which init system an image boots. The artifact name says it (`debian-jitsi-openrc.tar.xz`);
 * otherwise the tarball is listed: sysvinit's /sbin/openrc-run means OpenRC, systemd's
 * /lib/systemd/systemd means systemd.
 */
export async function detectInit(tarball: string): Promise<InitGuess> {
  const name = basename(tarball);
  const byName = (['openrc', 'systemd'] as const).filter((init) => name.includes(init));
  if (byName.length === 1) return byName[0];
  const { entries } = await readTarball(tarball);
  const has = (...paths: string[]) => paths.some((p) => entries.has(p));
  if (has('sbin/openrc-run', 'usr/sbin/openrc-run')) return 'openrc';
  if (has('lib/systemd/systemd', 'usr/lib/systemd/systemd')) return 'systemd';
  throw new UserError(`cannot tell the init system of ${tarball}: it holds neither OpenRC nor systemd; pass --init`);
}
