import test from 'ava';
import { access, lstat, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { disableServices } from '../../../src/builder/stages/disable-services.js';
import type { BuildContext } from '../../../src/builder/stage.js';
import type { InitSystem } from '../../../src/lib/init-systems.js';
import { UserError } from '../../../src/lib/errors.js';
import { scratchDir } from '../../helpers/scratch.js';

const RECIPE_FILE = '/recipes/gentoo-23.0.yaml';

/** A Gentoo OpenRC root as the stage3 lays it out: scripts in /etc/init.d, runlevels as directories of links. No update-rc.d, no shell. */
async function openrcRoot(): Promise<string> {
  const root = await scratchDir('services-gentoo-');
  await mkdir(join(root, 'etc/init.d'), { recursive: true });
  for (const script of ['nginx', 'prosody', 'turnserver', 'sshd']) await writeFile(join(root, 'etc/init.d', script), '#!/sbin/openrc-run\n', { mode: 0o755 });
  for (const level of ['boot', 'default', 'nonetwork', 'shutdown', 'sysinit']) await mkdir(join(root, 'etc/runlevels', level), { recursive: true });
  return root;
}

function context(rootfs: string, init: InitSystem, servicesOff: string[], lines: string[] = []): BuildContext {
  return {
    rootfs,
    init,
    recipe: { distro: 'gentoo', file: RECIPE_FILE, servicesOff },
    log: (line: string) => lines.push(line),
  } as unknown as BuildContext;
}

async function linksIn(root: string): Promise<string[]> {
  const found: string[] = [];
  for (const level of await readdir(join(root, 'etc/runlevels'))) {
    for (const name of await readdir(join(root, 'etc/runlevels', level))) found.push(`${level}/${name}`);
  }
  return found.sort();
}

test('on Gentoo with OpenRC, each service leaves every runlevel (as rc-update del would); its script and other services stay', async (t) => {
  const root = await openrcRoot();
  await symlink('/etc/init.d/nginx', join(root, 'etc/runlevels/default/nginx'));
  await symlink('/etc/init.d/nginx', join(root, 'etc/runlevels/nonetwork/nginx'));
  await symlink('/etc/init.d/turnserver', join(root, 'etc/runlevels/default/turnserver'));
  await symlink('/etc/init.d/sshd', join(root, 'etc/runlevels/default/sshd'));
  const lines: string[] = [];
  await disableServices.run(context(root, 'openrc', ['nginx', 'prosody', 'turnserver'], lines));
  t.deepEqual(await linksIn(root), ['default/sshd']);
  for (const script of ['nginx', 'prosody', 'turnserver']) await t.notThrowsAsync(access(join(root, 'etc/init.d', script)), script);
  t.true((await lstat(join(root, 'etc/runlevels/default/sshd'))).isSymbolicLink());
  t.deepEqual(lines, [
    'nginx: removed etc/runlevels/default/nginx, etc/runlevels/nonetwork/nginx',
    'turnserver: removed etc/runlevels/default/turnserver',
    'installed, not enabled: nginx, prosody, turnserver',
  ]);
});

test('on Gentoo with OpenRC, a service in no runlevel is already off: nothing to do, no error', async (t) => {
  const root = await openrcRoot();
  await disableServices.run(context(root, 'openrc', ['prosody']));
  t.deepEqual(await linksIn(root), []);
});

test('on Gentoo with OpenRC, a runlevel entry that is not a link (nothing rc-update makes) is refused, not removed', async (t) => {
  const root = await openrcRoot();
  await mkdir(join(root, 'etc/runlevels/default/nginx'));
  await t.throwsAsync(disableServices.run(context(root, 'openrc', ['nginx'])), { message: /nginx is still enabled after disabling it: etc\/runlevels\/default\/nginx/ });
});

test('a service in services-off that the image does not have is an error naming the recipe, the service and the init system', async (t) => {
  const root = await openrcRoot();
  // coturn's OpenRC script is turnserver; `coturn` is its systemd unit.
  const error = await t.throwsAsync(disableServices.run(context(root, 'openrc', ['nginx', 'coturn'])), { instanceOf: UserError });
  t.regex(error!.message, /gentoo-23\.0\.yaml: services-off names 'coturn', but this openrc image has no such service/);
  t.regex(error!.message, /init: /, 'says how to limit an entry to one init system');
  t.deepEqual(await linksIn(root), [], 'nothing was changed before the check');
});

/** A Gentoo systemd root: units in /usr/lib/systemd/system, ours in /etc/systemd/system, and the OpenRC scripts ebuilds install whatever the init system. */
async function systemdRoot(): Promise<string> {
  const root = await scratchDir('services-gentoo-systemd-');
  await mkdir(join(root, 'usr/lib/systemd/system'), { recursive: true });
  await mkdir(join(root, 'etc/systemd/system'), { recursive: true });
  await mkdir(join(root, 'etc/init.d'), { recursive: true });
  for (const unit of ['nginx', 'prosody', 'coturn']) await writeFile(join(root, 'usr/lib/systemd/system', `${unit}.service`), '[Service]\n');
  await writeFile(join(root, 'etc/systemd/system/jicofo.service'), '[Service]\n');
  for (const script of ['nginx', 'prosody', 'turnserver']) await writeFile(join(root, 'etc/init.d', script), '#!/sbin/openrc-run\n', { mode: 0o755 });
  return root;
}

test('on Gentoo with systemd, an OpenRC script is no service (Gentoo builds systemd without SysV compatibility): an error before anything runs', async (t) => {
  const root = await systemdRoot();
  const error = await t.throwsAsync(disableServices.run(context(root, 'systemd', ['coturn', 'turnserver'])));
  t.regex(error!.message, /gentoo-23\.0\.yaml: services-off names 'turnserver', but this systemd image has no such service \(no turnserver\.service unit/);
  t.regex(error!.message, /\{ service: turnserver, init: openrc \}/);
});

test('on Gentoo with systemd, a unit of ours in /etc/systemd/system is a service (jicofo: its Debian script is moved aside)', async (t) => {
  const root = await systemdRoot();
  // The check passes; what fails then is running systemctl in a root that has none.
  const error = await t.throwsAsync(disableServices.run({ ...context(root, 'systemd', ['jicofo', 'nginx']), signal: new AbortController().signal, verbose: false } as BuildContext));
  t.notRegex(error!.message, /no such service/);
});
