/**
 * Unpacking a verified stage3: the tree as Gentoo's handbook unpacks it (owners by number,
 * modes, file capabilities, links), and refusals of archives whose entries would leave the
 * root, even though their signatures verify. Needs root, as the build does.
 */
import test, { type ExecutionContext } from 'ava';
import { lstat, mkdir, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { DownloadStore } from '../../../src/builder/gentoo/download-store.js';
import { VerificationFailed } from '../../../src/builder/gentoo/signatures.js';
import { fetchVerifiedSnapshot, fetchVerifiedStage3, resolveGentooSource, type VerifiedArchive } from '../../../src/builder/gentoo/stage3-source.js';
import { unpackArgs, unpackVerifiedArchive } from '../../../src/builder/gentoo/unpack.js';
import { UserError } from '../../../src/lib/errors.js';
import { buildStandinRelease, createTestKey, rawTarXz, serveStandin, SNAPSHOT_DATE, writeKeyFile, type RawTarEntry } from '../../helpers/gentoo-standin/index.js';
import { scratchDir } from '../../helpers/scratch.js';

const KEYS = (async () => ({ release: await createTestKey('release'), snapshot: await createTestKey('snapshot') }))();

/** A stage3 (the stand-in's, or `tarball`) served, fetched and verified. */
async function verifiedStage3(t: ExecutionContext, tarball?: Buffer): Promise<{ stage3: VerifiedArchive; snapshot: () => Promise<VerifiedArchive> }> {
  const keys = await KEYS;
  const dir = await scratchDir('gentoo-unpack-mirror-');
  await buildStandinRelease({ dir, keys, ...(tarball ? { tarball } : {}) });
  const served = await serveStandin(dir);
  t.teardown(() => served.close());
  const keyFile = await writeKeyFile(join(dir, 'keys.asc'), keys.release, keys.snapshot);
  const source = await resolveGentooSource(
    { mirror: served.url, 'stage3-key-fingerprint': keys.release.fingerprint, 'snapshot-key-fingerprint': keys.snapshot.fingerprint, 'snapshot-date': SNAPSHOT_DATE, 'key-file': keyFile },
    { recipeFile: 'r.yaml' },
  );
  const store = new DownloadStore(join(await scratchDir('gentoo-unpack-cache-'), 'gentoo'));
  return { stage3: await fetchVerifiedStage3(source, 'amd64', 'openrc', { store }), snapshot: () => fetchVerifiedSnapshot(source, { store }) };
}

test('GNU tar unpacks as root with numeric owners, modes and extended attributes', (t) => {
  t.deepEqual(unpackArgs('/c/s.tar.xz', '/w/root'), [
    '--extract',
    '--file=/c/s.tar.xz',
    '--directory=/w/root',
    '--numeric-owner',
    '--same-owner',
    '--same-permissions',
    '--xattrs',
    '--xattrs-include=*',
  ]);
});

test('a verified stage3 unpacks whole: files, owners, setuid, capabilities, links, sticky /tmp', async (t) => {
  const { stage3, snapshot } = await verifiedStage3(t);
  const target = join(await scratchDir('gentoo-unpack-'), 'rootfs');
  const logs: string[] = [];
  await unpackVerifiedArchive(stage3, target, { log: (line) => logs.push(line) });
  t.is(await readFile(join(target, 'etc/gentoo-release'), 'utf8'), 'Gentoo Base System release 2.17\n');
  t.regex(await readFile(join(target, 'etc/portage/make.conf'), 'utf8'), /COMMON_FLAGS="-O2 -pipe"/);
  t.deepEqual((await readdir(join(target, 'var/db/pkg'))).sort(), ['net-misc', 'sys-apps']);
  t.is(await readFile(join(target, 'var/db/pkg/sys-apps/openrc-0.62.6/PF'), 'utf8'), 'openrc-0.62.6\n');
  const portage = await stat(join(target, 'var/lib/portage'));
  t.deepEqual([portage.uid, portage.gid, portage.mode & 0o7777], [250, 250, 0o2750]);
  t.is((await stat(join(target, 'usr/bin/passwd'))).mode & 0o7777, 0o4711);
  t.is((await stat(join(target, 'tmp'))).mode & 0o7777, 0o1777);
  t.is((await stat(join(target, 'root'))).mode & 0o7777, 0o700);
  t.is(await readlink(join(target, 'usr/lib/os-release')), '../../etc/os-release');
  const { stdout } = await execa('getcap', [join(target, 'bin/ping')]);
  t.regex(stdout, /bin\/ping cap_net_raw=ep$/);
  t.true(logs.some((line) => line.startsWith(`${stage3.name}: unpacked into ${target} (`)));
  t.deepEqual((await readdir(join(target, '..'))).sort(), ['rootfs'], 'no staging directory left');

  // The snapshot unpacks the same way (its tree is gentoo/).
  const repos = join(await scratchDir('gentoo-unpack-repos-'), 'repos');
  await mkdir(repos);
  await unpackVerifiedArchive(await snapshot(), repos);
  t.is(await readFile(join(repos, 'gentoo/profiles/repo_name'), 'utf8'), 'gentoo\n');
});

test('a target that is not an empty directory is refused and left alone', async (t) => {
  const { stage3 } = await verifiedStage3(t);
  const target = join(await scratchDir('gentoo-unpack-'), 'rootfs');
  await mkdir(target);
  await writeFile(join(target, 'keep'), 'mine');
  await t.throwsAsync(unpackVerifiedArchive(stage3, target), { instanceOf: UserError, message: /rootfs: exists and is not an empty directory/ });
  t.deepEqual(await readdir(target), ['keep']);
});

test('a verified archive changed in the store afterwards is refused before unpacking', async (t) => {
  const { stage3 } = await verifiedStage3(t);
  const bytes = await readFile(stage3.file);
  bytes[200]! ^= 1;
  await writeFile(stage3.file, bytes);
  const target = join(await scratchDir('gentoo-unpack-'), 'rootfs');
  await t.throwsAsync(unpackVerifiedArchive(stage3, target), { instanceOf: VerificationFailed, message: /changed after it was verified: SHA512 [0-9a-f]+, verified [0-9a-f]+; refusing to unpack it/ });
  t.false(await exists(target));
});

async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}

const UNSAFE: { title: string; entries: RawTarEntry[]; message: RegExp; outside?: string }[] = [
  {
    title: 'a file below an absolute symbolic link stored before it',
    entries: [
      { name: './etc/', type: 'dir' },
      { name: './etc/escape', type: 'symlink', linkname: '/tmp/gentoo-unpack-escaped' },
      { name: './etc/escape/evil', type: 'file', content: 'x' },
    ],
    message: /\.\/etc\/escape\/evil: stored below the symbolic link \/etc\/escape/,
    outside: '/tmp/gentoo-unpack-escaped',
  },
  {
    title: 'a file below a relative symbolic link',
    entries: [
      { name: './lib', type: 'symlink', linkname: 'usr/lib' },
      { name: './lib/x', type: 'file', content: 'x' },
    ],
    message: /\.\/lib\/x: stored below the symbolic link \/lib/,
  },
  { title: "a '..' path", entries: [{ name: './../gentoo-unpack-dotdot', type: 'file', content: 'x' }], message: /goes up with '\.\.'/ },
  { title: 'an absolute path', entries: [{ name: '/tmp/gentoo-unpack-absolute', type: 'file', content: 'x' }], message: /absolute path \/tmp\/gentoo-unpack-absolute/, outside: '/tmp/gentoo-unpack-absolute' },
  { title: 'a hard link out of the root', entries: [{ name: './passwd', type: 'hardlink', linkname: '../../etc/passwd' }], message: /hard link to \.\.\/\.\.\/etc\/passwd, outside the root/ },
  {
    title: 'a hard link through a stored symbolic link',
    entries: [
      { name: './host', type: 'symlink', linkname: '/' },
      { name: './shadow', type: 'hardlink', linkname: 'host/etc/shadow' },
    ],
    message: /hard link to host\/etc\/shadow, through the symbolic link \/host/,
  },
];

for (const unsafe of UNSAFE) {
  test(`a signed stage3 with ${unsafe.title} is refused before tar writes anything`, async (t) => {
    const { stage3 } = await verifiedStage3(t, await rawTarXz(unsafe.entries));
    const target = join(await scratchDir('gentoo-unpack-'), 'rootfs');
    const error = await t.throwsAsync(unpackVerifiedArchive(stage3, target), { instanceOf: VerificationFailed });
    t.regex(error!.message, unsafe.message);
    t.regex(error!.message, /would not stay inside the root .*refusing to unpack it, though its signature verified$/);
    t.false(await exists(target));
    t.deepEqual(await readdir(join(target, '..')), [], 'no staging directory either');
    if (unsafe.outside) t.false(await exists(unsafe.outside), `${unsafe.outside} was not written`);
  });
}

test('the entry checker passes what archives of real trees hold: merged-usr links, hard links, a link replaced by a directory', async (t) => {
  const { EntryChecker } = await import('../../../src/builder/gentoo/unpack.js');
  const checker = new EntryChecker();
  const entry = (rawPath: string, type: string, linkpath?: string) =>
    ({ rawPath, path: rawPath.replace(/^\.\//, '').replace(/\/$/, ''), type, mode: 0o755, size: 0, sparse: false, xattrs: new Map(), ...(linkpath ? { linkpath } : {}) });
  for (const [raw, type, link] of [
    ['./', 'Directory'],
    ['./bin', 'SymbolicLink', 'usr/bin'],
    ['./usr/', 'Directory'],
    ['./usr/bin/', 'Directory'],
    ['./usr/bin/ping', 'File'],
    ['./usr/bin/ping6', 'Link', './usr/bin/ping'],
    ['./usr/bin/sh', 'SymbolicLink', 'bash'],
    ['./usr/bin/sh2', 'Link', './usr/bin/sh'],
    ['./lib', 'SymbolicLink', 'lib64'],
    ['./lib', 'Directory'],
    ['./lib/modules/', 'Directory'],
    ['./dev/null', 'CharacterDevice'],
    ['./run/initctl', 'FIFO'],
  ] as const) {
    t.is(checker.check(entry(raw, type, link)), undefined, raw);
  }
  t.regex(checker.check(entry('./bin/x', 'File'))!, /stored below the symbolic link \/bin/);
  t.regex(checker.check(entry('./x', 'GNUDumpDir'))!, /a GNUDumpDir entry/);
});
