import test from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { staleHostnames } from '../../../src/configurator/apply/stale-hosts.js';
import { scratchDir } from '../../helpers/scratch.js';
import { DEBIAN } from '../../../src/configurator/distribution.js';

test('other hosts are found from our files on disk, not only from the previous master config', async (t) => {
  const root = await scratchDir('jmc-');
  const put = async (path: string, content: string) => {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), content);
  };
  await put('etc/jitsi/meet/old.jitsi.test-config.js', '// Written by jitsi-meet-config from /etc/jitsi/master-config.yaml\n');
  await put('etc/jitsi/meet/meet.jitsi.test-config.js', '// Written by jitsi-meet-config\n');
  await put('etc/prosody/conf.avail/localhost.cfg.lua', '-- Debian\'s example host, not ours\n');
  await put('etc/nginx/sites-available/other.example.org.conf', '# someone else\'s site\n');
  await put('etc/nginx/sites-available/older.jitsi.test.conf', '# Jitsi Meet on older.jitsi.test. Written by jitsi-meet-config\n');
  await put('etc/jitsi/tls/auth.tls-only.jitsi.test.crt', 'cert');
  await put('etc/jitsi/tls/meet.jitsi.test.crt', 'cert');
  await put('etc/jitsi/meet/not a host-config.js', '// Written by jitsi-meet-config\n');
  t.deepEqual(await staleHostnames(root, DEBIAN, 'meet.jitsi.test'), ['old.jitsi.test', 'older.jitsi.test', 'tls-only.jitsi.test']);
  t.deepEqual(await staleHostnames(root, DEBIAN, 'meet.jitsi.test', 'previous.jitsi.test'), ['old.jitsi.test', 'older.jitsi.test', 'previous.jitsi.test', 'tls-only.jitsi.test']);
  t.deepEqual(await staleHostnames(join(root, 'empty'), DEBIAN, 'meet.jitsi.test', 'meet.jitsi.test'), []);
});

test("a prosody host file made from Jitsi's package template counts: the package writes one for its debconf hostname", async (t) => {
  const root = await scratchDir('jmc-');
  await mkdir(join(root, 'etc/prosody/conf.avail'), { recursive: true });
  const template = (host: string) => `-- We need this for prosody 13.0\ncomponent_admins_as_room_owners = true\n\nplugin_paths = { "/usr/share/jitsi-meet/prosody-plugins/" }\n\nVirtualHost "${host}"\n`;
  await writeFile(join(root, 'etc/prosody/conf.avail/jitsi-placeholder.invalid.cfg.lua'), template('jitsi-placeholder.invalid'));
  await writeFile(join(root, 'etc/prosody/conf.avail/meet.jitsi.test.cfg.lua'), template('meet.jitsi.test'));
  // Someone's own host that merely mentions the plugins further down is not the package's.
  await writeFile(join(root, 'etc/prosody/conf.avail/chat.example.org.cfg.lua'), `VirtualHost "chat.example.org"\n${'-- padding\n'.repeat(40)}plugin_paths = { "/usr/share/jitsi-meet/prosody-plugins/" }\n`);
  t.deepEqual(await staleHostnames(root, DEBIAN, 'meet.jitsi.test'), ['jitsi-placeholder.invalid']);
});
