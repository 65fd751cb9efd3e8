/**
 * Bringing the server up through the one `jitsi-meet-server` unit/service (a systemd target,
 * an OpenRC service; both ship in overlays/) and restarting only the services whose inputs
 * changed on this run.
 */
import { access, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { InitSystem } from '../../lib/init-systems.js';
import { UserError } from '../../lib/errors.js';
import type { PlannedService } from '../components/types.js';


/** The main server's unit (a systemd target, an OpenRC service). */
export const TARGET = 'jitsi-meet-server';

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Whether the init system can run `service`: its script or unit, and its `program` when given, exist. */
export async function isInstalled(root: string, init: InitSystem, service: string, program?: string): Promise<boolean> {
  if (program !== undefined && !(await exists(join(root, program)))) return false;
  if (init === 'openrc') return exists(join(root, 'etc/init.d', service));
  for (const dir of ['etc/systemd/system', 'usr/lib/systemd/system', 'lib/systemd/system']) {
    if (await exists(join(root, dir, `${service}.service`))) return true;
  }
  // A package that ships only a sysv script (jicofo): systemd-sysv-generator makes its unit at boot.
  return exists(join(root, 'etc/init.d', service));
}

/** Services among `services` whose inputs are among `changedPaths`. */
export function affectedServices(services: readonly PlannedService[], changedPaths: readonly string[]): PlannedService[] {
  return services.filter((service) =>
    changedPaths.some((path) => service.reads.some((prefix) => (prefix.endsWith('/') ? path.startsWith(prefix) : path === prefix))),
  );
}

async function isRunning(init: InitSystem, service: string): Promise<boolean> {
  const result =
    init === 'systemd'
      ? await execa('systemctl', ['is-active', '--quiet', `${service}.service`], { reject: false, stdin: 'ignore' })
      : await execa('rc-service', [service, 'status'], { reject: false, stdin: 'ignore' });
  return result.exitCode === 0;
}

/** How long to wait for the container's boot to finish before starting services anyway. */
const BOOT_WAIT_MS = 180_000;

/**
 * Whether OpenRC under `root` has finished entering its default runlevel: the soft level is
 * `default` and no runlevel change is under way (OpenRC's rc.starting/rc.stopping markers).
 */
export async function openrcBooted(root: string): Promise<boolean> {
  const softlevel = (await readFile(join(root, 'run/openrc/softlevel'), 'utf8').catch(() => '')).trim();
  if (softlevel !== 'default') return false;
  for (const marker of ['rc.starting', 'rc.stopping']) if (await exists(join(root, 'run/openrc', marker))) return false;
  // sysvinit's `rc 2` execs `openrc default`: while either runs, the runlevel is still changing.
  for (const entry of await readdir(join(root, 'proc')).catch(() => [] as string[])) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const argv = (await readFile(join(root, 'proc', entry, 'cmdline'), 'utf8').catch(() => '')).split('\0');
    if (argv[0]?.split('/').pop() === 'openrc' || (argv[1] === '/etc/init.d/rc' && argv.length > 2 && argv[2] !== '')) return false;
  }
  return true;
}

/**
 * Waits until the init has finished booting. The admin may run the configurator right after
 * `machinectl start` (a script does; OpenRC images report "started" at once): working while the
 * init is still booting races with it (its boot cleans /tmp under update-ca-certificates, and
 * starts or stops services under us). The apply step calls this before it changes anything.
 */
export async function waitForBoot(init: InitSystem, log: (line: string) => void): Promise<void> {
  if (init === 'systemd') {
    // Prints the state and returns once startup finished; a degraded or failed boot is reported by bringUp.
    await execa('systemctl', ['is-system-running', '--wait'], { stdin: 'ignore', reject: false, timeout: BOOT_WAIT_MS });
    return;
  }
  const deadline = Date.now() + BOOT_WAIT_MS;
  let said = false;
  while (!(await openrcBooted('/')) && Date.now() < deadline) {
    if (!said) log('waiting for OpenRC to finish booting');
    said = true;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Where an admin reads why a service failed. */
export function whereToLook(init: InitSystem, name: string): string {
  const nginxCheck = name === 'nginx' ? '`nginx -t` and ' : '';
  return init === 'systemd' ? `${nginxCheck}journalctl -u ${name}` : `${nginxCheck}rc-service ${name} status and /var/log/`;
}

/**
 * Runs an init-system command for `name`; a failure (nginx refusing a reload, a unit that
 * will not start) is a UserError with the command's last words and where to look, not a trace.
 */
export async function serviceCommand(init: InitSystem, name: string, program: string, args: string[]): Promise<void> {
  const result = await execa(program, args, { stdin: 'ignore', reject: false, all: true });
  if (result.exitCode === 0) return;
  const said = String(result.all ?? '').trim().split('\n').slice(-3).join(' / ') || 'no output';
  const command = [program, ...args].join(' ');
  throw new UserError(`\`${command}\` failed (exit ${result.exitCode ?? result.signal}): ${said}; look at ${whereToLook(init, name)}, then run jitsi-meet-config again`);
}

/**
 * How long services may take to be running after they were started: a service that logs in to
 * prosody at start may find it not listening yet (its unit only orders it after prosody's start)
 * and is started again by its init a few seconds later.
 */
const SETTLE_MS = 20_000;

/** The services among `services` that are still not running after up to `settleMs`. */
async function notRunningAfter(init: InitSystem, services: readonly PlannedService[], settleMs: number): Promise<string[]> {
  const deadline = Date.now() + settleMs;
  for (;;) {
    const notRunning: string[] = [];
    for (const service of services) if (!(await isRunning(init, service.name))) notRunning.push(service.name);
    if (notRunning.length === 0 || Date.now() >= deadline) return notRunning;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/**
 * Restarts (or reloads) the running services among `restart`, enables `unit` (the plan's
 * `jitsi-meet-server` or `jitsi-meet-bridge`) at boot and starts it, which starts whatever is
 * not running yet. Fails with the names of
 * services that are not running afterwards and where to look.
 */
export async function bringUp(
  init: InitSystem,
  unit: string,
  installed: readonly PlannedService[],
  restart: readonly PlannedService[],
  log: (line: string) => void,
): Promise<string[]> {
  const restarted: string[] = [];
  for (const service of restart) {
    if (!(await isRunning(init, service.name))) continue;
    const action = service.reload ? 'reload' : 'restart';
    log(`${action} ${service.name}`);
    if (init === 'systemd') {
      await serviceCommand(init, service.name, 'systemctl', [service.reload ? 'reload-or-restart' : 'restart', `${service.name}.service`]);
    } else if (service.openrcRestart && !service.reload) {
      await serviceCommand(init, service.name, service.openrcRestart[0]!, service.openrcRestart.slice(1));
    } else {
      await serviceCommand(init, service.name, 'rc-service', [service.name, action]);
    }
    restarted.push(service.name);
  }
  if (init === 'systemd') {
    await serviceCommand(init, unit, 'systemctl', ['daemon-reload']);
    await serviceCommand(init, unit, 'systemctl', ['enable', '--quiet', `${unit}.target`]);
    await serviceCommand(init, unit, 'systemctl', ['start', `${unit}.target`]);
  } else {
    await execa('rc-update', ['add', unit, 'default'], { stdin: 'ignore', reject: false });
    await serviceCommand(init, unit, 'rc-service', [unit, 'start']);
    // Unlike systemd, OpenRC does not start a service that it still counts as started but
    // whose daemon died (crashed, or failed on an earlier run): restart exactly those.
    for (const service of installed) {
      if (await isRunning(init, service.name)) continue;
      log(`restart ${service.name} (it was not running)`);
      await execa('rc-service', [service.name, 'restart'], { stdin: 'ignore', reject: false });
      if (!restarted.includes(service.name)) restarted.push(service.name);
    }
  }
  const notRunning = await notRunningAfter(init, installed, SETTLE_MS);
  if (notRunning.length > 0) {
    const where = notRunning.map((name) => whereToLook(init, name)).join(', ');
    throw new UserError(`not running after configuration: ${notRunning.join(', ')}; look at ${where}`);
  }
  return restarted;
}
