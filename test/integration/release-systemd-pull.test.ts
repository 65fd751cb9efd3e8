/**
 * The real client: systemd's own puller (what `machinectl pull-tar --verify=signature` runs)
 * fetches a release we signed from a loopback HTTP server, with our exported keyring
 * installed as /etc/systemd/import-pubring.gpg and .pgp. It must accept a good release and
 * refuse a tampered tarball, a tampered .nspawn, an edited SHA256SUMS and a release signed by
 * another key.
 *
 * Facts checked on this machine (systemd 252, bookworm) before writing this: systemd-pull
 * runs standalone as root without D-Bus; it fetches <tarball>, <tarball>.sha256 (404 is fine),
 * SHA256SUMS.gpg, <name>.nspawn and SHA256SUMS, and checks the .nspawn's checksum too; it
 * keeps an immutable (chattr +i) cache copy named `.tar-<escaped URL>` in /var/lib/machines;
 * it cannot unpack .tar.zst (systemd 252 decompresses xz, gzip and bzip2 only), so the
 * release here is .tar.xz, the build's default.
 *
 * The keyring files are global: the tests run one at a time and the previous files (or their
 * absence) are restored afterwards, whatever happens.
 */
import test from 'ava';
import { createServer, type Server } from 'node:http';
import { access, appendFile, copyFile, cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { execa } from 'execa';
import { artifactStem } from '../../src/image/artifact-names.js';
import { scratchDir } from '../helpers/scratch.js';
import { generateSigningKey, readSigningKey } from '../../src/release/keys.js';
import { signRelease } from '../../src/release/sign.js';

const SYSTEMD_PULL = '/lib/systemd/systemd-pull';
const MACHINES = '/var/lib/machines';
const KEYRINGS = ['/etc/systemd/import-pubring.gpg', '/etc/systemd/import-pubring.pgp'];
/** Named as the build names its artifacts (dots of the version included), so pull-tar is tried on such a name. */
const BASE = artifactStem({ distro: 'debian', suite: 'bookworm', init: 'systemd', version: '0.1.0', architecture: 'amd64' });
const RUN_ID = `${process.pid}-${Date.now().toString(36)}`;

let server: Server;
let port = 0;
let work = '';
/** Saved copies of the keyrings that were there before (undefined: there was none). */
const savedKeyrings = new Map<string, string | undefined>();

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function makeTarball(dir: string): Promise<void> {
  const root = join(work, 'rootfs');
  await mkdir(join(root, 'usr/lib'), { recursive: true });
  await mkdir(join(root, 'etc'), { recursive: true });
  await writeFile(join(root, 'usr/lib/os-release'), 'PRETTY_NAME="Pull Test"\nID=pulltest\n');
  await execa('ln', ['-sf', '../usr/lib/os-release', join(root, 'etc/os-release')]);
  await writeFile(join(root, 'etc/hostname'), '');
  await execa('tar', ['--sort=name', '--numeric-owner', '--format=pax', '--use-compress-program=xz -0', '-C', root, '-cf', join(dir, `${BASE}.tar.xz`), '.']);
  await writeFile(join(dir, `${BASE}.nspawn`), '[Exec]\nBoot=yes\n\n[Network]\nPrivate=yes\n');
  await writeFile(join(dir, `${BASE}.packages`), 'base-files 12.4\n');
}

/** One release directory per case, served under /<case>/. */
async function releaseCase(name: string, signWith: 'ours' | 'stranger', tamper?: (dir: string) => Promise<void>): Promise<string> {
  const dir = join(work, 'srv', name);
  await mkdir(dir, { recursive: true });
  await cp(join(work, 'pristine'), dir, { recursive: true });
  const key = await readSigningKey(join(work, signWith === 'ours' ? 'ours.private.asc' : 'stranger.private.asc'), async () => 'pull test passphrase');
  await signRelease(dir, key);
  await tamper?.(dir);
  return `http://127.0.0.1:${port}/${name}/${BASE}.tar.xz`;
}

/** Everything systemd-pull may have left for one machine name or for our server's URLs. */
async function removeMachine(machine: string): Promise<void> {
  const ours = (name: string) => name === machine || name === `${machine}.nspawn` || name.includes(`127\\x2e0\\x2e0\\x2e1:${port}\\x2f`);
  for (const name of await readdir(MACHINES).catch(() => [] as string[])) {
    if (!ours(name)) continue;
    const path = join(MACHINES, name);
    await execa('chattr', ['-i', path], { reject: false });
    await rm(path, { recursive: true, force: true });
  }
}

async function pull(url: string, machine: string) {
  const result = await execa(SYSTEMD_PULL, ['tar', '--verify=signature', url, machine], { reject: false, all: true, timeout: 120_000 });
  return { ...result, imported: await exists(join(MACHINES, machine)) };
}

test.before(async () => {
  if (process.getuid?.() !== 0) throw new Error('these tests install a keyring in /etc/systemd and import machines: run them as root');
  await access(SYSTEMD_PULL).catch(() => {
    throw new Error(`${SYSTEMD_PULL} is missing: apt-get install systemd-container`);
  });
  work = await scratchDir('release-pull-');
  await mkdir(MACHINES, { recursive: true, mode: 0o700 });
  for (const [name, who] of [
    ['ours', 'Pull Test Releases'],
    ['stranger', 'Someone Else'],
  ] as const) {
    const key = await generateSigningKey({ name: who, email: `${name}@example.org`, algorithm: 'ed25519', passphrase: 'pull test passphrase' });
    await writeFile(join(work, `${name}.private.asc`), key.privateArmored);
    if (name === 'ours') await writeFile(join(work, 'import-pubring.gpg'), key.publicBinary);
  }
  await mkdir(join(work, 'pristine'));
  await makeTarball(join(work, 'pristine'));

  server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    if (path.includes('..')) {
      response.writeHead(400).end();
      return;
    }
    readFile(join(work, 'srv', path)).then(
      (data) => response.writeHead(200, { 'content-length': data.length }).end(data),
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;

  for (const keyring of KEYRINGS) {
    if (await exists(keyring)) {
      const backup = join(work, `saved-${keyring.replaceAll('/', '_')}`);
      await copyFile(keyring, backup);
      savedKeyrings.set(keyring, backup);
    } else savedKeyrings.set(keyring, undefined);
    await copyFile(join(work, 'import-pubring.gpg'), keyring);
  }
});

test.after.always(async () => {
  for (const [keyring, backup] of savedKeyrings) {
    if (backup) await copyFile(backup, keyring);
    else await rm(keyring, { force: true });
  }
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  if (work) await rm(work, { recursive: true, force: true });
});

const cases: { name: string; signWith: 'ours' | 'stranger'; tamper?: (dir: string) => Promise<void>; expect: 'success' | RegExp }[] = [
  { name: 'good', signWith: 'ours', expect: 'success' },
  {
    name: 'tampered-tarball',
    signWith: 'ours',
    tamper: (dir) => appendFile(join(dir, `${BASE}.tar.xz`), 'x'),
    expect: /checksum|SHA256/i,
  },
  {
    name: 'tampered-nspawn',
    signWith: 'ours',
    tamper: (dir) => appendFile(join(dir, `${BASE}.nspawn`), '[Files]\nBind=/:/host\n'),
    expect: /checksum|SHA256/i,
  },
  {
    // The attacker replaces the tarball and fixes its line in SHA256SUMS: the signature breaks.
    name: 'edited-sha256sums',
    signWith: 'ours',
    tamper: async (dir) => {
      await appendFile(join(dir, `${BASE}.tar.xz`), 'x');
      const { stdout } = await execa('sha256sum', [`${BASE}.tar.xz`], { cwd: dir });
      const sums = await readFile(join(dir, 'SHA256SUMS'), 'utf8');
      const line = ` *${BASE}.tar.xz`;
      await writeFile(join(dir, 'SHA256SUMS'), sums.split('\n').map((entry) => (entry.endsWith(line) ? `${stdout.slice(0, 64)}${line}` : entry)).join('\n'));
    },
    expect: /signature/i,
  },
  { name: 'other-key', signWith: 'stranger', expect: /signature|public key/i },
];

for (const { name, signWith, tamper, expect } of cases) {
  test.serial(`systemd-pull tar --verify=signature: ${name} release ${expect === 'success' ? 'is imported' : 'is refused'}`, async (t) => {
    const machine = `pull-${name}-${RUN_ID}`.slice(0, 60);
    const url = await releaseCase(name, signWith, tamper);
    try {
      const result = await pull(url, machine);
      if (expect === 'success') {
        t.is(result.exitCode, 0, String(result.all));
        t.true(result.imported);
        t.is(await readFile(join(MACHINES, machine, 'usr/lib/os-release'), 'utf8'), 'PRETTY_NAME="Pull Test"\nID=pulltest\n');
        t.regex(await readFile(join(MACHINES, `${machine}.nspawn`), 'utf8'), /Boot=yes/);
        t.regex(String(result.all), /Signature verification succeeded/);
      } else {
        t.not(result.exitCode, 0, String(result.all));
        t.false(result.imported, 'a refused release must not leave a machine behind');
        t.regex(String(result.all), expect);
      }
      t.log(String(result.all).split('\n').filter((line) => /checksum|ignature|gpg:|Operation|Created/i.test(line)).join('\n'));
    } finally {
      await removeMachine(machine);
    }
  });
}
