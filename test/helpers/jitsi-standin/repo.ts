/**
 * The flat, signed apt repository of the stand-in: .debs built with dpkg-deb from trees this
 * helper writes, `Packages`/`Packages.gz`/`Release` written here (no apt-utils needed), and
 * `InRelease`/`Release.gpg` signed with gpg from a throwaway GNUPGHOME, so apt's own gpgv checks
 * them exactly as it checks Jitsi's. Served over plain HTTP on 127.0.0.1.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join, normalize, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';

/** The suite directory of Jitsi's flat repository (`deb <url> stable/`). */
export const SUITE = 'stable';

export interface SigningKey {
  /** The throwaway GNUPGHOME holding the secret key. */
  gnupgHome: string;
  fingerprint: string;
  /** Binary public keyring, for `[signed-by=...]`. */
  keyring: string;
  /** Stops gpg-agent and deletes the GNUPGHOME. */
  dispose(): Promise<void>;
}

/**
 * A fresh ed25519 signing key in its own GNUPGHOME. The home sits directly under the system
 * temporary directory because gpg-agent's socket path must stay short.
 */
export async function createSigningKey(name = 'Stand-in Jitsi repository (test only)'): Promise<SigningKey> {
  const gnupgHome = await mkdtemp(join(tmpdir(), 'standin-gpg-'));
  await chmod(gnupgHome, 0o700);
  const env = { GNUPGHOME: gnupgHome };
  const dispose = async () => {
    await execa('gpgconf', ['--kill', 'all'], { env, reject: false });
    await rm(gnupgHome, { recursive: true, force: true });
  };
  try {
    const uid = `${name} <standin-${basename(gnupgHome).slice(-6).toLowerCase()}@example.invalid>`;
    await execa('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', uid, 'ed25519', 'sign', '1d'], { env });
    const listing = await execa('gpg', ['--batch', '--with-colons', '--list-secret-keys'], { env });
    const fingerprint = listing.stdout.split('\n').find((line) => line.startsWith('fpr:'))?.split(':')[9];
    if (!fingerprint) throw new Error(`gpg made no key in ${gnupgHome}: ${listing.stdout}`);
    const keyring = join(gnupgHome, 'public-keyring.gpg');
    await execa('gpg', ['--batch', '--yes', '--output', keyring, '--export', fingerprint], { env });
    return { gnupgHome, fingerprint, keyring, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

async function hashes(path: string): Promise<{ md5: string; sha1: string; sha256: string; size: number }> {
  const md5 = createHash('md5');
  const sha1 = createHash('sha1');
  const sha256 = createHash('sha256');
  for await (const chunk of createReadStream(path)) {
    md5.update(chunk as Buffer);
    sha1.update(chunk as Buffer);
    sha256.update(chunk as Buffer);
  }
  return { md5: md5.digest('hex'), sha1: sha1.digest('hex'), sha256: sha256.digest('hex'), size: (await stat(path)).size };
}

/**
 * Builds `<outDir>/<name>_<version>_all.deb` from `tree` (DEBIAN/ included). Owners become
 * root:root (--root-owner-group); modes come from the tree, which the caller set.
 */
export async function buildDeb(tree: string, outDir: string, name: string, version: string): Promise<string> {
  const file = join(outDir, `${name}_${version.replace(/^\d+:/, '')}_all.deb`);
  // gzip keeps the .deb readable by any dpkg and is what the smallest test cost is.
  await execa('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', tree, file]);
  return file;
}

/** Writes Packages, Packages.gz and Release for the .debs in `suiteDir` and signs Release. */
export async function writeIndices(repoRoot: string, signingKey: SigningKey, label: string): Promise<void> {
  const suiteDir = join(repoRoot, SUITE);
  const debs = (await readdir(suiteDir)).filter((name) => name.endsWith('.deb')).sort();
  const stanzas: string[] = [];
  for (const deb of debs) {
    const path = join(suiteDir, deb);
    const control = (await execa('dpkg-deb', ['--field', path])).stdout.trimEnd();
    const sums = await hashes(path);
    // Filename is relative to the archive root (the URL in sources.list), as in Jitsi's repository.
    stanzas.push(`${control}\nFilename: ${SUITE}/${deb}\nSize: ${sums.size}\nMD5sum: ${sums.md5}\nSHA1: ${sums.sha1}\nSHA256: ${sums.sha256}\n`);
  }
  const packages = stanzas.join('\n');
  await writeFile(join(suiteDir, 'Packages'), packages);
  await writeFile(join(suiteDir, 'Packages.gz'), gzipSync(packages, { level: 9 }));

  const indexFiles = ['Packages', 'Packages.gz'];
  const sums = await Promise.all(indexFiles.map(async (name) => ({ name, ...(await hashes(join(suiteDir, name))) })));
  const list = (field: 'md5' | 'sha1' | 'sha256') => sums.map((entry) => ` ${entry[field]} ${String(entry.size).padStart(8)} ${entry.name}`).join('\n');
  const release = [
    'Origin: jitsi-standin',
    // apt compares a flat repository's suite with its directory and warns when they differ.
    `Suite: ${SUITE}`,
    `Label: ${label}`,
    // apt wants a Date; "UTC" is how Debian's archive spells the zone.
    `Date: ${new Date().toUTCString().replace('GMT', 'UTC')}`,
    'MD5Sum:',
    list('md5'),
    'SHA1:',
    list('sha1'),
    'SHA256:',
    list('sha256'),
    '',
  ].join('\n');
  await writeFile(join(suiteDir, 'Release'), release);
  const gpg = (args: string[]) =>
    execa('gpg', ['--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '', '--local-user', signingKey.fingerprint, ...args], {
      env: { GNUPGHOME: signingKey.gnupgHome },
    });
  await gpg(['--digest-algo', 'SHA512', '--clearsign', '--output', join(suiteDir, 'InRelease'), join(suiteDir, 'Release')]);
  await gpg(['--digest-algo', 'SHA512', '--armor', '--detach-sign', '--output', join(suiteDir, 'Release.gpg'), join(suiteDir, 'Release')]);
}

export interface ServedRepo {
  /** `http://127.0.0.1:<port>`: the archive root, so sources.list says `deb [...] <url> stable/`. */
  url: string;
  close(): Promise<void>;
}

/** Serves `dir` read-only on 127.0.0.1 (a free port); GET/HEAD of files only. */
export async function serveRepo(dir: string): Promise<ServedRepo> {
  const root = normalize(dir);
  const server = createServer((request, response) => {
    void (async () => {
      const urlPath = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
      const path = normalize(join(root, urlPath));
      const info = path.startsWith(root + sep) ? await stat(path).catch(() => undefined) : undefined;
      if ((request.method !== 'GET' && request.method !== 'HEAD') || !info?.isFile()) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'content-length': info.size, 'last-modified': info.mtime.toUTCString() });
      if (request.method === 'HEAD') response.end();
      else createReadStream(path).pipe(response);
    })().catch(() => response.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Copies a source tree to `target`, keeping modes (the trees' scripts are committed executable). */
export async function copyTree(source: string, target: string): Promise<void> {
  await mkdir(target, { recursive: true });
  await cp(source, target, { recursive: true });
}

export async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8');
}
