/**
 * The issue-2 checks of a built image, shared by test/integration/build-systemd.test.ts and
 * build-openrc.test.ts: per-instance state read from the tarball itself (node-tar), then one
 * boot in a fresh network namespace for what only a running image can show (init up, services
 * installed but not serving, login banner, clean stop within 10 s).
 */
import test from 'ava';
import { bootContainer, type Container } from '../../src/boot/index.js';
import { readTarball, type TarballContents } from '../../src/boot/tarball.js';
import { testImage, type TestImage, type TestInit } from './images.js';
import { createNetns } from './netns.js';

/** Ports nothing may listen on before the configurator ran: web, XMPP c2s, TURN. */
export const FORBIDDEN_PORTS = [80, 443, 5222, 5269, 5280, 3478, 5349];

/** Files whose content the checks read from the tarball. */
const READ_FILES = new Set(['etc/machine-id', 'etc/shadow', 'etc/hostname', 'etc/resolv.conf', 'etc/inittab', 'etc/motd', 'etc/issue']);

/** Listening TCP/UDP ports from /proc/net/{tcp,tcp6,udp,udp6} text. */
export function listeningPorts(procNet: Record<string, string>): Set<number> {
  const ports = new Set<number>();
  for (const [name, text] of Object.entries(procNet)) {
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 4) continue;
      const port = parseInt(fields[1].split(':').pop() ?? '', 16);
      // TCP: state 0A = LISTEN. UDP: state 07 = unconnected socket, i.e. bound and receiving.
      const listening = name.startsWith('tcp') ? fields[3] === '0A' : fields[3] === '07';
      if (listening && Number.isFinite(port)) ports.add(port);
    }
  }
  return ports;
}

/** Registers every image test for one init system; call once from a test file. */
export function registerImageTests(init: TestInit): void {
  let image: TestImage;
  let contents: TarballContents;
  let container: Container | undefined;
  let netnsDelete: (() => Promise<void>) | undefined;
  let stopped: { seconds: number; clean: boolean } | undefined;

  test.before(async () => {
    image = await testImage(init);
    contents = await readTarball(image.tarball, (path) => READ_FILES.has(path) || path.startsWith('etc/profile.d/'));
  });

  test.after.always(async () => {
    await container?.dispose();
    await netnsDelete?.();
  });

  const file = (path: string) => contents.contents.get(path)?.toString('utf8');
  const has = (path: string) => contents.entries.has(path);
  const matching = (pattern: RegExp) => [...contents.entries.keys()].filter((path) => pattern.test(path));

  test.serial(`${init}: the tarball carries no per-instance state`, (t) => {
    t.is(file('etc/machine-id')?.trim(), 'uninitialized', '/etc/machine-id must read "uninitialized" so first boot is detected');
    t.false(has('var/lib/dbus/machine-id') && contents.entries.get('var/lib/dbus/machine-id')!.type === 'File', 'no /var/lib/dbus/machine-id file');
    t.deepEqual(matching(/^etc\/ssh\/ssh_host_.*key/), [], 'no ssh host keys');
    t.deepEqual(matching(/(^|\/)random-seed$/), [], 'no random seed');
    t.deepEqual(matching(/^var\/lib\/systemd\/credential\.secret$/), [], 'no systemd credential secret');
    t.deepEqual(
      matching(/^var\/lib\/apt\/lists\/.+/).filter((p) => !/(^|\/)(lock|partial)$/.test(p)),
      [],
      'no apt lists',
    );
    t.deepEqual(matching(/^var\/cache\/apt\/.*\.bin$/), [], 'no apt caches');
    t.deepEqual(matching(/^etc\/ssl\/(private|certs)\/.*snakeoil/), [], 'no ssl-cert snakeoil key, cert or link');
  });

  test.serial(`${init}: no resolv.conf or hostname from the build host, root locked`, async (t) => {
    const { hostname } = await import('node:os');
    const hostResolv = await import('node:fs/promises').then((fs) => fs.readFile('/etc/resolv.conf', 'utf8').catch(() => ''));
    const imageHostname = file('etc/hostname')?.trim();
    t.not(imageHostname, hostname(), 'the build host name must not be in /etc/hostname');
    const imageResolv = file('etc/resolv.conf');
    if (imageResolv !== undefined && hostResolv.trim() !== '') {
      t.not(imageResolv.trim(), hostResolv.trim(), 'the build host resolv.conf must not be in the image');
    }
    t.false(/^nameserver\s/m.test(imageResolv ?? ''), 'no nameserver lines baked into /etc/resolv.conf');
    const rootLine = file('etc/shadow')?.split('\n').find((line) => line.startsWith('root:'));
    t.truthy(rootLine, '/etc/shadow has a root line');
    const hash = rootLine!.split(':')[1];
    t.true(hash.startsWith('!') || hash === '*', `root must be locked in /etc/shadow, password field is '${hash}'`);
  });

  test.serial(`${init}: the components are installed, and the .packages list says so`, async (t) => {
    const { readFile } = await import('node:fs/promises');
    const packages = new Map(
      (await readFile(image.packages, 'utf8'))
        .trim()
        .split('\n')
        .map((line) => line.split(' ') as [string, string]),
    );
    for (const name of ['nginx-light', 'prosody', 'coturn', 'openssl', 'ca-certificates', 'certbot', 'nodejs']) {
      const present = packages.has(name) || (name === 'nginx-light' && [...packages.keys()].some((p) => p.startsWith('nginx')));
      t.true(present, `${name} in ${image.packages}`);
    }
    t.true([...packages.keys()].some((p) => /^openjdk-\d+-jre-headless$/.test(p)), 'a headless JRE');
    if (init === 'systemd') t.true(packages.has('systemd-sysv') && packages.has('dbus'));
    else t.true(packages.has('openrc') && packages.has('sysvinit-core') && !packages.has('systemd-sysv'));
  });

  test.serial(`${init}: boots in its own network namespace and reaches its default target/runlevel`, async (t) => {
    const ns = await createNetns(`img-${init === 'systemd' ? 'sd' : 'rc'}`);
    netnsDelete = () => ns.delete();
    container = await bootContainer({ tarball: image.tarball, init, netns: ns.name, settingsFile: image.nspawn, log: () => {} });
    try {
      await container.waitUntilUp(180_000);
    } catch (error) {
      t.fail(`${(error as Error).message}\n${await container.logTail(40)}`);
      return;
    }
    if (init === 'systemd') {
      const state = (await container.exec(['systemctl', 'is-system-running'], { reject: false })).stdout.trim();
      const failed = (await container.exec(['systemctl', 'list-units', '--failed', '--plain', '--no-legend'], { reject: false })).stdout.trim();
      t.true(state === 'running' || state === 'degraded', `is-system-running: ${state}`);
      t.is(failed, '', `failed units:\n${failed}`);
      // Host network: the first boot's presets must not enable a network manager that has no
      // link of its own and whose wait-online would hold prosody for two minutes.
      for (const unit of ['systemd-networkd.service', 'systemd-networkd-wait-online.service']) {
        const enabled = (await container.exec(['systemctl', 'is-enabled', unit], { reject: false })).stdout.trim();
        t.is(enabled, 'disabled', `${unit} is ${enabled}`);
      }
    } else {
      const runlevel = (await container.exec(['rc-status', '--runlevel'])).stdout.trim();
      t.is(runlevel, 'default');
      const crashed = (await container.exec(['rc-status', '--crashed'], { reject: false })).stdout.trim();
      t.is(crashed, '', `crashed services: ${crashed}`);
      const sysv = (await container.exec(['runlevel'])).stdout.trim();
      t.regex(sysv, / 2$/, `sysvinit runlevel: ${sysv}`);
    }
  });

  test.serial(`${init}: nginx, prosody and coturn are installed but not running and not listening`, async (t) => {
    if (!container) return t.fail('the container did not boot');
    for (const binary of ['/usr/sbin/nginx', '/usr/bin/prosody', '/usr/bin/turnserver']) {
      t.is((await container.exec(['test', '-x', binary], { reject: false })).exitCode, 0, `${binary} installed`);
    }
    const procNet: Record<string, string> = {};
    for (const name of ['tcp', 'tcp6', 'udp', 'udp6']) {
      procNet[name] = (await container.exec(['cat', `/proc/net/${name}`], { reject: false })).stdout;
    }
    const open = [...listeningPorts(procNet)].filter((port) => FORBIDDEN_PORTS.includes(port));
    t.deepEqual(open, [], `ports open before configuration: ${open.join(', ')}`);
    // Process names from inside the container's PID namespace.
    const comms = (await container.exec(['sh', '-c', 'cat /proc/[0-9]*/comm 2>/dev/null'], { reject: false })).stdout.split('\n');
    const serving = comms.filter((name) => /^(nginx|prosody|lua5\.\d|turnserver)$/.test(name.trim()));
    t.deepEqual(serving, [], 'no service process running');
    if (init === 'systemd') {
      for (const unit of ['nginx', 'prosody', 'coturn']) {
        const enabled = (await container.exec(['systemctl', 'is-enabled', unit], { reject: false })).stdout.trim();
        t.not(enabled, 'enabled', `${unit} must not be enabled before configuration`);
        t.not(enabled, 'masked', `${unit} must not be masked: the configurator enables it`);
      }
    } else {
      const runlevels = (await container.exec(['sh', '-c', 'ls /etc/runlevels/*'])).stdout.split(/\s+/);
      for (const service of ['nginx', 'prosody', 'coturn']) t.false(runlevels.includes(service), `${service} must not be in an OpenRC runlevel`);
    }
  });

  test.serial(`${init}: the login banner says to run jitsi-meet-config`, async (t) => {
    if (!container) return t.fail('the container did not boot');
    // What a person sees on login: /etc/motd, /etc/issue, and what a login shell prints.
    const files = await container.exec(['sh', '-c', 'cat /etc/motd /etc/issue 2>/dev/null'], { reject: false });
    const loginShell = await container.exec(['bash', '-l', '-c', 'true'], { reject: false });
    const banner = [files.stdout, loginShell.stdout, loginShell.stderr].join('\n');
    t.regex(banner, /jitsi-meet-config/, `login banner:\n${banner}`);
  });

  test.serial(`${init}: the OpenRC/systemd init acts on the stop signal of the .nspawn file`, async (t) => {
    if (!container) return t.fail('the container did not boot');
    const settings = await import('node:fs/promises').then((fs) => fs.readFile(image.nspawn, 'utf8'));
    const killSignal = settings.match(/^KillSignal=(\S+)$/m)?.[1];
    if (init === 'systemd') {
      t.is(killSignal, undefined, 'systemd images keep systemd-nspawn\'s default SIGRTMIN+3');
      return;
    }
    t.is(killSignal, 'SIGPWR');
    // A namespace's init gets only the signals it has a handler for: SIGPWR (30) and SIGINT (2,
    // `machinectl reboot`) must be caught, or stopping the container does nothing.
    const caught = BigInt(`0x${(await import('node:fs/promises').then((fs) => fs.readFile(`/proc/${container!.initPid}/status`, 'utf8'))).match(/^SigCgt:\s*([0-9a-f]+)$/m)![1]}`);
    t.true((caught & (1n << 29n)) !== 0n, 'init catches SIGPWR');
    t.true((caught & (1n << 1n)) !== 0n, 'init catches SIGINT');
    const inittab = file('etc/inittab') ?? '';
    t.regex(inittab, /^[^#:]+::powerfail:\/sbin\/shutdown .*-h/m, 'powerfail halts');
  });

  test.serial(`${init}: survives a stop and a second boot of the same rootfs`, async (t) => {
    if (!container) return t.fail('the container did not boot');
    const firstInit = container.initPid;
    await container.exec(['sh', '-c', 'echo kept > /root/reboot-marker']);
    await container.reboot(180_000);
    t.not(container.initPid, firstInit, 'a new init process');
    t.is((await container.exec(['cat', '/root/reboot-marker'])).stdout.trim(), 'kept', 'the rootfs is the same');
    if (init === 'systemd') {
      const machineId = (await container.exec(['cat', '/etc/machine-id'])).stdout.trim();
      t.regex(machineId, /^[0-9a-f]{32}$/, 'systemd gave this instance its own machine-id on first boot');
    }
  });

  test.serial(`${init}: stops cleanly within 10 s`, async (t) => {
    if (!container) return t.fail('the container did not boot');
    const initPid = container.initPid;
    stopped = await container.stop(30_000);
    t.true(stopped.clean, `stop was forced after ${stopped.seconds} s:\n${await container.logTail(30)}`);
    t.true(stopped.seconds < 10, `stop took ${stopped.seconds.toFixed(2)} s:\n${await container.logTail(30)}`);
    t.throws(() => process.kill(initPid, 0), undefined, 'the container init is gone');
    t.log(`${init} stopped in ${stopped.seconds.toFixed(2)} s`);
  });
}
