import test from 'ava';
import { lstat, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { cleanup, CLEANUP_RUNNERS } from '../../../src/builder/stages/cleanup.js';
import type { BuildContext } from '../../../src/builder/stage.js';
import { CLEANUP_STEPS } from '../../../src/builder/recipe/schema.js';
import { scratchDir } from '../../helpers/scratch.js';

const exists = (path: string) => lstat(path).then(() => true, () => false);

/** A tree with the leftovers mmdebstrap and Debian's postinst scripts really leave. */
async function dirtyRoot(): Promise<string> {
  const root = await scratchDir('cleanup-');
  const files: Record<string, string> = {
    'etc/machine-id': '',
    'var/lib/dbus/machine-id': '0123456789abcdef0123456789abcdef\n',
    'var/lib/systemd/random-seed': 'seed',
    'var/lib/systemd/credential.secret': 'secret',
    'etc/ssh/ssh_host_ed25519_key': 'key',
    'etc/ssh/ssh_host_ed25519_key.pub': 'pub',
    'etc/ssh/sshd_config': 'keep me',
    'etc/ssl/private/ssl-cert-snakeoil.key': 'PRIVATE KEY',
    'etc/ssl/certs/ssl-cert-snakeoil.pem': 'CERT',
    'etc/ssl/certs/ca-certificates.crt': 'keep me',
    'etc/resolv.conf': 'nameserver 10.255.255.53\n',
    'etc/hostname': 'buildhost\n',
    'var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease': 'x',
    'var/lib/apt/lists/lock': '',
    'var/lib/apt/lists/partial/x': 'x',
    'var/cache/apt/pkgcache.bin': 'x',
    'var/cache/apt/archives/nginx_1.deb': 'x',
    'var/log/dpkg.log': 'installed things',
    'var/log/nginx/error.log': 'error',
    'etc/shadow-': 'old',
    'etc/passwd': 'keep me',
    'var/lib/dpkg/status-old': 'old',
    'var/lib/dpkg/status': 'keep me',
    'var/cache/debconf/config.dat-old': 'old',
    'var/cache/ldconfig/aux-cache': 'x',
  };
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  await symlink('ssl-cert-snakeoil.pem', join(root, 'etc/ssl/certs/62742064.0'));
  return root;
}

test('every cleanup step removes what it names and keeps the rest', async (t) => {
  const root = await dirtyRoot();
  for (const step of CLEANUP_STEPS) await CLEANUP_RUNNERS[step](root, 1000);
  t.is(await readFile(join(root, 'etc/machine-id'), 'utf8'), 'uninitialized\n');
  t.is(await readFile(join(root, 'etc/resolv.conf'), 'utf8'), '');
  for (const gone of [
    'var/lib/dbus/machine-id',
    'var/lib/systemd/random-seed',
    'var/lib/systemd/credential.secret',
    'etc/ssh/ssh_host_ed25519_key',
    'etc/ssh/ssh_host_ed25519_key.pub',
    'etc/ssl/private/ssl-cert-snakeoil.key',
    'etc/ssl/certs/ssl-cert-snakeoil.pem',
    'etc/ssl/certs/62742064.0',
    'etc/hostname',
    'var/lib/apt/lists/lock',
    'var/cache/apt/pkgcache.bin',
    'var/cache/apt/archives/nginx_1.deb',
    'etc/shadow-',
    'var/lib/dpkg/status-old',
    'var/cache/debconf/config.dat-old',
    'var/cache/ldconfig/aux-cache',
  ]) {
    t.false(await exists(join(root, gone)), gone);
  }
  t.deepEqual(await readdir(join(root, 'var/lib/apt/lists')), ['partial']);
  t.deepEqual(await readdir(join(root, 'var/lib/apt/lists/partial')), []);
  for (const kept of ['etc/ssh/sshd_config', 'etc/ssl/certs/ca-certificates.crt', 'etc/passwd', 'var/lib/dpkg/status']) {
    t.is(await readFile(join(root, kept), 'utf8'), 'keep me', kept);
  }
  t.is(await readFile(join(root, 'var/log/nginx/error.log'), 'utf8'), '', 'log emptied, file kept');
  t.is(await readFile(join(root, 'var/log/dpkg.log'), 'utf8'), '');
});

test('cleanup steps are safe on a tree that has none of it', async (t) => {
  const root = await scratchDir('cleanup-empty-');
  await mkdir(join(root, 'etc'));
  for (const step of CLEANUP_STEPS) await t.notThrowsAsync(CLEANUP_RUNNERS[step](root, 1000), step);
});

test('the cleanup stage runs the recipe steps except those given to --skip cleanup/<step>', async (t) => {
  const root = await dirtyRoot();
  const lines: string[] = [];
  const ctx = {
    rootfs: root,
    sourceDateEpoch: 1000,
    skip: new Set(['cleanup/hostname']),
    recipe: { cleanup: ['machine-id', 'hostname', 'resolv-conf'] },
    log: (line: string) => lines.push(line),
  } as unknown as BuildContext;
  await cleanup.run(ctx);
  t.is(await readFile(join(root, 'etc/hostname'), 'utf8'), 'buildhost\n', 'skipped step left its file');
  t.is(await readFile(join(root, 'etc/resolv.conf'), 'utf8'), '');
  t.is(await readFile(join(root, 'etc/machine-id'), 'utf8'), 'uninitialized\n');
  t.true(await exists(join(root, 'var/log/dpkg.log')), 'steps the recipe does not list do not run');
  t.is(await readFile(join(root, 'var/log/dpkg.log'), 'utf8'), 'installed things');
  t.true(lines.includes('hostname: skipped (--skip cleanup/hostname)'), lines.join('\n'));
});
