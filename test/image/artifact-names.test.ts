import test from 'ava';
import { artifactStem, isTarball, packageListName, settingsFileBeside, settingsFileName, tarballName } from '../../src/image/artifact-names.js';
import { compressionExtension } from '../../src/image/compression.js';

const bookworm = { distro: 'debian', suite: 'bookworm', init: 'openrc', version: '0.1.0', architecture: 'amd64' } as const;

test('one stem names the tarball, the settings file and the package list', (t) => {
  const stem = artifactStem({ ...bookworm, suite: 'bookworm' });
  t.is(stem, 'debian-bookworm-jitsi-openrc-0.1.0-amd64');
  t.is(tarballName(stem, 'xz'), 'debian-bookworm-jitsi-openrc-0.1.0-amd64.tar.xz');
  t.is(tarballName(stem, 'zstd'), 'debian-bookworm-jitsi-openrc-0.1.0-amd64.tar.zst');
  t.is(tarballName(stem, 'none'), 'debian-bookworm-jitsi-openrc-0.1.0-amd64.tar');
  t.is(settingsFileName(stem), 'debian-bookworm-jitsi-openrc-0.1.0-amd64.nspawn');
  t.is(packageListName(stem), 'debian-bookworm-jitsi-openrc-0.1.0-amd64.packages');
});

test('builds that differ in suite, init, version or architecture get different names', (t) => {
  const names = new Set([
    artifactStem(bookworm),
    artifactStem({ ...bookworm, suite: 'trixie' }),
    artifactStem({ ...bookworm, init: 'systemd' }),
    artifactStem({ ...bookworm, version: '0.2.0' }),
    artifactStem({ ...bookworm, architecture: 'arm64' }),
  ]);
  t.is(names.size, 5);
});

test('a part that would make a path or break the name is refused', (t) => {
  t.throws(() => artifactStem({ ...bookworm, suite: '../etc' }), { message: /suite '\.\.\/etc' cannot be part of an artifact name/ });
  t.throws(() => artifactStem({ ...bookworm, version: '1.0 beta' }), { message: /version/ });
  t.throws(() => artifactStem({ ...bookworm, architecture: '' }), { message: /architecture/ });
});

test('the settings file beside a tarball drops the compression suffix, as machinectl pull-tar expects', (t) => {
  t.is(settingsFileBeside('/srv/dist/debian-bookworm-jitsi-openrc-0.1.0-amd64.tar.zst'), '/srv/dist/debian-bookworm-jitsi-openrc-0.1.0-amd64.nspawn');
  t.is(settingsFileBeside('/srv/dist/debian-trixie-jitsi-systemd-0.1.0-arm64.tar.xz'), '/srv/dist/debian-trixie-jitsi-systemd-0.1.0-arm64.nspawn');
  t.is(settingsFileBeside('x.tar'), 'x.nspawn');
});

test('tarballs are told by their suffix', (t) => {
  for (const name of ['a.tar', 'a.tar.xz', 'a.tar.zst', 'a.tar.gz', 'a.tar.bz2']) t.true(isTarball(name), name);
  for (const name of ['a.nspawn', 'a.packages', 'a.tar.xz.asc', 'a.txz']) t.false(isTarball(name), name);
  t.is(compressionExtension('xz'), '.tar.xz');
  t.is(compressionExtension('zstd'), '.tar.zst');
  t.is(compressionExtension('none'), '.tar');
});
