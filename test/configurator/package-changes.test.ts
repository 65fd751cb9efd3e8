import test from 'ava';
import { appendFile, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  currentDpkgLogPosition,
  isServerPackage,
  recordDpkgLogPosition,
  serverPackageChanges,
  serverPackagesIn,
} from '../../src/configurator/package-changes.js';
import { scratchDir } from '../helpers/scratch.js';

/** dpkg.log lines of an `apt-get upgrade` (dpkg's own format). */
const UPGRADE = [
  '2026-12-01 12:00:01 startup archives unpack',
  '2026-12-01 12:00:01 upgrade jicofo:all 1.0-1100-1 1.0-1200-1',
  '2026-12-01 12:00:01 status half-configured jicofo:all 1.0-1100-1',
  '2026-12-01 12:00:02 upgrade tzdata:all 2024a-0 2024b-0',
  '2026-12-01 12:00:02 status unpacked jitsi-meet-prosody:all 1.0.8000-1',
  '2026-12-01 12:00:03 startup packages configure',
  '2026-12-01 12:00:03 configure jicofo:all 1.0-1200-1 <none>',
  '2026-12-01 12:00:03 status installed jicofo:all 1.0-1200-1',
  '2026-12-01 12:00:04 conffile /etc/nginx/nginx.conf keep',
  '2026-12-01 12:00:04 trigproc nginx-common:all 1.22.1-9 <none>',
  '2026-12-01 12:00:05 remove coturn:amd64 4.6.1-1 <none>',
  '',
].join('\n');

test('the server packages dpkg acted on, in order, and nothing else', (t) => {
  t.deepEqual(serverPackagesIn(UPGRADE), ['jicofo', 'jitsi-meet-prosody', 'nginx-common', 'coturn']);
  t.deepEqual(serverPackagesIn('2026-12-01 12:00:02 upgrade tzdata:all 2024a-0 2024b-0\n2026-12-01 12:00:04 conffile /etc/nginx/nginx.conf keep\n'), []);
});

test('server packages: the components\' own, any of Jitsi\'s, and the parts of nginx and prosody', (t) => {
  for (const name of ['prosody', 'jitsi-meet-prosody', 'jicofo', 'jitsi-videobridge2', 'jitsi-meet-web', 'jitsi-meet-turnserver', 'nginx', 'nginx-common', 'libnginx-mod-stream', 'coturn', 'certbot']) {
    t.true(isServerPackage(name), name);
  }
  for (const name of ['tzdata', 'openssl', 'libc6', 'lua5.4', 'nodejs']) t.false(isServerPackage(name), name);
});

test('changes are read from where the last apply left the log; no record, a rotated or a truncated log means "unknown"', async (t) => {
  const root = await scratchDir('dpkg-log-');
  await mkdir(join(root, 'var/log'), { recursive: true });
  const log = join(root, 'var/log/dpkg.log');
  t.deepEqual(await serverPackageChanges(root), { known: false, position: undefined }, 'no log at all');

  await writeFile(log, UPGRADE);
  t.false((await serverPackageChanges(root)).known, 'nothing recorded yet');

  await recordDpkgLogPosition(root, (await currentDpkgLogPosition(root))!);
  t.like(await serverPackageChanges(root), { known: true, packages: [] });
  await appendFile(log, '2026-12-02 08:00:00 configure jitsi-videobridge2:all 2.3-200 <none>\n2026-12-02 08:00:00 configure tzdata:all 2024b-0 <none>\n');
  t.like(await serverPackageChanges(root), { known: true, packages: ['jitsi-videobridge2'] });

  // logrotate moves the log aside and dpkg starts a new one.
  await rename(log, `${log}.1`);
  await writeFile(log, '2026-12-03 08:00:00 configure tzdata:all 2024c-0 <none>\n');
  t.false((await serverPackageChanges(root)).known, 'another file');
  await recordDpkgLogPosition(root, (await currentDpkgLogPosition(root))!);
  await writeFile(log, '');
  t.false((await serverPackageChanges(root)).known, 'shorter than recorded');
});
