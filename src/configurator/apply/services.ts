/**
 * Bringing the server up through the one `jitsi-meet-server` unit/service (a systemd target,
 * an OpenRC service; both ship in overlays/) and restarting only the services whose inputs
 * changed on this run.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../../lib/errors.js';

export type ServiceInit = 'systemd' | 'openrc';

export interface Service {
  /** systemd unit base name and OpenRC/sysv script name (they agree on Debian). */
  name: string;
  /** Reload instead of restart: nginx picks up new config and certificates without dropping connections. */
  reload?: boolean;
  /** Absolute path prefixes (inside the image) whose change means this service must restart. */
  reads: readonly string[];
}

export const TARGET = 'jitsi-meet-server';

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export async function isInstalled(root: string, init: ServiceInit, service: string): Promise<boolean> {
  if (init === 'openrc') return exists(join(root, 'etc/init.d', service));
  for (const dir of ['etc/systemd/system', 'usr/lib/systemd/system', 'lib/systemd/system']) {
    if (await exists(join(root, dir, `${service}.service`))) return true;
  }
  return false;
}

/** Services among `services` whose inputs are among `changedPaths`. */
export function affectedServices(services: readonly Service[], changedPaths: readonly string[]): Service[] {
  return services.filter((service) =>
    changedPaths.some((path) => service.reads.some((prefix) => (prefix.endsWith('/') ? path.startsWith(prefix) : path === prefix))),
  );
}

async function isRunning(init: ServiceInit, service: string): Promise<boolean> {
  const result =
    init === 'systemd'
      ? await execa('systemctl', ['is-active', '--quiet', `${service}.service`], { reject: false, stdin: 'ignore' })
      : await execa('rc-service', [service, 'status'], { reject: false, stdin: 'ignore' });
  return result.exitCode === 0;
}

/**
 * Restarts (or reloads) the running services among `restart`, enables `jitsi-meet-server`
 * at boot and starts it, which starts whatever is not running yet. Fails with the names of
 * services that are not running afterwards and where to look.
 */
export async function bringUp(
  init: ServiceInit,
  installed: readonly Service[],
  restart: readonly Service[],
  log: (line: string) => void,
): Promise<string[]> {
  const restarted: string[] = [];
  for (const service of restart) {
    if (!(await isRunning(init, service.name))) continue;
    const action = service.reload ? 'reload' : 'restart';
    log(`${action} ${service.name}`);
    if (init === 'systemd') {
      await execa('systemctl', [service.reload ? 'reload-or-restart' : 'restart', `${service.name}.service`], { stdin: 'ignore' });
    } else {
      await execa('rc-service', [service.name, action], { stdin: 'ignore' });
    }
    restarted.push(service.name);
  }
  if (init === 'systemd') {
    await execa('systemctl', ['daemon-reload'], { stdin: 'ignore' });
    await execa('systemctl', ['enable', '--quiet', `${TARGET}.target`], { stdin: 'ignore' });
    await execa('systemctl', ['start', `${TARGET}.target`], { stdin: 'ignore' });
  } else {
    await execa('rc-update', ['add', TARGET, 'default'], { stdin: 'ignore', reject: false });
    await execa('rc-service', [TARGET, 'start'], { stdin: 'ignore' });
  }
  const notRunning: string[] = [];
  for (const service of installed) if (!(await isRunning(init, service.name))) notRunning.push(service.name);
  if (notRunning.length > 0) {
    const where =
      init === 'systemd'
        ? notRunning.map((name) => `journalctl -u ${name}`).join(', ')
        : notRunning.map((name) => `rc-service ${name} status and /var/log/`).join(', ');
    throw new UserError(`not running after configuration: ${notRunning.join(', ')}; look at ${where}`);
  }
  return restarted;
}
