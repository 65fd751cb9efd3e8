/**
 * disable-services: leaves the recipe's `services-off` (nginx, prosody, coturn) installed but
 * not started at boot, so nothing serves before `jitsi-meet-config` has written a
 * configuration; the configurator enables them.
 *
 * systemd: `systemctl disable` in the image (not `mask`: the configurator must be able to
 * enable them) and a preset file saying `disable`, because systemd applies presets on the
 * first boot of an image whose machine-id is `uninitialized`. OpenRC: `update-rc.d NAME
 * disable`, which takes the service out of every runlevel and keeps it out on upgrades.
 * Afterwards the stage checks that no service is still wired to start.
 */
import { access, mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runLogged } from '../run-program.js';
import type { InitSystem } from '../../lib/init-systems.js';
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
      // Under systemd a service may be a unit or only a sysv script (jicofo), which systemd
      // runs through its generated unit.
      const installed =
        (ctx.init === 'systemd' &&
          ((await exists(join(ctx.rootfs, 'lib/systemd/system', unitName(service)))) ||
            (await exists(join(ctx.rootfs, 'usr/lib/systemd/system', unitName(service)))))) ||
        (await exists(join(ctx.rootfs, 'etc/init.d', service)));
      if (!installed) throw new Error(`services-off names '${service}', but the image has no such service; fix the recipe's package list or services-off`);
    }
    if (ctx.init === 'systemd') {
      await runLogged(ctx, 'chroot', [ctx.rootfs, 'systemctl', 'disable', ...services.map(unitName)]);
      await mkdir(join(ctx.rootfs, 'usr/lib/systemd/system-preset'), { recursive: true });
      await writeFile(join(ctx.rootfs, PRESET_FILE), presetText(services));
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
