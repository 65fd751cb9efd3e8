import test from 'ava';
import { execa } from 'execa';
import { chmod, lstat, mkdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { applyOverlay } from '../../../src/builder/stages/overlays.js';
import { PROJECT_ROOT } from '../../../src/builder/pipeline.js';
import { scratchDir } from '../../helpers/scratch.js';

test('files, modes and links are copied; existing directories keep their mode; links in the image are replaced, not followed', async (t) => {
  const overlay = await scratchDir('overlay-');
  const image = await scratchDir('image-');
  await mkdir(join(overlay, 'etc/profile.d'), { recursive: true });
  await writeFile(join(overlay, 'etc/profile.d/banner.sh'), 'echo hi\n');
  await mkdir(join(overlay, 'usr/sbin'), { recursive: true });
  await writeFile(join(overlay, 'usr/sbin/tool'), '#!/bin/sh\n');
  await chmod(join(overlay, 'usr/sbin/tool'), 0o755);
  await symlink('tool', join(overlay, 'usr/sbin/tool-alias'));
  await writeFile(join(overlay, 'etc/motd'), 'ours\n');

  await mkdir(join(image, 'etc'), { mode: 0o750 });
  await chmod(join(image, 'etc'), 0o750);
  const outside = join(image, 'outside');
  await writeFile(outside, 'must stay');
  await symlink(outside, join(image, 'etc/motd'));

  t.is(await applyOverlay(overlay, image), 4);
  t.is(await readFile(join(image, 'etc/profile.d/banner.sh'), 'utf8'), 'echo hi\n');
  t.is((await stat(join(image, 'usr/sbin/tool'))).mode & 0o777, 0o755);
  t.is(await readlink(join(image, 'usr/sbin/tool-alias')), 'tool');
  t.is((await stat(join(image, 'etc'))).mode & 0o777, 0o750);
  t.false((await lstat(join(image, 'etc/motd'))).isSymbolicLink());
  t.is(await readFile(outside, 'utf8'), 'must stay');
});

test('the common overlay carries the login banner naming jitsi-meet-config and the master config', async (t) => {
  const file = join(PROJECT_ROOT, 'overlays/common/etc/profile.d/jitsi-meet-config.sh');
  t.true((await readFile(file, 'utf8')).includes('[ ! -e /etc/jitsi/master-config.yaml ]'));
  // This host has no master config, like an unconfigured image: the banner must speak.
  const { stdout } = await execa('sh', [file]);
  t.regex(stdout, /not configured yet/);
  t.regex(stdout, /Run +jitsi-meet-config/);
});
