import test from 'ava';
import { artifactStem, isTarball, packageListName, settingsFileBeside, settingsFileName, tarballName } from '../../src/image/artifact-names.js';
import { compressionExtension } from '../../src/image/compression.js';

test('one stem names the tarball, the settings file and the package list', (t) => {
  const stem = artifactStem({ distro: 'debian', init: 'openrc' });
  t.is(stem, 'debian-jitsi-openrc');
  t.is(tarballName(stem, 'xz'), 'debian-jitsi-openrc.tar.xz');
  t.is(tarballName(stem, 'zstd'), 'debian-jitsi-openrc.tar.zst');
  t.is(tarballName(stem, 'none'), 'debian-jitsi-openrc.tar');
  t.is(settingsFileName(stem), 'debian-jitsi-openrc.nspawn');
  t.is(packageListName(stem), 'debian-jitsi-openrc.packages');
});

test('the settings file beside a tarball drops the compression suffix, as machinectl pull-tar expects', (t) => {
  t.is(settingsFileBeside('/srv/dist/debian-jitsi-openrc.tar.zst'), '/srv/dist/debian-jitsi-openrc.nspawn');
  t.is(settingsFileBeside('/srv/dist/debian-jitsi-systemd.tar.xz'), '/srv/dist/debian-jitsi-systemd.nspawn');
  t.is(settingsFileBeside('x.tar'), 'x.nspawn');
});

test('tarballs are told by their suffix', (t) => {
  for (const name of ['a.tar', 'a.tar.xz', 'a.tar.zst', 'a.tar.gz', 'a.tar.bz2']) t.true(isTarball(name), name);
  for (const name of ['a.nspawn', 'a.packages', 'a.tar.xz.asc', 'a.txz']) t.false(isTarball(name), name);
  t.is(compressionExtension('xz'), '.tar.xz');
  t.is(compressionExtension('zstd'), '.tar.zst');
  t.is(compressionExtension('none'), '.tar');
});
