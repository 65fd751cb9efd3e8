import test from 'ava';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scratchDir } from '../../helpers/scratch.js';
import { affectedServices, isInstalled, openrcBooted, serviceCommand } from '../../../src/configurator/apply/services.js';
import { planServer } from '../../../src/configurator/components/index.js';
import type { PlannedService } from '../../../src/configurator/components/types.js';
import { webTls } from '../../../src/configurator/paths.js';
import { loadFixture } from '../../helpers/generated-files.js';
import { DEBIAN } from '../../../src/configurator/distribution.js';

let services: PlannedService[] = [];
test.before(async () => {
  services = planServer({ ...(await loadFixture('public-nat')), hostname: 'meet.jitsi.test' }, { distribution: DEBIAN, init: 'systemd' }).services;
});
const names = (paths: string[]) => affectedServices(services, paths).map((service) => service.name);

test('a changed file restarts exactly the services that read it', (t) => {
  t.deepEqual(names(['/etc/prosody/conf.avail/meet.jitsi.test.cfg.lua']), ['prosody']);
  t.deepEqual(names(['/etc/nginx/sites-available/meet.jitsi.test.conf']), ['nginx']);
  t.deepEqual(names(['/etc/turnserver.conf']), ['coturn']);
  t.deepEqual(names(['/etc/jitsi/jicofo/jicofo.conf']), ['jicofo']);
  t.deepEqual(names(['/etc/jitsi/videobridge/config']), ['jitsi-videobridge2']);
  t.deepEqual(names([webTls('meet.jitsi.test').cert]).sort(), ['coturn', 'nginx', 'prosody'], 'the web certificate is read by all three');
  t.deepEqual(names(['account:focus@auth.meet.jitsi.test']), ['jicofo'], 'a new focus password restarts jicofo');
  t.deepEqual(names(['roster:focus@auth.meet.jitsi.test']), ['jicofo'], 'so does a new roster subscription of focus');
  t.deepEqual(names(['/etc/jitsi/meet/meet.jitsi.test-config.js', '/etc/hosts']), [], 'config.js is static: nothing to restart');
  t.deepEqual(names([]), []);
});

test('nginx is reloaded, not restarted', (t) => {
  t.true(services.find((service) => service.name === 'nginx')?.reload);
  t.falsy(services.find((service) => service.name === 'prosody')?.reload);
});

test('OpenRC counts as booted only in runlevel default with no runlevel change under way', async (t) => {
  const root = await scratchDir('openrc-boot-');
  t.false(await openrcBooted(root), 'no /run/openrc yet');
  await mkdir(join(root, 'run/openrc'), { recursive: true });
  await writeFile(join(root, 'run/openrc/softlevel'), 'sysinit\n');
  t.false(await openrcBooted(root), 'still in sysinit');
  await writeFile(join(root, 'run/openrc/softlevel'), 'default\n');
  await writeFile(join(root, 'run/openrc/rc.starting'), '');
  t.false(await openrcBooted(root), 'default is being entered');
  await rm(join(root, 'run/openrc/rc.starting'));
  t.true(await openrcBooted(root));
  // sysvinit's rc still running `openrc default`: not booted yet, whatever the files say.
  await mkdir(join(root, 'proc/412'), { recursive: true });
  await writeFile(join(root, 'proc/412/cmdline'), '/sbin/openrc\0default\0');
  t.false(await openrcBooted(root), 'openrc still runs');
  await writeFile(join(root, 'proc/412/cmdline'), '/usr/sbin/nginx\0');
  t.true(await openrcBooted(root));
});

test('a failing service command is one clear error with its last words and where to look, not a trace', async (t) => {
  // `false` stands for an init command that fails (nginx refusing a reload); `sh -c` for one that says why.
  const quiet = await t.throwsAsync(serviceCommand('systemd', 'nginx', 'false', []));
  t.is(quiet!.constructor.name, 'UserError');
  t.regex(quiet!.message, /^`false` failed \(exit 1\): no output; look at `nginx -t` and journalctl -u nginx, then run jitsi-meet-config again$/);
  const loud = await t.throwsAsync(serviceCommand('openrc', 'coturn', 'sh', ['-c', 'echo one; echo two; echo "Job failed" >&2; exit 3']));
  t.regex(loud!.message, /failed \(exit 3\): one \/ two \/ Job failed; look at rc-service coturn status and \/var\/log\//);
  await t.notThrowsAsync(serviceCommand('systemd', 'prosody', 'true', []));
});

test("a service is installed when the init can run it and its package's program is there", async (t) => {
  const root = await scratchDir('installed-');
  const program = '/usr/share/jitsi-videobridge/jvb.sh';
  await mkdir(join(root, 'etc/init.d'), { recursive: true });
  // Our OpenRC script for the bridge is in every OpenRC image; the package may not be.
  await writeFile(join(root, 'etc/init.d/jitsi-videobridge2'), '#!/sbin/openrc-run\n');
  t.false(await isInstalled(root, 'openrc', 'jitsi-videobridge2', program), 'script without the package');
  await mkdir(join(root, 'usr/share/jitsi-videobridge'), { recursive: true });
  await writeFile(join(root, program), '#!/bin/bash\n');
  t.true(await isInstalled(root, 'openrc', 'jitsi-videobridge2', program));
  // systemd: a unit, or a sysv script that systemd-sysv-generator turns into one (jicofo ships only that).
  t.false(await isInstalled(root, 'systemd', 'jicofo'));
  await writeFile(join(root, 'etc/init.d/jicofo'), '#!/bin/sh\n');
  t.true(await isInstalled(root, 'systemd', 'jicofo'));
  t.false(await isInstalled(root, 'systemd', 'jicofo', '/usr/share/jicofo/jicofo.sh'), 'but not without its program');
  await rm(join(root, 'etc/init.d/jicofo'));
  await mkdir(join(root, 'lib/systemd/system'), { recursive: true });
  await writeFile(join(root, 'lib/systemd/system/jitsi-videobridge2.service'), '[Service]\n');
  t.true(await isInstalled(root, 'systemd', 'jitsi-videobridge2', program));
});
