import test from 'ava';
import { stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../../../src/lib/errors.js';
import { errorCount, formatInspectReport, inspectTarball, parseDpkgStatus, parseOsRelease, type InspectReport } from '../../../src/release/inspect/index.js';
import { CLEAN_TREE, DPKG_STATUS, makeTree, packTree, type Tree } from '../../helpers/image-trees.js';
import { scratchDir } from '../../helpers/scratch.js';

function kinds(report: InspectReport, severity: string): string[] {
  return report.findings.filter((f) => f.severity === severity).map((f) => `${f.kind} ${f.path}`).sort();
}

test('a clean image: facts reported, no errors, expected setuid as a note', async (t) => {
  const report = await inspectTarball(await packTree(await makeTree(CLEAN_TREE)));
  t.is(report.compression, 'zstd');
  t.is(report.osRelease?.PRETTY_NAME, 'Debian GNU/Linux 12 (bookworm)');
  t.deepEqual(report.init, { name: 'systemd', evidence: 'package systemd-sysv 252.39-1~deb12u2' });
  t.deepEqual(report.components, [
    { package: 'jicofo', version: undefined },
    { package: 'jitsi-videobridge2', version: '2.3-1-g1' },
    { package: 'jitsi-meet-web', version: undefined },
    { package: 'jitsi-meet-prosody', version: undefined },
    { package: 'prosody', version: '0.12.3-1+deb12u1' },
    { package: 'nginx', version: '1.22.1-9+deb12u11' },
    { package: 'coturn', version: undefined },
  ]);
  t.deepEqual(kinds(report, 'error'), []);
  t.deepEqual(kinds(report, 'warning'), []);
  t.deepEqual(kinds(report, 'info'), ['setid /usr/bin/su']);
  t.is(report.sizesByTopLevel[0].dir, 'usr');
  t.is(report.sizesByTopLevel[0].bytes, 5003 + CLEAN_TREE['usr/lib/os-release'].toString().length);
  t.is(errorCount(report), 0);
  const text = formatInspectReport(report);
  t.regex(text, /os-release: {2}Debian GNU\/Linux 12 \(bookworm\) \(ID=debian, VERSION_ID=12\)/);
  t.regex(text, /jicofo {14}not installed/);
  t.regex(text, /0 errors, 0 warnings, 1 notes\n$/);
});

test('every compression the build writes gives the same report', async (t) => {
  const root = await makeTree(CLEAN_TREE);
  const reports = await Promise.all(['.tar', '.tar.xz', '.tar.zst', '.tar.gz'].map(async (extension) => inspectTarball(await packTree(root, extension))));
  t.deepEqual(
    reports.map((r) => r.compression),
    ['none', 'xz', 'zstd', 'gzip'],
  );
  const comparable = reports.map(({ archive: _a, compression: _c, ...rest }) => rest);
  for (const other of comparable.slice(1)) t.deepEqual(other, comparable[0]);
});

const DIRTY: Tree = {
  ...CLEAN_TREE,
  'etc/machine-id': '0123456789abcdef0123456789abcdef\n',
  'var/lib/dbus/machine-id': '0123456789abcdef0123456789abcdef\n',
  'var/lib/systemd/random-seed': 'seedseedseed',
  'var/lib/systemd/credential.secret': 'secret',
  'etc/ssh/ssh_host_ed25519_key': '-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----\n',
  'etc/ssh/ssh_host_ed25519_key.pub': 'ssh-ed25519 AAAA root@build',
  'etc/ssl/private/ssl-cert-snakeoil.key': 'binary-ish key material',
  'etc/jitsi/videobridge/embedded.conf': 'key = """\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n"""\n',
  'etc/shadow': { content: 'root:$y$j9T$abc$def:19000:0:99999:7:::\nguest::19000::::::\nprosody:!:19000::::::\n', mode: 0o640 },
  'var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease': 'lists',
  'var/cache/apt/pkgcache.bin': 'cache',
  'var/lib/prosody/meet%2eexample/accounts/focus.dat': 'return { password = "x" }',
  'usr/local/bin/helper': { content: 'ELF', mode: 0o4755 },
  'usr/bin/wall': { content: 'ELF', mode: 0o2755 },
  'srv/shared.txt': { content: 'anyone', mode: 0o666 },
  'srv/drop': { dir: true, mode: 0o777 },
};

test('per-instance state, secrets and unsafe modes are found with the right severity', async (t) => {
  const report = await inspectTarball(await packTree(await makeTree(DIRTY)));
  t.deepEqual(kinds(report, 'error'), [
    'credential-secret /var/lib/systemd/credential.secret',
    'machine-id /etc/machine-id',
    'machine-id /var/lib/dbus/machine-id',
    'private-key /etc/jitsi/videobridge/embedded.conf',
    'private-key /etc/ssl/private/ssl-cert-snakeoil.key',
    'prosody-account /var/lib/prosody/meet%2eexample/accounts/focus.dat',
    'random-seed /var/lib/systemd/random-seed',
    'root-password /etc/shadow',
    'ssh-host-key /etc/ssh/ssh_host_ed25519_key',
    'world-writable /srv/drop',
    'world-writable /srv/shared.txt',
  ]);
  t.deepEqual(kinds(report, 'warning'), ['apt-cache /var/cache/apt', 'apt-lists /var/lib/apt/lists', 'setid /usr/local/bin/helper', 'user-password /etc/shadow']);
  t.deepEqual(kinds(report, 'info'), ['setid /usr/bin/su', 'setid /usr/bin/wall']);
  t.is(errorCount(report), 11);
  const text = formatInspectReport(report);
  t.regex(text, /ERROR \/etc\/machine-id: holds the machine id 0123456789abcdef0123456789abcdef/);
  t.regex(text, /WARN {2}\/etc\/shadow: user guest has an empty password/);
  t.regex(text, /11 errors, 4 warnings, 2 notes\n$/);
});

test('absolute and .. paths and hard links out of the root are errors', async (t) => {
  const root = await makeTree({ 'etc/os-release': 'ID=x\n', 'etc/a': 'a' });
  const { link } = await import('node:fs/promises');
  await link(join(root, 'etc/a'), join(root, 'etc/b'));
  // GNU tar strips these unless told to keep them (-P); an attacker's archive would not.
  const archive = await packTree(root, '.tar', ['-P', '--transform=s,^\\./etc/a$,/etc/evil,', '--transform=s,^\\./etc/os-release$,./etc/../../escape,']);
  const listing = (await execa('tar', ['-P', '-tf', archive])).stdout;
  t.regex(listing, /^\/etc\/evil$/m);
  const report = await inspectTarball(archive);
  t.regex(listing, /^\.\/etc\/b$/m);
  t.deepEqual(kinds(report, 'error'), ['absolute-path /etc/evil', 'dotdot-path /etc/../../escape', 'unsafe-hardlink /etc/b']);
  t.truthy(report.findings.find((f) => f.kind === 'absolute-path')!.message.includes('/etc/evil'));
});

test('an image without os-release or init is warned about', async (t) => {
  const report = await inspectTarball(await packTree(await makeTree({ 'srv/data': 'x' })));
  t.deepEqual(kinds(report, 'warning'), ['init /sbin/init', 'os-release /etc/os-release']);
  t.is(report.init.name, 'unknown');
  t.is(errorCount(report), 0);
});

test('the init system is recognised from /sbin/init when dpkg has no answer', async (t) => {
  const report = await inspectTarball(await packTree(await makeTree({ 'usr/sbin/init': { link: '/lib/systemd/systemd' }, 'etc/os-release': 'ID=x\n' })));
  t.deepEqual(report.init, { name: 'systemd', evidence: '/usr/sbin/init -> /lib/systemd/systemd' });
  const openrc = await inspectTarball(
    await packTree(await makeTree({ 'var/lib/dpkg/status': 'Package: openrc\nStatus: install ok installed\nVersion: 0.45.2-2\n', 'etc/os-release': 'ID=x\n' })),
  );
  t.is(openrc.init.name, 'openrc');
});

test('damaged and non-tar files fail clearly', async (t) => {
  const archive = await packTree(await makeTree({ ...CLEAN_TREE, 'usr/share/filler': 'y'.repeat(200_000) }), '.tar.xz');
  await truncate(archive, Math.floor((await stat(archive)).size / 2));
  await t.throwsAsync(inspectTarball(archive), { instanceOf: UserError, message: /cannot read the archive \(.*(Unexpected end of input|xz)/ });
  const dir = await scratchDir('inspect-junk-');
  await writeFile(join(dir, 'junk.tar'), 'this is not a tar archive at all\n'.repeat(40));
  const junk = await inspectTarball(join(dir, 'junk.tar'));
  t.true(errorCount(junk) >= 1);
  t.true(junk.findings.some((f) => f.kind === 'archive'));
  await t.throwsAsync(inspectTarball(join(dir, 'missing.tar.xz')), { instanceOf: UserError, message: /missing\.tar\.xz: cannot open the archive \(ENOENT\)/ });
});

test('os-release and dpkg status parsing', (t) => {
  t.deepEqual(parseOsRelease('NAME="Debian \\"GNU\\"/Linux"\nID=debian\n# comment\nVERSION=\'12 (bookworm)\'\n'), {
    NAME: 'Debian "GNU"/Linux',
    ID: 'debian',
    VERSION: '12 (bookworm)',
  });
  const installed = parseDpkgStatus('Package: a\nStatus: install ok installed\nVersion: 1\n\nPackage: b\nStatus: deinstall ok config-files\nVersion: 2\n');
  t.deepEqual([...installed], [['a', '1']]);
});

test("the image's architecture is reported (dpkg's), and said to be unknown without it", async (t) => {
  const arm = await inspectTarball(await packTree(await makeTree({ ...CLEAN_TREE, 'var/lib/dpkg/status': `${DPKG_STATUS}\nPackage: dpkg\nStatus: install ok installed\nVersion: 1.21.22\nArchitecture: arm64\n` })));
  t.is(arm.architecture, 'arm64');
  t.regex(formatInspectReport(arm), /\narchitecture: arm64\n/);
  const unknown = await inspectTarball(await packTree(await makeTree(CLEAN_TREE)));
  t.is(unknown.architecture, undefined);
  t.regex(formatInspectReport(unknown), /\narchitecture: unknown \(no architecture in a dpkg database\)\n/);
});

test("a GnuPG home's private keys (portage's getuto keyring, root's own) are errors; its public keyring is not", async (t) => {
  const report = await inspectTarball(
    await packTree(
      await makeTree({
        ...CLEAN_TREE,
        // GnuPG's own key format (an S-expression), not PEM: only the directory says what it is.
        'etc/portage/gnupg/private-keys-v1.d/0123456789ABCDEF0123456789ABCDEF01234567.key': 'Created: 20261201T000000\nKey: (private-key (rsa (n #00#)))\n',
        'etc/portage/gnupg/pubring.kbx': 'public keyring',
        'root/.gnupg/private-keys-v1.d/89ABCDEF0123456789ABCDEF0123456789ABCDEF.key': '(protected-private-key (ecc))',
        'usr/share/doc/gnupg/private-keys-v1.d/README': 'not a key file',
      }),
    ),
  );
  t.deepEqual(kinds(report, 'error'), [
    'gnupg-private-key /etc/portage/gnupg/private-keys-v1.d/0123456789ABCDEF0123456789ABCDEF01234567.key',
    'gnupg-private-key /root/.gnupg/private-keys-v1.d/89ABCDEF0123456789ABCDEF0123456789ABCDEF.key',
  ]);
  t.regex(formatInspectReport(report), /ERROR \/etc\/portage\/gnupg\/private-keys-v1\.d\/0123.*: a GnuPG private key/);
});
