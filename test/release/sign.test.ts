import test from 'ava';
import { execa } from 'execa';
import { mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../src/lib/errors.js';
import { sha256File } from '../../src/release/checksums.js';
import { signRelease } from '../../src/release/sign.js';
import { verifyRelease } from '../../src/release/verify.js';
import { makeKey, makeReleaseDir, writeTarball } from '../helpers/release-dir.js';
import { CLEAN_TREE } from '../helpers/image-trees.js';
import { scratchDir } from '../helpers/scratch.js';

test('signs every artifact, lists each in SHA256SUMS and the result verifies', async (t) => {
  const dir = await makeReleaseDir();
  const { privateKey, publicKey } = await makeKey();
  const outcome = await signRelease(dir, privateKey);
  t.deepEqual((await readdir(dir)).sort(), [
    'SHA256SUMS',
    'SHA256SUMS.gpg',
    'debian-jitsi-systemd.nspawn',
    'debian-jitsi-systemd.nspawn.asc',
    'debian-jitsi-systemd.packages',
    'debian-jitsi-systemd.packages.asc',
    'debian-jitsi-systemd.tar.zst',
    'debian-jitsi-systemd.tar.zst.asc',
  ]);
  t.is(outcome.written.length, 5);
  const sums = await readFile(join(dir, 'SHA256SUMS'), 'utf8');
  t.is(
    sums,
    [
      `${await sha256File(join(dir, 'debian-jitsi-systemd.nspawn'))} *debian-jitsi-systemd.nspawn`,
      `${await sha256File(join(dir, 'debian-jitsi-systemd.packages'))} *debian-jitsi-systemd.packages`,
      `${await sha256File(join(dir, 'debian-jitsi-systemd.tar.zst'))} *debian-jitsi-systemd.tar.zst`,
      '',
    ].join('\n'),
  );
  t.regex(await readFile(join(dir, 'debian-jitsi-systemd.tar.zst.asc'), 'utf8'), /^-----BEGIN PGP SIGNATURE-----/);
  // SHA256SUMS.gpg is a binary signature packet (tag 2; old or new packet format).
  const sumsSignature = await readFile(join(dir, 'SHA256SUMS.gpg'));
  t.true(sumsSignature[0] === 0xc2 || (sumsSignature[0] & 0xbc) === 0x88, `first byte ${sumsSignature[0].toString(16)}`);
  const report = await verifyRelease(dir, [publicKey]);
  t.deepEqual(report.failures, []);
  t.is(report.passed.length, 7);
});

test('re-signing an unchanged directory writes nothing', async (t) => {
  const dir = await makeReleaseDir();
  const { privateKey } = await makeKey();
  await signRelease(dir, privateKey);
  const before = await Promise.all((await readdir(dir)).sort().map(async (name) => [name, await readFile(join(dir, name)), (await stat(join(dir, name))).mtimeMs] as const));
  const again = await signRelease(dir, privateKey);
  t.deepEqual(again.written, []);
  const after = await Promise.all((await readdir(dir)).sort().map(async (name) => [name, await readFile(join(dir, name)), (await stat(join(dir, name))).mtimeMs] as const));
  t.deepEqual(after, before);
});

test('a changed artifact is re-signed and SHA256SUMS follows', async (t) => {
  const dir = await makeReleaseDir();
  const { privateKey, publicKey } = await makeKey();
  await signRelease(dir, privateKey);
  await writeFile(join(dir, 'debian-jitsi-systemd.nspawn'), '[Exec]\nBoot=yes\nKillSignal=SIGRTMIN+4\n');
  const outcome = await signRelease(dir, privateKey);
  t.deepEqual(outcome.written.sort(), ['SHA256SUMS', 'SHA256SUMS.gpg', 'debian-jitsi-systemd.nspawn.asc']);
  t.deepEqual((await verifyRelease(dir, [publicKey])).failures, []);
});

test('signing with another key replaces every signature', async (t) => {
  const dir = await makeReleaseDir();
  await signRelease(dir, (await makeKey('Old')).privateKey);
  const fresh = await makeKey('New');
  const outcome = await signRelease(dir, fresh.privateKey);
  t.is(outcome.written.length, 5);
  t.deepEqual((await verifyRelease(dir, [fresh.publicKey])).failures, []);
});

test('files that would be published uncovered are refused and nothing is written', async (t) => {
  const dir = await makeReleaseDir();
  await writeFile(join(dir, 'notes.txt'), 'hello');
  await writeFile(join(dir, 'gone.tar.xz.asc'), 'stale');
  const { privateKey } = await makeKey();
  const error = await t.throwsAsync(signRelease(dir, privateKey), { instanceOf: UserError });
  t.regex(error!.message, /notes\.txt: neither an artifact/);
  t.regex(error!.message, /gone\.tar\.xz\.asc: signature of gone\.tar\.xz, which is not in the directory/);
  t.deepEqual((await readdir(dir)).sort(), ['debian-jitsi-systemd.nspawn', 'debian-jitsi-systemd.packages', 'debian-jitsi-systemd.tar.zst', 'gone.tar.xz.asc', 'notes.txt']);
});

test('a failure half-way leaves the directory as it was', async (t) => {
  const dir = await makeReleaseDir();
  const { privateKey } = await makeKey();
  // The last artifact vanishes while the first is being signed: signing it fails after the
  // other artifacts' signatures were already staged.
  await writeTarball(join(dir, 'zz-vanishing.tar.xz'));
  const log = (line: string) => {
    if (line.startsWith('debian-jitsi-systemd.nspawn:')) void rm(join(dir, 'zz-vanishing.tar.xz'));
  };
  await t.throwsAsync(signRelease(dir, privateKey, { log }), { code: 'ENOENT' });
  t.deepEqual((await readdir(dir)).sort(), ['debian-jitsi-systemd.nspawn', 'debian-jitsi-systemd.packages', 'debian-jitsi-systemd.tar.zst']);
});

test('folders, symbolic links and anything but regular files are refused, each named, before anything is signed', async (t) => {
  const dir = await makeReleaseDir();
  const { privateKey } = await makeKey();
  await mkdir(join(dir, 'keys'));
  await writeFile(join(dir, 'keys/maintainer.private.asc'), 'secret key');
  await symlink('/etc/shadow', join(dir, 'accounts.packages'));
  await symlink('debian-jitsi-systemd.tar.zst', join(dir, 'latest.tar.zst'));
  await execa('mkfifo', [join(dir, 'evil.packages')]);
  const error = await t.throwsAsync(signRelease(dir, privateKey), { instanceOf: UserError });
  t.regex(error!.message, /keys: a folder: sign and verify look at files directly in the release directory, so what it holds would be published unsigned; move it out/);
  t.regex(error!.message, /accounts\.packages: a symbolic link \(to \/etc\/shadow\)/);
  t.regex(error!.message, /latest\.tar\.zst: a symbolic link \(to debian-jitsi-systemd\.tar\.zst\)/);
  t.regex(error!.message, /evil\.packages: not a regular file/);
  t.false((await readdir(dir)).some((name) => name.endsWith('.asc') || name.startsWith('SHA256SUMS')), 'nothing signed');
});

test('an empty directory or a missing one is a clear error', async (t) => {
  const { privateKey } = await makeKey();
  const empty = await scratchDir('release-empty-');
  await t.throwsAsync(signRelease(empty, privateKey), { message: /no artifacts to sign/ });
  await t.throwsAsync(signRelease(join(empty, 'nope'), privateKey), { message: /nope: not a directory/ });
});

test('with a staging directory, new files go there and SHA256SUMS covers both directories', async (t) => {
  const { mkdir, rename } = await import('node:fs/promises');
  const dir = await makeReleaseDir();
  const { privateKey, publicKey } = await makeKey();
  await signRelease(dir, privateKey);
  const staging = join(dir, '.partial-debian-jitsi-openrc-1');
  await mkdir(staging);
  await writeTarball(join(staging, 'debian-jitsi-openrc.tar.zst'));
  await writeFile(join(staging, 'debian-jitsi-openrc.nspawn'), '[Exec]\nKillSignal=SIGINT\n');
  const outcome = await signRelease(dir, privateKey, { stagingDir: staging });
  t.deepEqual(outcome.written.sort(), ['SHA256SUMS', 'SHA256SUMS.gpg', 'debian-jitsi-openrc.nspawn.asc', 'debian-jitsi-openrc.tar.zst.asc']);
  t.true(outcome.writtenPaths.every((path) => path.startsWith(staging + '/')));
  t.deepEqual(outcome.unchanged.sort(), ['debian-jitsi-systemd.nspawn.asc', 'debian-jitsi-systemd.packages.asc', 'debian-jitsi-systemd.tar.zst.asc']);
  // Until the build publishes, the directory still verifies as it was.
  t.deepEqual((await verifyRelease(dir, [publicKey])).failures, []);
  for (const path of [join(staging, 'debian-jitsi-openrc.tar.zst'), join(staging, 'debian-jitsi-openrc.nspawn'), ...outcome.writtenPaths]) {
    await rename(path, join(dir, path.slice(staging.length + 1)));
  }
  const report = await verifyRelease(dir, [publicKey]);
  t.deepEqual(report.failures, []);
  t.is((await readFile(join(dir, 'SHA256SUMS'), 'utf8')).split('\n').filter(Boolean).length, 5);
});

test('a tarball inspect finds errors in is refused before anything is signed, each error named', async (t) => {
  const dir = await makeReleaseDir({
    ...CLEAN_TREE,
    'etc/machine-id': 'c0ffeec0ffeec0ffeec0ffeec0ffee00\n',
    'usr/local/bin/evil': { content: 'ELF', sparseSize: 4096, mode: 0o4777 },
  });
  const { privateKey } = await makeKey();
  const lines: string[] = [];
  const error = await t.throwsAsync(signRelease(dir, privateKey, { log: (line) => lines.push(line) }), { instanceOf: UserError });
  t.regex(error!.message, /refusing to sign, the images hold 2 things that must not ship/);
  t.regex(error!.message, /debian-jitsi-systemd\.tar\.zst: \/etc\/machine-id: holds the machine id c0ffee/);
  t.regex(error!.message, /debian-jitsi-systemd\.tar\.zst: \/usr\/local\/bin\/evil: world-writable file/);
  t.true(lines.some((line) => line.startsWith('debian-jitsi-systemd.tar.zst: error: /etc/machine-id')));
  t.deepEqual((await readdir(dir)).sort(), ['debian-jitsi-systemd.nspawn', 'debian-jitsi-systemd.packages', 'debian-jitsi-systemd.tar.zst']);
});

test('an earlier tarball in the directory is inspected too: SHA256SUMS vouches for it', async (t) => {
  const dir = await makeReleaseDir();
  await writeTarball(join(dir, 'old-image.tar.zst'), { ...CLEAN_TREE, 'var/lib/systemd/credential.secret': 'secret' });
  const error = await t.throwsAsync(signRelease(dir, (await makeKey()).privateKey), { instanceOf: UserError });
  t.regex(error!.message, /old-image\.tar\.zst: \/var\/lib\/systemd\/credential\.secret: systemd credential secret/);
  t.false((await readdir(dir)).some((name) => name.endsWith('.asc') || name.startsWith('SHA256SUMS')));
});
