/**
 * Archives crafted to hide things from inspect while GNU tar still extracts them: sparse
 * entries in each of GNU tar's sparse formats, a pax `mode` keyword GNU tar ignores, file
 * capabilities, and entries written through an in-archive symbolic link. Every archive here
 * is written by GNU tar itself, so the tests track what the real extractor does.
 */
import test from 'ava';
import { execa } from 'execa';
import { link, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { errorCount, inspectTarball, type InspectReport } from '../../../src/release/inspect/index.js';
import { describeCapabilities } from '../../../src/release/inspect/checks.js';
import { CLEAN_TREE, makeTree, packTree, type Tree } from '../../helpers/image-trees.js';
import { scratchDir } from '../../helpers/scratch.js';

const scratch = (prefix: string) => scratchDir(prefix);

function kinds(report: InspectReport, severity: string): string[] {
  return report.findings.filter((f) => f.severity === severity).map((f) => `${f.kind} ${f.path}`).sort();
}

const GiB = 1024 ** 3;

/** Things that must not ship, each stored sparse (a hole between its first and last bytes). */
const SPARSE_TREE: Tree = {
  ...CLEAN_TREE,
  'usr/local/bin/tool': { content: 'ELF', sparseSize: 64 * 1024, tail: 'end', mode: 0o4777 },
  'etc/ssh/ssh_host_ed25519_key': { content: '-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n', sparseSize: 128 * 1024, tail: '-----END OPENSSH PRIVATE KEY-----\n', mode: 0o600 },
  'var/lib/prosody/meet%2eexample/accounts/focus.dat': { content: 'return {', sparseSize: 32 * 1024, tail: '}\n' },
  'etc/jitsi/jicofo/extra.conf': { content: '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n', sparseSize: 64 * 1024 },
  'srv/huge.img': { content: 'head', sparseSize: 10 * GiB, tail: 'tail' },
  // More data regions than an old GNU header holds (4): the map goes on in extension blocks.
  'srv/patchy.img': { content: 'a', sparseSize: 64 * 1024 * 1024, regions: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [(i + 1) * 2 * 1024 * 1024, `region ${i}`])) },
};
let sparseRoot: Promise<string> | undefined;

const SPARSE_FORMATS: [string, string[]][] = [
  ['old GNU, type S', ['--format=gnu']],
  ['PAX 0.0', ['--format=posix', '--sparse-version=0.0']],
  ['PAX 0.1', ['--format=posix', '--sparse-version=0.1']],
  ['PAX 1.0', ['--format=posix', '--sparse-version=1.0']],
];

for (const [format, args] of SPARSE_FORMATS) {
  test(`sparse entries (${format}) are seen with the name, size and mode GNU tar extracts`, async (t) => {
    sparseRoot ??= makeTree(SPARSE_TREE);
    const archive = await packTree(await sparseRoot, '.tar.xz', ['--sparse', ...args]);
    // GNU tar is the reference: it lists (and would extract) the real names, sizes and modes.
    const listing = (await execa('tar', ['-tvf', archive])).stdout;
    t.regex(listing, /^-rwsrwxrwx .*\s65536\s.*\.\/usr\/local\/bin\/tool$/m);
    t.regex(listing, /\s10737418240\s.*\.\/srv\/huge\.img$/m);
    const report = await inspectTarball(archive);
    t.deepEqual(kinds(report, 'error'), [
      'private-key /etc/jitsi/jicofo/extra.conf',
      'prosody-account /var/lib/prosody/meet%2eexample/accounts/focus.dat',
      'ssh-host-key /etc/ssh/ssh_host_ed25519_key',
      'world-writable /usr/local/bin/tool',
    ]);
    t.deepEqual(kinds(report, 'warning'), ['setid /usr/local/bin/tool']);
    t.is(report.sizesByTopLevel.find((entry) => entry.dir === 'srv')?.bytes, 10 * GiB + 64 * 1024 * 1024);
    t.true(report.totalBytes > 10 * GiB);
  });
}

test('entries after the end-of-archive marker and entry types inspect cannot read are errors', async (t) => {
  const first = await packTree(await makeTree({ 'etc/os-release': 'ID=x\n' }), '.tar');
  const second = await packTree(await makeTree({ 'etc/ssh/ssh_host_rsa_key': 'KEY' }), '.tar');
  const joined = join(await scratch('inspect-joined-'), 'joined.tar');
  await writeFile(joined, Buffer.concat([await readFile(first), await readFile(second)]));
  // GNU tar stops at the first end-of-archive marker; with --ignore-zeros it reads on.
  t.notRegex((await execa('tar', ['-tf', joined])).stdout, /ssh_host_rsa_key/);
  t.regex((await execa('tar', ['--ignore-zeros', '-tf', joined])).stdout, /ssh_host_rsa_key/);
  // machinectl pull-tar runs tar --ignore-zeros: the hidden entries are inspected too.
  const hidden = await inspectTarball(joined);
  t.deepEqual(kinds(hidden, 'error'), ['archive (archive)', 'ssh-host-key /etc/ssh/ssh_host_rsa_key']);
  t.regex(hidden.findings.find((f) => f.kind === 'archive')!.message, /entries after the end-of-archive marker/);

  // An incremental archive stores directories as GNU dumpdir ('D') entries.
  const snapshot = join(await scratch('inspect-snapshot-'), 'snapshot');
  const incremental = await packTree(await makeTree({ 'etc/os-release': 'ID=x\n' }), '.tar', ['--format=gnu', `--listed-incremental=${snapshot}`]);
  const report = await inspectTarball(incremental);
  t.true(kinds(report, 'error').includes('archive /etc'));
  t.regex(report.findings.find((f) => f.path === '/etc')!.message, /entry type 'D', which inspect cannot interpret/);
});

test('a pax "mode" keyword, which GNU tar ignores, does not hide the mode GNU tar applies', async (t) => {
  const root = await makeTree({ 'etc/os-release': 'ID=x\n', 'usr/local/bin/tool': { content: 'ELF', mode: 0o4777 } });
  const archive = await packTree(root, '.tar', ['--pax-option=mode:=420']);
  t.regex((await execa('tar', ['-tvf', archive])).stdout, /^-rwsrwxrwx .*\.\/usr\/local\/bin\/tool$/m);
  const report = await inspectTarball(archive);
  t.deepEqual(kinds(report, 'error'), ['world-writable /usr/local/bin/tool']);
  t.deepEqual(kinds(report, 'warning').filter((kind) => kind.startsWith('setid')), ['setid /usr/local/bin/tool']);
});

test('file capabilities are reported: the usual ones as warnings, dangerous ones as errors', async (t) => {
  const root = await makeTree({
    ...CLEAN_TREE,
    'usr/bin/ping': { content: 'ELF', caps: 'cap_net_raw=ep' },
    'usr/local/bin/evil': { content: 'ELF', caps: 'cap_setuid,cap_sys_admin=ep' },
    'usr/local/bin/reader': { content: 'ELF', caps: 'cap_dac_read_search+p' },
  });
  const archive = await packTree(root, '.tar.zst', ['--xattrs', '--xattrs-include=*']);
  const report = await inspectTarball(archive);
  t.deepEqual(kinds(report, 'error'), ['capability /usr/local/bin/evil', 'capability /usr/local/bin/reader']);
  t.deepEqual(kinds(report, 'warning'), ['capability /usr/bin/ping']);
  const message = (path: string) => report.findings.find((f) => f.path === path)!.message;
  t.regex(message('/usr/local/bin/evil'), /cap_setuid,cap_sys_admin=ep/);
  t.regex(message('/usr/local/bin/reader'), /cap_dac_read_search=p/);
  t.regex(message('/usr/bin/ping'), /cap_net_raw=ep/);
});

test('capability sets are decoded like getcap prints them', (t) => {
  const v2 = (flags: number, permitted: number, inheritable: number, high = 0) => {
    const value = Buffer.alloc(20);
    value.writeUInt32LE(0x02000000 | flags, 0);
    value.writeUInt32LE(permitted, 4);
    value.writeUInt32LE(inheritable, 8);
    value.writeUInt32LE(high, 12);
    return value;
  };
  t.deepEqual(describeCapabilities(v2(1, 1 << 13, 0)), { text: 'cap_net_raw=ep', names: ['cap_net_raw'] });
  t.deepEqual(describeCapabilities(v2(0, (1 << 7) | (1 << 21), 1 << 7)), { text: 'cap_setuid=ip cap_sys_admin=p', names: ['cap_setuid', 'cap_sys_admin'] });
  t.deepEqual(describeCapabilities(v2(1, 0, 0, 1 << 7)), { text: 'cap_bpf=ep', names: ['cap_bpf'] });
  t.deepEqual(describeCapabilities(v2(1, 0, 0, 1 << 20)), { text: 'cap_52=ep', names: ['cap_52'] });
  const v3 = Buffer.concat([v2(1, 1 << 10, 0), Buffer.from([0, 0, 0, 0])]);
  v3.writeUInt32LE(0x03000001, 0);
  t.deepEqual(describeCapabilities(v3), { text: 'cap_net_bind_service=ep', names: ['cap_net_bind_service'] });
  t.is(describeCapabilities(Buffer.from('junk')), undefined);
});

test('entries written through an in-archive symbolic link: out of the root is an error, inside it they are checked where they land', async (t) => {
  const outside = await scratch('inspect-outside-');
  const links = await makeTree({
    'etc/os-release': 'ID=x\n',
    'etc/ssh': { dir: true },
    'etc/x': { link: outside },
    'etc/up': { link: relative(join(await scratch('inspect-depth-'), 'etc'), outside) },
    'etc/lib': { link: '../usr/lib' },
    'etc/keys': { link: 'ssh' },
  });
  const payload = await makeTree({ 'etc/x/passwd': 'root::0:0::/root:/bin/sh\n', 'etc/up/hosts': 'x', 'etc/lib/evil.so': 'ELF', 'etc/keys/ssh_host_rsa_key': 'KEY' });
  const archive = await packTree(links, '.tar');
  // Stored as a hard link to ./etc/x/passwd, the first name of the same file.
  await link(join(payload, 'etc/x/passwd'), join(payload, 'etc/shadow-link'));
  await execa('tar', ['--append', '--file', archive, '-C', payload, './etc/x/passwd', './etc/up/hosts', './etc/lib/evil.so', './etc/keys/ssh_host_rsa_key', './etc/shadow-link']);
  // GNU tar is the reference: it refuses the first three and writes nothing outside.
  const target = await scratch('inspect-extract-');
  const extraction = await execa('tar', ['-xf', archive, '-C', target], { reject: false });
  t.not(extraction.exitCode, 0);
  t.regex(extraction.stderr, /etc\/x\/passwd/);
  t.deepEqual(await readdir(outside), []);
  const report = await inspectTarball(archive);
  t.deepEqual(kinds(report, 'error'), [
    'ssh-host-key /etc/ssh/ssh_host_rsa_key',
    'through-symlink /etc/lib/evil.so',
    'through-symlink /etc/shadow-link',
    'through-symlink /etc/up/hosts',
    'through-symlink /etc/x/passwd',
  ]);
  t.deepEqual(kinds(report, 'warning'), ['through-symlink /etc/keys/ssh_host_rsa_key', 'init /sbin/init'].sort());
  t.regex(report.findings.find((f) => f.path === '/etc/x/passwd')!.message, new RegExp(`/etc/x -> ${outside}`));
  t.regex(report.findings.find((f) => f.path === '/etc/shadow-link')!.message, /hard link to \.\/etc\/x\/passwd, reached through the symbolic link \/etc\/x/);
  t.is(errorCount(report), 5);
});

test('a hard link is checked under its own name too: secrets stored first under a harmless name are found', async (t) => {
  const root = await makeTree({
    ...CLEAN_TREE,
    // Names that sort before etc/ and var/: GNU tar stores them as the files, the later names as links.
    'a/key': '-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----\n',
    'a/account': 'return { password = "x" }',
    'a/id': '0123456789abcdef0123456789abcdef\n',
    'etc/ssl/secret.pem': '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n',
  });
  const links: [string, string][] = [
    ['a/key', 'etc/ssh/ssh_host_ed25519_key'],
    ['a/account', 'var/lib/prosody/meet%2eexample/accounts/focus.dat'],
    ['a/id', 'etc/machine-id'],
    ['etc/ssl/secret.pem', 'etc/ssl/z-copy.pem'],
  ];
  for (const [from, to] of links) {
    await rm(join(root, to), { force: true });
    await mkdir(dirname(join(root, to)), { recursive: true });
    await link(join(root, from), join(root, to));
  }
  const archive = await packTree(root, '.tar');
  t.regex((await execa('tar', ['-tvf', archive])).stdout, /^h.* \.\/etc\/machine-id link to \.\/a\/id$/m);
  const report = await inspectTarball(archive);
  t.deepEqual(kinds(report, 'error'), [
    'private-key /etc/ssl/secret.pem',
    'private-key /etc/ssl/z-copy.pem',
    'prosody-account /var/lib/prosody/meet%2eexample/accounts/focus.dat',
    'ssh-host-key /etc/ssh/ssh_host_ed25519_key',
    'unread-content /etc/machine-id',
  ]);
  // Sizes count the data once.
  t.is(report.sizesByTopLevel.find((entry) => entry.dir === 'etc')!.bytes, (await inspectTarball(await packTree(await makeTree({ ...CLEAN_TREE, 'etc/ssl/secret.pem': '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n' }), '.tar'))).sizesByTopLevel.find((entry) => entry.dir === 'etc')!.bytes - 'uninitialized\n'.length);
});

test('the README names every capability that is only a warning', async (t) => {
  const { USUAL_CAPABILITIES } = await import('../../../src/release/inspect/checks.js');
  const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
  const warnings = readme.slice(readme.indexOf('- **Warnings**: setuid'), readme.indexOf('## Release'));
  for (const name of USUAL_CAPABILITIES) t.true(warnings.includes(`\`${name}\``), name);
});
