/**
 * Jitsi's .debs for a Gentoo root, from the Jitsi stand-in repository served on loopback: the
 * chain InRelease (pinned key) -> Packages (SHA256 in InRelease) -> .deb (Size and SHA256 in
 * Packages) verified, the data unpacked onto a root and the control data kept aside; and each
 * break in the chain refused before anything is unpacked. Needs root (owners), as the build does.
 */
import test, { type ExecutionContext } from 'ava';
import { chmod, cp, lstat, mkdir, readdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { unpackDebs } from '../../../src/builder/gentoo/deb-unpack.js';
import { fetchVerifiedJitsiDebs, type JitsiDebSource } from '../../../src/builder/gentoo/jitsi-debs.js';
import { VerificationFailed } from '../../../src/builder/gentoo/signatures.js';
import { UserError } from '../../../src/lib/errors.js';
import { buildStandinRepo, createSigningKey, PACKAGE_NAMES, pinnedPackages, serveRepo, SUITE, VERSIONS, type SigningKey, type StandinRepo } from '../../helpers/jitsi-standin/index.js';
import { buildDeb, writeIndices } from '../../helpers/jitsi-standin/repo.js';
import { scratchDir } from '../../helpers/scratch.js';

const keys: SigningKey[] = [];
/** The repository (v1 and v2 of each package), signed by `jitsi`; `other` signs nothing of it. */
const SETUP = (async () => {
  const jitsi = await createSigningKey();
  keys.push(jitsi);
  const other = await createSigningKey('Another key (test only)');
  keys.push(other);
  const repo = await buildStandinRepo({ dir: await scratchDir('jitsi-debs-repo-'), version: 'v1', extraVersions: ['v2'], signingKey: jitsi });
  return { jitsi, other, repo };
})();
test.after.always(async () => {
  for (const key of keys) await key.dispose();
});

/** A copy of the repository, changed by `change`, served on 127.0.0.1. */
async function served(t: ExecutionContext, change?: (suiteDir: string, repo: StandinRepo) => Promise<void>): Promise<string> {
  const { repo } = await SETUP;
  const dir = await scratchDir('jitsi-debs-served-');
  await cp(repo.dir, dir, { recursive: true });
  await change?.(join(dir, SUITE), repo);
  const server = await serveRepo(dir);
  t.teardown(() => server.close());
  return server.url;
}

async function source(url: string, packages: string[] = [...PACKAGE_NAMES]): Promise<JitsiDebSource> {
  const { jitsi } = await SETUP;
  return { url, suite: `${SUITE}/`, key: { file: jitsi.keyring }, pinnedFingerprint: jitsi.fingerprint.toUpperCase(), packages };
}

/** Fetches, verifies and unpacks as the build would, into fresh directories. */
async function install(src: JitsiDebSource) {
  const work = await scratchDir('jitsi-debs-work-');
  const root = join(work, 'root');
  const controlDir = join(work, 'control');
  await mkdir(root);
  const run = async () => {
    const debs = await fetchVerifiedJitsiDebs(src, join(work, 'downloads'));
    return unpackDebs(debs, { root, controlDir, workDir: join(work, 'data') });
  };
  return { root, controlDir, dataDir: join(work, 'data'), run };
}

/** Asserts the refusal and that neither the root nor the control directory got anything. */
async function refused(t: ExecutionContext, src: JitsiDebSource, message: RegExp, type: typeof UserError = VerificationFailed, prepareRoot?: (root: string) => Promise<void>) {
  const { root, controlDir, dataDir, run } = await install(src);
  await prepareRoot?.(root);
  const before = await readdir(root, { recursive: true });
  const error = await t.throwsAsync(run(), { instanceOf: type });
  t.regex(error!.message, message);
  t.deepEqual(await readdir(root, { recursive: true }), before, 'nothing was unpacked');
  t.deepEqual(await readdir(controlDir).catch(() => []), [], 'no control data was kept');
  t.deepEqual(await readdir(dataDir).catch(() => []), [], 'no data archive was left behind');
}

test('the newest version of each package is verified and unpacked onto a merged-/usr root, its control data kept aside', async (t) => {
  const url = await served(t);
  const { root, controlDir, run } = await install(await source(url));
  // A merged /usr as Gentoo's systemd stage3 has it: the .deb's lib/systemd lands in usr/lib.
  await mkdir(join(root, 'usr/lib'), { recursive: true });
  await symlink('usr/lib', join(root, 'lib'));
  const installed = await run();

  t.deepEqual(
    installed.map((p) => [p.package, p.version]),
    PACKAGE_NAMES.map((name) => [name, VERSIONS.v2[name]]),
  );
  const jvb = await stat(join(root, 'usr/share/jitsi-videobridge/jvb.sh'));
  t.true(jvb.isFile());
  t.is(jvb.mode & 0o111, 0o111, 'jvb.sh stays executable');
  t.is(jvb.uid, 0);
  t.true((await readdir(join(root, 'usr/share/jitsi-meet/prosody-plugins'))).includes('mod_client_proxy.lua'));
  t.true((await stat(join(root, 'usr/share/jicofo/jicofo.jar'))).isFile());
  t.true((await stat(join(root, 'usr/share/jitsi-meet/index.html'))).isFile());
  t.is(await readlink(join(root, 'lib')), 'usr/lib', 'the root keeps its /lib link');
  t.true((await stat(join(root, 'usr/lib/systemd/system/jitsi-videobridge2.service'))).isFile());

  const bridge = installed.find((p) => p.package === 'jitsi-videobridge2')!;
  t.true(bridge.files.includes('/usr/share/jitsi-videobridge/jvb.sh'));
  t.true(bridge.directories.includes('/usr/share/jitsi-videobridge'));
  const jicofo = installed.find((p) => p.package === 'jicofo')!;
  t.is(jicofo.controlDir, join(controlDir, 'jicofo'));
  t.regex(await readFile(join(jicofo.controlDir, 'control'), 'utf8'), new RegExp(`^Version: ${VERSIONS.v2.jicofo.replace(/\./g, '\\.')}$`, 'm'));
  t.true((await stat(join(jicofo.controlDir, 'postinst'))).isFile());
  // Nothing ran: the maintainer scripts' users and config files are not there.
  await t.throwsAsync(lstat(join(root, 'etc/jitsi/jicofo/config')));
});

test('pinned versions are the ones installed, though the repository has newer ones', async (t) => {
  const url = await served(t);
  const { run } = await install(await source(url, pinnedPackages('v1')));
  const installed = await run();
  t.deepEqual(
    installed.map((p) => [p.package, p.version]),
    PACKAGE_NAMES.map((name) => [name, VERSIONS.v1[name]]),
  );
});

test('an InRelease signed by another key is refused before anything is unpacked', async (t) => {
  const { other } = await SETUP;
  const url = await served(t, async (suiteDir) => {
    await execa('gpg', ['--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '', '--local-user', other.fingerprint, '--clearsign', '--output', join(suiteDir, 'InRelease'), join(suiteDir, 'Release')], {
      env: { GNUPGHOME: other.gnupgHome },
    });
  });
  await refused(t, await source(url), /InRelease \(http:\/\/127\.0\.0\.1:\d+\/stable\/InRelease\): signed by .*, not by Jitsi's repository key/);
});

test('an InRelease whose signed text was changed is refused', async (t) => {
  const url = await served(t, async (suiteDir) => {
    const path = join(suiteDir, 'InRelease');
    const text = await readFile(path, 'utf8');
    t.true(text.includes('(tests only)'));
    await writeFile(path, text.replace('(tests only)', '(tests 0nly)'));
  });
  await refused(t, await source(url), /InRelease .*: the signature by Jitsi's repository key .* does not verify .*changed after signing/);
});

test('a Packages file that does not match the SHA256 InRelease lists is refused', async (t) => {
  const url = await served(t, async (suiteDir) => {
    const path = join(suiteDir, 'Packages');
    const text = await readFile(path, 'utf8');
    // Same size, other bytes: only the hash can tell.
    await writeFile(path, text.replace(`Version: ${VERSIONS.v1.jicofo}`, `Version: ${VERSIONS.v1.jicofo.replace(/1$/, '2')}`));
  });
  await refused(t, await source(url), /Packages \(http:\/\/127\.0\.0\.1:\d+\/stable\/Packages\): has \d+ bytes, SHA256 [0-9a-f]{64}; the signed InRelease lists \d+ bytes, SHA256 [0-9a-f]{64}/);
});

test('a .deb longer than Packages says is refused, naming its URL, the expected and the actual size', async (t) => {
  const url = await served(t, async (suiteDir, repo) => {
    const deb = join(suiteDir, basename(repo.debs.jicofo));
    await writeFile(deb, Buffer.concat([await readFile(deb), Buffer.from([0])]));
  });
  const expected = (await stat((await SETUP).repo.debs.jicofo)).size;
  await refused(t, await source(url, pinnedPackages('v1')), new RegExp(`jicofo ${VERSIONS.v1.jicofo}: http://127\\.0\\.0\\.1:\\d+/stable/jicofo_[^ ]+\\.deb is larger than the ${expected} bytes the signed index lists`));
});

test('a .deb of the right size with other bytes is refused, naming both hashes', async (t) => {
  const url = await served(t, async (suiteDir, repo) => {
    const deb = join(suiteDir, basename(repo.debs['jitsi-meet-prosody']));
    const bytes = await readFile(deb);
    bytes[bytes.length - 1] ^= 0xff;
    await writeFile(deb, bytes);
  });
  await refused(t, await source(url, pinnedPackages('v1')), /jitsi-meet-prosody [^:]+: http:\/\/127\.0\.0\.1:\d+\/stable\/jitsi-meet-prosody_[^ ]+\.deb has \d+ bytes, SHA256 [0-9a-f]{64}; the signed index lists \d+ bytes, SHA256 [0-9a-f]{64}/);
});

test('a wanted package the repository does not have is refused', async (t) => {
  const url = await served(t);
  await refused(t, await source(url, [...PACKAGE_NAMES, 'jitsi-meet-turnserver']), /Packages .*: has no package jitsi-meet-turnserver; refusing before anything is unpacked/);
});

test('a pinned version the repository does not have is refused, naming the versions it has', async (t) => {
  const url = await served(t);
  await refused(t, await source(url, ['jitsi-meet-web', 'jicofo=1.0-9999-1']), new RegExp(`has jicofo (${VERSIONS.v1.jicofo}, ${VERSIONS.v2.jicofo}|${VERSIONS.v2.jicofo}, ${VERSIONS.v1.jicofo}), not the pinned 1\\.0-9999-1`));
});

test('a key with another fingerprint than the pinned one is refused', async (t) => {
  const url = await served(t);
  const { other } = await SETUP;
  const src = { ...(await source(url)), key: { file: other.keyring } };
  await refused(t, src, /has fingerprint .*, but the recipe pins/, UserError);
});

test('a file the root already has is not overwritten: the whole set is refused', async (t) => {
  const url = await served(t);
  await refused(t, await source(url), /jicofo: \/usr\/share\/jicofo\/jicofo\.sh already exists in the root; refusing before anything is unpacked/, VerificationFailed, async (root) => {
    await mkdir(join(root, 'usr/share/jicofo'), { recursive: true });
    await writeFile(join(root, 'usr/share/jicofo/jicofo.sh'), 'not from the package\n');
  });
});

test('a link in the root that leads outside it is not followed: the whole set is refused', async (t) => {
  const url = await served(t);
  const outside = await scratchDir('jitsi-debs-outside-');
  await refused(t, await source(url), /\/usr in the root is a symbolic link that leads outside the root/, VerificationFailed, async (root) => {
    await symlink(outside, join(root, 'usr'));
  });
  t.deepEqual(await readdir(outside), [], 'nothing was written outside the root');
});

/** Signs `release` (the text of a Release file) as the repository's InRelease, with `key`. */
async function signInRelease(suiteDir: string, release: string, key: SigningKey): Promise<void> {
  await writeFile(join(suiteDir, 'Release'), release);
  await execa('gpg', ['--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '', '--local-user', key.fingerprint, '--clearsign', '--output', join(suiteDir, 'InRelease'), join(suiteDir, 'Release')], {
    env: { GNUPGHOME: key.gnupgHome },
  });
}

test('a repository whose InRelease lists only Packages.gz is read from Packages.gz', async (t) => {
  const { jitsi } = await SETUP;
  const url = await served(t, async (suiteDir) => {
    const release = await readFile(join(suiteDir, 'Release'), 'utf8');
    await signInRelease(suiteDir, release.split('\n').filter((line) => !/ Packages$/.test(line)).join('\n'), jitsi);
    await writeFile(join(suiteDir, 'Packages'), 'not the index\n');
  });
  const { run } = await install(await source(url, pinnedPackages('v1')));
  t.deepEqual(
    (await run()).map((p) => p.version),
    PACKAGE_NAMES.map((name) => VERSIONS.v1[name]),
  );
});

test('an InRelease past its Valid-Until is refused', async (t) => {
  const { jitsi } = await SETUP;
  const url = await served(t, async (suiteDir) => {
    const release = await readFile(join(suiteDir, 'Release'), 'utf8');
    await signInRelease(suiteDir, release.replace(/^(Date: .*)$/m, '$1\nValid-Until: Sat, 01 Jan 2000 00:00:00 UTC'), jitsi);
  });
  await refused(t, await source(url), /InRelease .*: expired \(Valid-Until Sat, 01 Jan 2000 00:00:00 UTC\)/);
});

/** A control file for a made-up package. */
function control(name: string): string {
  return `Package: ${name}\nVersion: 1.0-1\nArchitecture: all\nMaintainer: Test <test@example.invalid>\nDescription: made up by the test\n`;
}

test('a signed, indexed .deb whose data would leave the root is refused before anything is unpacked', async (t) => {
  const { jitsi } = await SETUP;
  const url = await served(t, async (suiteDir) => {
    // dpkg-deb --build never writes such a path; ar and GNU tar -P do.
    const work = await scratchDir('jitsi-debs-hostile-');
    await mkdir(join(work, 'data'));
    await writeFile(join(work, 'data/escaped'), 'outside\n');
    await writeFile(join(work, 'control'), control('hostile'));
    await writeFile(join(work, 'debian-binary'), '2.0\n');
    await execa('tar', ['-czf', join(work, 'control.tar.gz'), '-C', work, './control']);
    await execa('tar', ['-czf', join(work, 'data.tar.gz'), '-P', '-C', join(work, 'data'), '--transform=s,^escaped$,../escaped,', 'escaped']);
    t.true((await execa('tar', ['-tzf', join(work, 'data.tar.gz')])).stdout.includes('../escaped'));
    await execa('ar', ['rc', join(suiteDir, 'hostile_1.0-1_all.deb'), 'debian-binary', 'control.tar.gz', 'data.tar.gz'], { cwd: work });
    await writeIndices(join(suiteDir, '..'), jitsi, 'hostile');
  });
  const { root, controlDir, dataDir, run } = await install(await source(url, [...PACKAGE_NAMES, 'hostile']));
  const error = await t.throwsAsync(run(), { instanceOf: VerificationFailed });
  t.regex(error!.message, /hostile 1\.0-1 \(http:\/\/127\.0\.0\.1:\d+\/stable\/hostile_1\.0-1_all\.deb\): 1 entry of its data would not stay inside the root \(\.\.\/escaped: path \.\.\/escaped goes up with '\.\.'\)/);
  t.deepEqual(await readdir(root), []);
  t.deepEqual(await readdir(controlDir).catch(() => []), []);
  t.deepEqual(await readdir(dataDir), [], 'no data archive was left behind');
  await t.throwsAsync(lstat(join(root, '..', 'escaped')), { code: 'ENOENT' });
});

test('a file two packages both ship is refused before anything is unpacked', async (t) => {
  const { jitsi } = await SETUP;
  const url = await served(t, async (suiteDir) => {
    const tree = await scratchDir('jitsi-debs-clash-');
    await mkdir(join(tree, 'DEBIAN'));
    await writeFile(join(tree, 'DEBIAN/control'), control('clash'));
    await mkdir(join(tree, 'usr/share/jicofo'), { recursive: true });
    await writeFile(join(tree, 'usr/share/jicofo/jicofo.sh'), '#!/bin/sh\n');
    await chmod(tree, 0o755);
    await buildDeb(tree, suiteDir, 'clash', '1.0-1');
    await writeIndices(join(suiteDir, '..'), jitsi, 'clash');
  });
  await refused(t, await source(url, [...PACKAGE_NAMES, 'clash']), /\/usr\/share\/jicofo\/jicofo\.sh is in both jicofo and clash; refusing before anything is unpacked/);
});
