import test from 'ava';
import { createHash } from 'node:crypto';
import {
  autobuildsDir,
  expectedDigests,
  isClearsigned,
  parseDigests,
  parseStage3Pointer,
  snapshotPath,
  stage3PointerPath,
} from '../../../src/builder/gentoo/release-files.js';
import { UserError } from '../../../src/lib/errors.js';

const NAME = 'stage3-amd64-openrc-20261124T170000Z.tar.xz';
const sha512 = (text: string) => createHash('sha512').update(text).digest('hex');
const blake2b = (text: string) => createHash('blake2b512').update(text).digest('hex');

test('release paths are laid out as on Gentoo mirrors', (t) => {
  t.is(autobuildsDir('arm64'), 'releases/arm64/autobuilds');
  t.is(stage3PointerPath('amd64', 'systemd'), 'releases/amd64/autobuilds/latest-stage3-amd64-systemd.txt');
  t.is(stage3PointerPath('arm64', 'openrc'), 'releases/arm64/autobuilds/latest-stage3-arm64-openrc.txt');
  t.is(snapshotPath('20261124'), 'snapshots/gentoo-20261124.tar.xz');
  t.is(snapshotPath('latest'), 'snapshots/gentoo-latest.tar.xz');
});

test('the pointer names one stage3 of its architecture and flavor, below autobuilds/', (t) => {
  const text = `# Latest as of Tue, 24 Nov 2026 17:00:00 +0000\n# ts=1795539600\n20261124T170000Z/${NAME} 279436700\n`;
  t.deepEqual(parseStage3Pointer(text, 'p.txt', 'amd64', 'openrc'), { path: `releases/amd64/autobuilds/20261124T170000Z/${NAME}`, size: 279436700 });
  t.deepEqual(parseStage3Pointer(text.replaceAll('\n', '\r\n'), 'p.txt', 'amd64', 'openrc').size, 279436700, 'CRLF, as clearsigned text may come');
  const refused = (body: string, arch: 'amd64' | 'arm64' = 'amd64', flavor: 'openrc' | 'systemd' = 'openrc') => t.throws(() => parseStage3Pointer(body, 'p.txt', arch, flavor), { instanceOf: UserError })!.message;
  t.regex(refused('# only comments\n'), /^p\.txt: expected one line '<path> <size>' after the comments, found 0$/);
  t.regex(refused(`a/${NAME} 1\nb/${NAME} 2\n`), /found 2: "a\/stage3.*", "b\/stage3/);
  t.regex(refused(`20261124T170000Z/${NAME}\n`), /is not '<path> <size>'/);
  t.regex(refused(`20261124T170000Z/${NAME} -5\n`), /is not '<path> <size>'/);
  t.regex(refused(`20261124T170000Z/${NAME} 0\n`), /size 0 .* is not a file size/);
  for (const path of [`../${NAME}`, `/srv/${NAME}`, `a//${NAME}`, `./${NAME}`, `a b/${NAME}`, `..`]) {
    t.regex(refused(`${path} 10\n`), /not a plain relative path below releases\/amd64\/autobuilds\/|is not '<path> <size>'/, path);
  }
  t.regex(refused(`x/${NAME} 10\n`, 'amd64', 'systemd'), /names x\/stage3-amd64-openrc-.* which is not a stage3-amd64-systemd-\*\.tar\.xz tarball/);
  t.regex(refused(`x/${NAME} 10\n`, 'arm64'), /not a stage3-arm64-openrc-/);
  t.regex(refused(`x/stage3-amd64-openrc-20261124T170000Z.iso 10\n`), /not a stage3-amd64-openrc-\*\.tar\.xz tarball/);
});

const DIGESTS = [
  '# BLAKE2B HASH',
  `${blake2b('tarball')}  ${NAME}`,
  '# SHA512 HASH',
  `${sha512('tarball')}  ${NAME}`,
  '# BLAKE2B HASH',
  `${blake2b('contents')}  ${NAME}.CONTENTS.gz`,
  '# SHA512 HASH',
  `${sha512('contents')}  ${NAME}.CONTENTS.gz`,
  '',
].join('\n');

test("catalyst's DIGESTS: both algorithms, several files; the tarball's hashes are picked by name", (t) => {
  const entries = parseDigests(DIGESTS, 'D');
  t.is(entries.length, 4);
  t.deepEqual(expectedDigests(entries, NAME, 'D'), { sha512: sha512('tarball'), blake2b: blake2b('tarball') });
  t.deepEqual(expectedDigests(entries, `${NAME}.CONTENTS.gz`, 'D'), { sha512: sha512('contents'), blake2b: blake2b('contents') });
  // Old DIGESTS: other algorithms (skipped), upper-case hex, no BLAKE2B.
  const old = `# MD5 HASH\n${'a'.repeat(32)}  ${NAME}\n# SHA1 HASH\n${'b'.repeat(40)}  ${NAME}\n# SHA512 HASH\n${sha512('tarball').toUpperCase()}  ${NAME}\n# WHIRLPOOL HASH\n${'c'.repeat(128)}  ${NAME}\n`;
  t.deepEqual(expectedDigests(parseDigests(old, 'D'), NAME, 'D'), { sha512: sha512('tarball') });
});

test('a DIGESTS that cannot be read as such is refused with its line', (t) => {
  t.throws(() => parseDigests(`${sha512('x')}  ${NAME}\n`, 'D'), { instanceOf: UserError, message: /^D:1: a hash line before any '# SHA512 HASH'/ });
  t.throws(() => parseDigests(`# SHA512 HASH\n${sha512('x').slice(1)}  ${NAME}\n`, 'D'), { message: /^D:2: not a '<128 hex digits>  <file name>' line of SHA512/ });
  t.throws(() => parseDigests(`# SHA512 HASH\n${sha512('x')}\n`, 'D'), { message: /^D:2: not a/ });
  const twice = `# SHA512 HASH\n${sha512('a')}  ${NAME}\n# SHA512 HASH\n${sha512('b')}  ${NAME}\n`;
  t.throws(() => expectedDigests(parseDigests(twice, 'D'), NAME, 'D'), { message: /^D:4: lists stage3-.* twice with different SHA512 hashes/ });
  const blakeOnly = `# BLAKE2B HASH\n${blake2b('a')}  ${NAME}\n`;
  t.throws(() => expectedDigests(parseDigests(blakeOnly, 'D'), NAME, 'D'), { message: /^D: has no SHA512 hash of stage3-amd64-openrc-20261124T170000Z\.tar\.xz \(it lists: stage3-/ });
});

test('clearsigned text is recognised only as a whole file', (t) => {
  t.true(isClearsigned('-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nx\n'));
  t.true(isClearsigned('\n-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA512\r\n'));
  t.false(isClearsigned(`# SHA512 HASH\n-----BEGIN PGP SIGNED MESSAGE-----\n`));
  t.false(isClearsigned(DIGESTS));
});
