/**
 * disable-services: leaves the recipe's `services-off` (nginx, prosody, coturn) installed but
 * not started at boot, so nothing serves before `jitsi-meet-config` has written a
 * configuration; the configurator enables them.
 *
 * systemd: `systemctl disable` in the image (not `mask`: the configurator must be able to
 * enable them) and a preset file saying `disable`, because systemd applies presets on the
 * first boot of an image whose machine-id is `uninitialized` (Debian's and Gentoo's systemd
 * both read presets from /usr/lib/systemd/system-preset). OpenRC on Debian: `update-rc.d NAME
 * disable`, which takes the service out of every runlevel and keeps it out on upgrades.
 * OpenRC on Gentoo, which has no update-rc.d: the service's links leave every
 * /etc/runlevels/<level>/, what `rc-update del` does; portage never adds a service to a
 * runlevel, so it stays out on upgrades.
 * Every service named must exist for the image's init system; afterwards the stage checks
 * that none is still wired to start.
 */
import { access, lstat, mkdir, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../lib/errors.js';
import { runLogged } from '../run-program.js';
import type { InitSystem } from '../../lib/init-systems.js';
import type { RecipeDistro } from '../recipe/schema.js';
import type { BuildContext, Stage } from '../stage.js';

export const PRESET_FILE = 'usr/lib/systemd/system-preset/10-nspawn-jitsi-meet.preset';

export function presetText(services: string[]): string {
  return [
    '# nspawn-jitsi-meet: these serve only after jitsi-meet-config wrote a configuration;',
    '# it enables them. Without this, first boot (machine-id "uninitialized") would enable them.',
    ...services.map((service) => `disable ${unitName(service)}`),
    '',
  ].join('\n');
}

function unitName(service: string): string {
  return /\.[a-z]+$/.test(service) ? service : `${service}.service`;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Paths in the image that would still start `service` at boot, relative to the rootfs. */
export async function startLinks(rootfs: string, init: InitSystem, service: string): Promise<string[]> {
  const found: string[] = [];
  const scan = async (dir: string, matches: (name: string, target: string) => boolean) => {
    for (const sub of await readdir(join(rootfs, dir)).catch(() => [] as string[])) {
      const subdir = join(dir, sub);
      for (const name of await readdir(join(rootfs, subdir)).catch(() => [] as string[])) {
        const target = await readlink(join(rootfs, subdir, name)).catch(() => '');
        if (matches(name, target)) found.push(join(subdir, name));
      }
    }
  };
  if (init === 'systemd') {
    const unit = unitName(service);
    await scan('etc/systemd/system', (name, target) => name === unit && !target.startsWith('/dev/null'));
    // A service with only a sysv script: systemd's sysv generator starts it when a runlevel
    // directory has its S link. A native unit of the same name (ours for jicofo) hides the
    // script from the generator, so then only the unit's links count.
    const native = await Promise.all(['etc/systemd/system', 'lib/systemd/system', 'usr/lib/systemd/system'].map((dir) => exists(join(rootfs, dir, unit))));
    if (!native.includes(true)) for (const level of ['2', '3', '4', '5']) {
      for (const name of await readdir(join(rootfs, `etc/rc${level}.d`)).catch(() => [] as string[])) {
        if (/^S\d\d/.test(name) && name.slice(3) === service) found.push(`etc/rc${level}.d/${name}`);
      }
    }
  } else {
    await scan('etc/runlevels', (name) => name === service);
  }
  return found;
}

/** Where a distribution's systemd finds units: the admin's, then the packages' (Debian's unmerged /lib too). */
const UNIT_DIRS = ['etc/systemd/system', 'lib/systemd/system', 'usr/lib/systemd/system'];

/**
 * Whether the root has `service` for `init`. Under systemd a service is a unit, or on Debian
 * also a sysv script alone (jicofo's), which systemd runs through its sysv generator; Gentoo
 * builds systemd without SysV compatibility, so there the OpenRC scripts its ebuilds install
 * whatever the init system are no services. Under OpenRC it is a script in /etc/init.d.
 */
export async function hasService(rootfs: string, init: InitSystem, distro: RecipeDistro, service: string): Promise<boolean> {
  if (init === 'systemd') {
    for (const dir of UNIT_DIRS) if (await exists(join(rootfs, dir, unitName(service)))) return true;
    if (distro === 'gentoo') return false;
  }
  return exists(join(rootfs, 'etc/init.d', service));
}

/** What `hasService` looked for, for the error. */
function missingWhat(init: InitSystem, distro: RecipeDistro, service: string): string {
  if (init === 'openrc') return `no /etc/init.d/${service}`;
  return distro === 'gentoo' ? `no ${unitName(service)} unit; Gentoo's systemd does not run /etc/init.d scripts` : `no ${unitName(service)} unit or /etc/init.d/${service}`;
}

/**
 * Takes `service` out of every OpenRC runlevel of a Gentoo root, as `rc-update del` does: its
 * link in each /etc/runlevels/<level>/ goes. Only links: anything else there is not what
 * rc-update makes, and the stage's final check reports it. Returns the links removed.
 */
export async function removeFromRunlevels(rootfs: string, service: string): Promise<string[]> {
  const removed: string[] = [];
  for (const level of await readdir(join(rootfs, 'etc/runlevels')).catch(() => [] as string[])) {
    const link = join('etc/runlevels', level, service);
    const stats = await lstat(join(rootfs, link)).catch(() => undefined);
    if (!stats?.isSymbolicLink()) continue;
    await rm(join(rootfs, link));
    removed.push(link);
  }
  return removed;
}

/** The recipe's services-off, and those of Jitsi's packages when the build installs them. */
export function servicesOff(ctx: Pick<BuildContext, 'recipe' | 'jitsi'>): string[] {
  return [...new Set([...ctx.recipe.servicesOff, ...(ctx.jitsi?.servicesOff ?? [])])];
}

export const disableServices: Stage = {
  name: 'disable-services',
  title: 'Keep services off until configured',
  skip: (ctx) => (servicesOff(ctx).length === 0 ? 'the recipe lists no services-off' : undefined),
  async run(ctx: BuildContext) {
    const services = servicesOff(ctx);
    for (const service of services) {
      if (!(await hasService(ctx.rootfs, ctx.init, ctx.recipe.distro, service))) {
        // A name that exists for one init system only (coturn's OpenRC script is turnserver) is
        // limited to it in the recipe; the jitsi section's list has no such filter.
        const key = ctx.recipe.servicesOff.includes(service) ? 'services-off' : 'jitsi.services-off';
        const limit = key === 'services-off' ? `, or limit the entry to the init system that has it ({ service: ${service}, init: ${ctx.init === 'openrc' ? 'systemd' : 'openrc'} })` : '';
        throw new UserError(
          `${ctx.recipe.file}: ${key} names '${service}', but this ${ctx.init} image has no such service (${missingWhat(ctx.init, ctx.recipe.distro, service)}); fix the recipe's packages or ${key}${limit}`,
        );
      }
    }
    if (ctx.init === 'systemd') {
      await runLogged(ctx, 'chroot', [ctx.rootfs, 'systemctl', 'disable', ...services.map(unitName)]);
      await mkdir(join(ctx.rootfs, 'usr/lib/systemd/system-preset'), { recursive: true });
      await writeFile(join(ctx.rootfs, PRESET_FILE), presetText(services));
    } else if (ctx.recipe.distro === 'gentoo') {
      for (const service of services) {
        const removed = await removeFromRunlevels(ctx.rootfs, service);
        if (removed.length) ctx.log(`${service}: removed ${removed.join(', ')}`);
      }
    } else {
      for (const service of services) {
        // update-rc.d manages scripts with an LSB header (Debian's). A native OpenRC script
        // without one (ours for the bridge) is in no runlevel unless someone added it: off.
        const script = await readFile(join(ctx.rootfs, 'etc/init.d', service), 'utf8');
        if (!script.includes('### BEGIN INIT INFO') && (await startLinks(ctx.rootfs, ctx.init, service)).length === 0) continue;
        await runLogged(ctx, 'chroot', [ctx.rootfs, 'update-rc.d', service, 'disable']);
      }
    }
    for (const service of services) {
      const left = await startLinks(ctx.rootfs, ctx.init, service);
      if (left.length) throw new Error(`${service} is still enabled after disabling it: ${left.join(', ')}`);
    }
    ctx.log(`installed, not enabled: ${services.join(', ')}`);
  },
};
