import test from 'ava';
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { presetText, startLinks } from '../../../src/builder/stages/disable-services.js';
import { scratchDir } from '../../helpers/scratch.js';

test('the preset file disables each service unit (so first boot does not enable them)', (t) => {
  const text = presetText(['nginx', 'coturn', 'foo.socket']);
  const rules = text.split('\n').filter((l) => l && !l.startsWith('#'));
  t.deepEqual(rules, ['disable nginx.service', 'disable coturn.service', 'disable foo.socket']);
});

test('startLinks finds systemd wants links and OpenRC runlevel entries, ignores masks', async (t) => {
  const root = await scratchDir('services-');
  await mkdir(join(root, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
  await mkdir(join(root, 'etc/runlevels/default'), { recursive: true });
  await symlink('/lib/systemd/system/nginx.service', join(root, 'etc/systemd/system/multi-user.target.wants/nginx.service'));
  await symlink('/dev/null', join(root, 'etc/systemd/system/coturn.service'));
  await symlink('/etc/init.d/prosody', join(root, 'etc/runlevels/default/prosody'));
  t.deepEqual(await startLinks(root, 'systemd', 'nginx'), ['etc/systemd/system/multi-user.target.wants/nginx.service']);
  t.deepEqual(await startLinks(root, 'systemd', 'prosody'), []);
  t.deepEqual(await startLinks(root, 'openrc', 'prosody'), ['etc/runlevels/default/prosody']);
  t.deepEqual(await startLinks(root, 'openrc', 'nginx'), []);
});
