/**
 * A stand-in for Gentoo's release tree, built by the tests, because Gentoo's mirrors are not
 * reachable from our build and CI machines.
 *
 *   const keys = { release: await createTestKey('release'), snapshot: await createTestKey('snapshot') };
 *   const tree = await buildStandinRelease({ dir, keys });
 *   const served = await serveStandin(dir);        // http://127.0.0.1:<port>, ranges supported
 *   ...; await served.close();
 *
 * What is real-like (Gentoo's layout and formats as of 2026):
 * - `releases/<arch>/autobuilds/latest-stage3-<arch>-<flavor>.txt`, clearsigned, comment lines
 *   then `<stamp>/<name> <size>`;
 * - `releases/<arch>/autobuilds/<stamp>/stage3-<arch>-<flavor>-<stamp>.tar.xz`, made by GNU tar
 *   with --numeric-owner and --xattrs from a tiny root laid out like a stage3 (etc/gentoo-release,
 *   etc/portage/make.conf, var/db/pkg/<category>/<package>/, portage's uid 250, a setuid
 *   program, ping with cap_net_raw as Gentoo's iputils carries it, relative symlinks), with
 *   `.asc` (detached, armored), `.CONTENTS.gz` and `.DIGESTS` in catalyst's format (BLAKE2B and
 *   SHA512 blocks for the tarball and the CONTENTS.gz), clearsigned or plain;
 * - `snapshots/gentoo-<YYYYMMDD>.tar.xz` (a `gentoo/` tree with metadata/timestamp.chk and
 *   profiles/repo_name) with `.gpgsig` (detached, armored) and `.md5sum`;
 * - keys: primary keys that sign with a signing subkey, as Gentoo's do: made by openpgp.js
 *   (createTestKey, ed25519, fast) or by GnuPG (createGpgTestKey, RSA 4096 as Gentoo's, and
 *   gpg's own clearsigning).
 * What is simplified: a few files, not a system; no CONTENTS.gz.asc or DIGESTS.asc of old
 * releases; the pointer's comment lines are fixed text.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import * as openpgp from 'openpgp';
import { binaryOutput } from '../binary-output.js';
import { scratchDir } from '../scratch.js';

export interface TestKey {
  privateKey: openpgp.PrivateKey;
  publicKey: openpgp.PublicKey;
  /** Primary key fingerprint, 40 upper-case hex digits. */
  fingerprint: string;
  /** The armored public key, as a key file holds it. */
  armored: string;
}

/** A throwaway key (ed25519) with a signing subkey, which makes the signatures, as Gentoo's keys do. */
export async function createTestKey(name: string): Promise<TestKey> {
  const { privateKey, publicKey } = await openpgp.generateKey({
    userIDs: [{ name: `Stand-in Gentoo ${name} key (tests only)`, email: `${name}@standin.invalid` }],
    subkeys: [{}, { sign: true }],
    format: 'object',
  });
  return { privateKey, publicKey, fingerprint: publicKey.getFingerprint().toUpperCase(), armored: publicKey.armor() };
}

/** A key file holding these public keys (concatenated armor blocks, like gentoo-release.asc). */
export async function writeKeyFile(path: string, ...keys: (TestKey | GpgTestKey)[]): Promise<string> {
  await writeFile(path, keys.map((key) => key.armored).join(''));
  return path;
}

/**
 * A key made by GnuPG as Gentoo's are: an RSA 4096 primary key that certifies, and an RSA 4096
 * subkey that signs. Its signatures come from gpg itself, so the verifier meets gpg's
 * clearsigning (dash escapes, line endings, Hash header) and not only openpgp.js's.
 */
export interface GpgTestKey {
  gnupgHome: string;
  fingerprint: string;
  armored: string;
  /** Stops the gpg-agent of its home (the test's teardown). */
  dispose(): Promise<void>;
}

export async function createGpgTestKey(name: string): Promise<GpgTestKey> {
  // Directly under the temporary directory: gpg-agent's socket path must stay short.
  const gnupgHome = await scratchDir('gentoo-gpg-', '/tmp');
  await chmod(gnupgHome, 0o700);
  const env = { GNUPGHOME: gnupgHome };
  const gpg = (args: string[]) => execa('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { env });
  await gpg(['--quick-gen-key', `Stand-in Gentoo ${name} key (tests only) <${name}@standin.invalid>`, 'rsa4096', 'cert', '1y']);
  const listing = await gpg(['--with-colons', '--list-secret-keys']);
  const fingerprint = listing.stdout.split('\n').find((line) => line.startsWith('fpr:'))!.split(':')[9]!;
  await gpg(['--quick-add-key', fingerprint, 'rsa4096', 'sign', '1y']);
  const armored = (await gpg(['--armor', '--export', fingerprint])).stdout;
  return { gnupgHome, fingerprint, armored: `${armored}\n`, dispose: async () => void (await execa('gpgconf', ['--kill', 'all'], { env, reject: false })) };
}

type SigningKey = TestKey | GpgTestKey;

async function gpgSign(key: GpgTestKey, args: string[], input: Uint8Array | string): Promise<string> {
  const { stdout } = await execa('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--local-user', key.fingerprint, ...args], {
    env: { GNUPGHOME: key.gnupgHome },
    input: typeof input === 'string' ? input : Buffer.from(input),
    stripFinalNewline: false,
  });
  return stdout;
}

export async function clearsign(text: string, key: SigningKey): Promise<string> {
  if ('gnupgHome' in key) return gpgSign(key, ['--digest-algo', 'SHA512', '--clearsign'], text);
  return openpgp.sign({ message: await openpgp.createCleartextMessage({ text }), signingKeys: key.privateKey });
}

export async function detachSign(data: Uint8Array, key: SigningKey): Promise<string> {
  if ('gnupgHome' in key) return gpgSign(key, ['--digest-algo', 'SHA512', '--armor', '--detach-sign'], data);
  return openpgp.sign({ message: await openpgp.createMessage({ binary: data }), signingKeys: key.privateKey, detached: true });
}

export const STAMP = '20261124T170000Z';
export const SNAPSHOT_DATE = '20261124';

export interface StandinOptions {
  dir: string;
  keys: { release: TestKey | GpgTestKey; snapshot: TestKey | GpgTestKey };
  arch?: 'amd64' | 'arm64';
  flavor?: 'openrc' | 'systemd';
  stamp?: string;
  snapshotDate?: string;
  /** Clearsign the DIGESTS, as releases do since 2023 (default), or leave it plain, as older ones. */
  clearsignDigests?: boolean;
  /** Random bytes in the stage3 (incompressible), so downloads are big enough to break off. */
  payloadBytes?: number;
  /** Text of /etc/gentoo-release, so two builds of the stand-in differ. */
  release?: string;
  /** Use these bytes as the stage3 tarball instead of packing the stand-in root. */
  tarball?: Buffer;
}

export interface StandinRelease {
  dir: string;
  /** Mirror-relative paths. */
  pointer: string;
  stage3: string;
  stage3Name: string;
  asc: string;
  digests: string;
  contents: string;
  snapshot: string;
  gpgsig: string;
  /** The stage3 tarball's SHA512. */
  sha512: string;
  size: number;
}

/** The tiny stage3-like root; owners and capabilities need root (the tests run as root). */
async function writeStage3Root(root: string, options: { arch: string; flavor: string; payloadBytes: number; release: string }): Promise<void> {
  const file = async (path: string, content: string | Buffer, mode = 0o644, owner?: [number, number]) => {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), content);
    await chmod(join(root, path), mode);
    if (owner) await chown(join(root, path), owner[0], owner[1]);
  };
  await file('etc/gentoo-release', `${options.release}\n`);
  await file('etc/os-release', STAGE3_OS_RELEASE);
  await file('etc/portage/make.conf', STAGE3_MAKE_CONF);
  await mkdir(join(root, 'etc/portage/package.use'), { recursive: true });
  for (const [pkg, version] of [
    ['sys-apps/baselayout', '2.17'],
    ['net-misc/iputils', '20250605'],
    [options.flavor === 'systemd' ? 'sys-apps/systemd' : 'sys-apps/openrc', options.flavor === 'systemd' ? '257.9' : '0.62.6'],
  ] as const) {
    const dir = `var/db/pkg/${pkg}-${version}`;
    await file(`${dir}/PF`, `${pkg.split('/')[1]}-${version}\n`);
    await file(`${dir}/SLOT`, '0\n');
    await file(`${dir}/repository`, 'gentoo\n');
    await file(`${dir}/CONTENTS`, `dir /etc\nobj /etc/gentoo-release ${createHash('md5').update(options.release).digest('hex')} 1732467600\n`);
  }
  await file('bin/ping', '#!/bin/sh\necho stand-in ping\n', 0o755);
  await execa('setcap', ['cap_net_raw=ep', join(root, 'bin/ping')]);
  await file('usr/bin/passwd', '#!/bin/sh\necho stand-in passwd\n', 0o4711);
  await mkdir(join(root, 'var/lib/portage'), { recursive: true });
  await chown(join(root, 'var/lib/portage'), 250, 250);
  await chmod(join(root, 'var/lib/portage'), 0o2750);
  await file('var/lib/portage/world', '', 0o644, [250, 250]);
  await file('usr/share/standin/payload.bin', randomBytes(options.payloadBytes));
  await mkdir(join(root, 'usr/lib'), { recursive: true });
  await symlink('../../etc/os-release', join(root, 'usr/lib/os-release'));
  for (const dir of ['dev', 'proc', 'sys', 'run', 'tmp', 'var/tmp', 'root']) await mkdir(join(root, dir), { recursive: true });
  await chmod(join(root, 'tmp'), 0o1777);
  await chmod(join(root, 'root'), 0o700);
}

/**
 * GNU tar as catalyst packs a stage: numeric owners, pax with xattrs, xz. `fast`: xz's lowest
 * level on every core, for trees of hundreds of MB (the format is the same).
 */
export async function packTree(tree: string, file: string, options: { fast?: boolean } = {}): Promise<void> {
  await execa('tar', ['--create', '--xz', `--file=${file}`, `--directory=${tree}`, '--numeric-owner', '--format=pax', '--xattrs', '--xattrs-include=*', '--sort=name', '.'], {
    ...(options.fast ? { env: { XZ_OPT: '-1 -T0' } } : {}),
  });
}

/** A stage3's /etc/os-release (baselayout 2.17). */
export const STAGE3_OS_RELEASE = 'NAME=Gentoo\nID=gentoo\nPRETTY_NAME="Gentoo Linux"\nVERSION_ID="2.17"\nHOME_URL="https://www.gentoo.org/"\n';
/** A stage3's make.conf, as the stand-ins have it. */
export const STAGE3_MAKE_CONF = `# Stand-in of a stage3's make.conf (tests only)\nCOMMON_FLAGS="-O2 -pipe"\nCFLAGS="\${COMMON_FLAGS}"\nCXXFLAGS="\${COMMON_FLAGS}"\nLC_MESSAGES=C.utf8\n`;

function hex(algorithm: string, data: Uint8Array): string {
  return createHash(algorithm).update(data).digest('hex');
}

/** A DIGESTS text in catalyst's format for these files (name -> bytes). */
export function digestsText(files: Record<string, Uint8Array>): string {
  const lines: string[] = [];
  for (const [name, data] of Object.entries(files)) {
    lines.push('# BLAKE2B HASH', `${hex('blake2b512', data)}  ${name}`, '# SHA512 HASH', `${hex('sha512', data)}  ${name}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The pointer text: comments, then `<stamp>/<name> <size>`. */
export function pointerText(relative: string, size: number): string {
  return `# Latest as of Tue, 24 Nov 2026 17:00:00 +0000\n# ts=1795539600\n${relative} ${size}\n`;
}

/** Builds (or rebuilds) the stand-in release tree under `options.dir`. */
export async function buildStandinRelease(options: StandinOptions): Promise<StandinRelease> {
  const arch = options.arch ?? 'amd64';
  const flavor = options.flavor ?? 'openrc';
  const stamp = options.stamp ?? STAMP;
  const date = options.snapshotDate ?? SNAPSHOT_DATE;
  const autobuilds = `releases/${arch}/autobuilds`;
  const stage3Name = `stage3-${arch}-${flavor}-${stamp}.tar.xz`;
  const stage3 = `${autobuilds}/${stamp}/${stage3Name}`;
  const at = (path: string) => join(options.dir, path);
  await mkdir(at(`${autobuilds}/${stamp}`), { recursive: true });
  await mkdir(at('snapshots'), { recursive: true });

  let tarball = options.tarball;
  if (!tarball) {
    const work = await scratchDir('gentoo-standin-root-');
    await writeStage3Root(join(work, 'root'), {
      arch,
      flavor,
      payloadBytes: options.payloadBytes ?? 64 * 1024,
      release: options.release ?? 'Gentoo Base System release 2.17',
    });
    await packTree(join(work, 'root'), join(work, stage3Name));
    tarball = await readFile(join(work, stage3Name));
    await rm(work, { recursive: true, force: true });
  }
  await writeFile(at(stage3), tarball);
  const contents = gzipSync(`dir ./etc\nobj ./etc/gentoo-release\nobj ./etc/portage/make.conf\n`);
  await writeFile(at(`${stage3}.CONTENTS.gz`), contents);
  await writeFile(at(`${stage3}.asc`), await detachSign(tarball, options.keys.release));
  const digests = digestsText({ [stage3Name]: tarball, [`${stage3Name}.CONTENTS.gz`]: contents });
  await writeFile(at(`${stage3}.DIGESTS`), options.clearsignDigests === false ? digests : await clearsign(digests, options.keys.release));
  const pointer = `${autobuilds}/latest-stage3-${arch}-${flavor}.txt`;
  await writeFile(at(pointer), await clearsign(pointerText(`${stamp}/${stage3Name}`, tarball.length), options.keys.release));

  const snapshot = `snapshots/gentoo-${date}.tar.xz`;
  const snapWork = await scratchDir('gentoo-standin-snapshot-');
  const repo = join(snapWork, 'gentoo');
  await mkdir(join(repo, 'metadata'), { recursive: true });
  await mkdir(join(repo, 'profiles'), { recursive: true });
  await mkdir(join(repo, 'net-im/prosody'), { recursive: true });
  await writeFile(join(repo, 'metadata/timestamp.chk'), `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6)} 00:45:00 UTC\n`);
  await writeFile(join(repo, 'profiles/repo_name'), 'gentoo\n');
  await writeFile(join(repo, 'net-im/prosody/prosody-13.0.2.ebuild'), '# stand-in ebuild (tests only)\nEAPI=8\n');
  await packTree(snapWork, at(snapshot));
  await rm(snapWork, { recursive: true, force: true });
  const snapshotBytes = await readFile(at(snapshot));
  await writeFile(at(`${snapshot}.gpgsig`), await detachSign(snapshotBytes, options.keys.snapshot));
  await writeFile(at(`${snapshot}.md5sum`), `${hex('md5', snapshotBytes)}  gentoo-${date}.tar.xz\n`);

  return {
    dir: options.dir,
    pointer,
    stage3,
    stage3Name,
    asc: `${stage3}.asc`,
    digests: `${stage3}.DIGESTS`,
    contents: `${stage3}.CONTENTS.gz`,
    snapshot,
    gpgsig: `${snapshot}.gpgsig`,
    sha512: hex('sha512', tarball),
    size: tarball.length,
  };
}

export interface ServedRequest {
  method: string;
  path: string;
  range?: string;
  status: number;
  /** Body bytes sent. */
  sent: number;
}

export interface ServedStandin {
  /** `http://127.0.0.1:<port>`: the mirror root (holding releases/ and snapshots/). */
  url: string;
  requests: ServedRequest[];
  /** The next GET of `path` sends its headers and only `bytes` bytes of the body, then drops the connection. */
  breakNext(path: string, bytes: number): void;
  close(): Promise<void>;
}

/**
 * Serves `dir` read-only on 127.0.0.1 as a mirror does: GET/HEAD of files, ETag and
 * Last-Modified, single ranges (`bytes=N-` and `bytes=N-M`) honoured under If-Range (a changed
 * file is sent whole), 416 past the end. The Jitsi stand-in's server answers whole files only;
 * resuming needs ranges, and the tests need to break a transfer off and see the requests.
 */
export async function serveStandin(dir: string): Promise<ServedStandin> {
  const root = normalize(dir);
  const requests: ServedRequest[] = [];
  const breaks = new Map<string, number>();
  const server = createServer((request: IncomingMessage, response) => {
    void (async () => {
      const urlPath = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
      const path = normalize(join(root, urlPath));
      const info = path.startsWith(root + sep) ? await stat(path).catch(() => undefined) : undefined;
      const entry: ServedRequest = { method: request.method ?? '', path: urlPath, status: 404, sent: 0, ...(request.headers.range ? { range: request.headers.range } : {}) };
      requests.push(entry);
      if ((request.method !== 'GET' && request.method !== 'HEAD') || !info?.isFile()) {
        response.writeHead(404).end();
        return;
      }
      const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
      const lastModified = info.mtime.toUTCString();
      let start = 0;
      let end = info.size - 1;
      let status = 200;
      const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
      const ifRange = request.headers['if-range'];
      if (range && (!ifRange || ifRange === etag || ifRange === lastModified)) {
        start = Number(range[1]);
        if (range[2]) end = Math.min(end, Number(range[2]));
        if (start >= info.size) {
          entry.status = 416;
          response.writeHead(416, { 'content-range': `bytes */${info.size}` }).end();
          return;
        }
        status = 206;
      }
      entry.status = status;
      const headers: Record<string, string | number> = { 'content-length': end - start + 1, etag, 'last-modified': lastModified, 'accept-ranges': 'bytes' };
      if (status === 206) headers['content-range'] = `bytes ${start}-${end}/${info.size}`;
      response.writeHead(status, headers);
      if (request.method === 'HEAD') {
        response.end();
        return;
      }
      const cut = breaks.get(urlPath);
      if (cut !== undefined) breaks.delete(urlPath);
      const stream = createReadStream(path, { start, end: cut !== undefined ? Math.min(end, start + cut - 1) : end });
      stream.on('data', (chunk) => (entry.sent += (chunk as Buffer).length));
      if (cut !== undefined) {
        stream.on('data', (chunk) => response.write(chunk));
        stream.on('end', () => {
          // Headers promised more: closing the connection once these bytes are out is a transfer broken off.
          response.socket?.end();
        });
      } else {
        stream.pipe(response);
      }
    })().catch(() => response.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    breakNext: (path, bytes) => breaks.set(path.startsWith('/') ? path : `/${path}`, bytes),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface RawTarEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink';
  content?: string;
  linkname?: string;
  mode?: number;
}

/**
 * A tar archive written header by header (ustar), xz-compressed: for archives GNU tar would
 * not make from a real tree (`../` names, absolute names, files below a stored symlink).
 */
export async function rawTarXz(entries: RawTarEntry[]): Promise<Buffer> {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const content = Buffer.from(entry.content ?? '');
    const header = Buffer.alloc(512);
    const field = (offset: number, length: number, value: string) => header.write(value, offset, length, 'latin1');
    const octal = (offset: number, length: number, value: number) => field(offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
    field(0, 100, entry.name);
    octal(100, 8, entry.mode ?? (entry.type === 'dir' ? 0o755 : 0o644));
    octal(108, 8, 0);
    octal(116, 8, 0);
    octal(124, 12, entry.type === 'file' ? content.length : 0);
    octal(136, 12, 1_795_539_600);
    field(156, 1, { file: '0', hardlink: '1', symlink: '2', dir: '5' }[entry.type]);
    if (entry.linkname) field(157, 100, entry.linkname);
    field(257, 6, 'ustar\0');
    field(263, 2, '00');
    field(265, 32, 'root');
    field(297, 32, 'root');
    header.fill(0x20, 148, 156);
    let sum = 0;
    for (const byte of header) sum += byte;
    field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
    blocks.push(header);
    if (entry.type === 'file' && content.length) {
      blocks.push(content, Buffer.alloc((512 - (content.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.from(await binaryOutput('xz', ['-c'], { input: Buffer.concat(blocks) }));
}
