/**
 * Interop with GnuPG (Debian's gpg 2.2): what openpgp.js signs, gpg verifies; a key made by
 * gpg signs through our `sign` and verifies with our `verify` and with gpg. Every step runs
 * the real CLI and the real gpg.
 */
import test from 'ava';
import { appendFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cli, gnupgHome } from '../helpers/release-cli.js';
import { writeTarball } from '../helpers/release-dir.js';
import { scratchDir } from '../helpers/scratch.js';

async function releaseDir(): Promise<string> {
  const dir = await scratchDir('release-gpg-');
  // A real (small, clean) image: sign inspects every tarball before it signs anything.
  await writeTarball(join(dir, 'debian-jitsi-systemd.tar.xz'));
  await writeFile(join(dir, 'debian-jitsi-systemd.nspawn'), '[Exec]\nBoot=yes\n');
  await writeFile(join(dir, 'debian-jitsi-systemd.packages'), 'nginx 1.22.1-9\n');
  return dir;
}

for (const algorithm of ['ed25519', 'rsa4096'] as const) {
  test(`keygen (${algorithm}) + sign: gpg verifies every signature and rejects a tampered file`, async (t) => {
    const work = await scratchDir('release-keys-');
    await writeFile(join(work, 'passphrase'), 'interop test passphrase\n');
    const keygen = await cli([
      'keygen', '--name', 'Interop Test', '--email', 'interop@example.org', '--out', join(work, 'keys'),
      '--passphrase-file', join(work, 'passphrase'), ...(algorithm === 'rsa4096' ? ['--rsa'] : []),
    ]);
    t.is(keygen.exitCode, 0, String(keygen.stderr));
    t.is((await stat(join(work, 'keys/interop-test.private.asc'))).mode & 0o777, 0o600);
    t.deepEqual((await readdir(join(work, 'keys'))).sort(), ['import-pubring.gpg', 'import-pubring.pgp', 'interop-test.private.asc', 'interop-test.public.asc']);

    const dir = await releaseDir();
    const signed = await cli(['sign', '--key', join(work, 'keys/interop-test.private.asc'), dir], { env: { NSPAWN_JITSI_PASSPHRASE: 'interop test passphrase' } });
    t.is(signed.exitCode, 0, String(signed.stderr));

    const gnupg = await gnupgHome();
    try {
      // The binary keyring is what systemd hands to gpg: import exactly that file.
      t.is((await gnupg.gpg(['--import', join(work, 'keys/import-pubring.gpg')])).exitCode, 0);
      const sums = await gnupg.gpg(['--status-fd=1', '--verify', join(dir, 'SHA256SUMS.gpg'), join(dir, 'SHA256SUMS')]);
      t.is(sums.exitCode, 0, String(sums.stderr));
      t.regex(String(sums.stdout), /^\[GNUPG:\] GOODSIG /m);
      for (const artifact of ['debian-jitsi-systemd.tar.xz', 'debian-jitsi-systemd.nspawn', 'debian-jitsi-systemd.packages']) {
        const result = await gnupg.gpg(['--status-fd=1', '--verify', join(dir, `${artifact}.asc`), join(dir, artifact)]);
        t.is(result.exitCode, 0, `${artifact}: ${result.stderr}`);
        t.regex(String(result.stdout), /^\[GNUPG:\] VALIDSIG /m);
      }
      // sha256sum reads our SHA256SUMS format.
      const { execa } = await import('execa');
      t.is((await execa('sha256sum', ['--check', '--strict', 'SHA256SUMS'], { cwd: dir, reject: false })).exitCode, 0);
      await appendFile(join(dir, 'debian-jitsi-systemd.tar.xz'), 'tampered');
      const bad = await gnupg.gpg(['--status-fd=1', '--verify', join(dir, 'debian-jitsi-systemd.tar.xz.asc'), join(dir, 'debian-jitsi-systemd.tar.xz')]);
      t.not(bad.exitCode, 0);
      t.regex(String(bad.stdout), /^\[GNUPG:\] BADSIG /m);
    } finally {
      await gnupg.dispose();
    }
  });
}

test('a key made by gpg signs through our sign; our verify and gpg both accept the result', async (t) => {
  const gnupg = await gnupgHome();
  try {
    const made = await gnupg.gpg(['--pinentry-mode', 'loopback', '--passphrase', 'gpg made passphrase', '--quick-gen-key', 'GnuPG Made <gpg-made@example.org>', 'ed25519', 'sign', 'never']);
    t.is(made.exitCode, 0, String(made.stderr));
    const work = await scratchDir('release-gpgkey-');
    const exported = await gnupg.gpg(['--pinentry-mode', 'loopback', '--passphrase', 'gpg made passphrase', '--armor', '--export-secret-keys', 'gpg-made@example.org']);
    t.is(exported.exitCode, 0, String(exported.stderr));
    await writeFile(join(work, 'gpg-made.private.asc'), String(exported.stdout));
    await writeFile(join(work, 'passphrase'), 'gpg made passphrase\n');
    await writeFile(join(work, 'gpg-made.public.gpg'), (await gnupg.gpg(['--export', 'gpg-made@example.org'], { encoding: 'buffer', stripFinalNewline: false })).stdout as Uint8Array);

    const dir = await releaseDir();
    const signed = await cli(['sign', '--key', join(work, 'gpg-made.private.asc'), '--passphrase-file', join(work, 'passphrase'), dir]);
    t.is(signed.exitCode, 0, String(signed.stderr));
    const verified = await cli(['verify', '--key', join(work, 'gpg-made.public.gpg'), dir]);
    t.is(verified.exitCode, 0, String(verified.stderr));
    t.regex(String(verified.stdout), /release verified/);
    const gpgVerify = await gnupg.gpg(['--status-fd=1', '--verify', join(dir, 'SHA256SUMS.gpg'), join(dir, 'SHA256SUMS')]);
    t.is(gpgVerify.exitCode, 0, String(gpgVerify.stderr));
    t.regex(String(gpgVerify.stdout), /^\[GNUPG:\] GOODSIG .* GnuPG Made <gpg-made@example.org>$/m);

    // And our verify names the failure when the release is signed by someone else.
    const stranger = await scratchDir('release-stranger-');
    await writeFile(join(stranger, 'passphrase'), 'stranger passphrase\n');
    t.is((await cli(['keygen', '--name', 'Stranger', '--email', 's@example.org', '--out', stranger, '--passphrase-file', join(stranger, 'passphrase')])).exitCode, 0);
    const wrongKey = await cli(['verify', '--key', join(stranger, 'stranger.public.asc'), dir]);
    t.is(wrongKey.exitCode, 1);
    t.regex(String(wrongKey.stderr), /FAIL {2}SHA256SUMS\.gpg: unknown key: made by key [0-9A-F]{16}/);
  } finally {
    await gnupg.dispose();
  }
});
