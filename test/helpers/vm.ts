/**
 * A throwaway virtual machine whose PID 1 is systemd, for tests of what an admin does on a
 * real systemd host (`machinectl pull-tar`, `machinectl start`, `enable`, ...). The machines
 * the tests run on do not boot systemd as PID 1 and have no usable KVM, so this is QEMU with
 * software emulation (TCG).
 *
 *   const vm = await bootVm({ httpPort });      // boots, waits until ssh answers
 *   t.teardown(() => vm.stop());
 *   const { stdout, exitCode } = await vm.ssh('machinectl list', { timeoutMs: 30_000 });
 *
 * The base image (Debian bookworm: kernel, systemd, systemd-container, gpg, ssh, curl, ...) is
 * built once with mmdebstrap and cached in .cache/test-vm/<key prefix>/ as a sparse raw ext4
 * file plus the kernel and initrd from its /boot and an ssh key pair made for it. The key is a
 * hash of this file's source text and the package list, so editing either builds a new one;
 * base images of other keys unused for two hours are removed. Two processes never build it at
 * once: the builder holds .cache/test-vm/build.lock (mkdir is atomic) with its PID inside.
 *
 * Each boot writes to its own qcow2 overlay over the raw base (the base stays pristine), which
 * is deleted by stop(). The serial console goes to a log file; stop({ keepLog: true }) keeps it
 * (under .cache/test-vm/logs/), and every error this helper throws ends with its last lines.
 *
 * Network: QEMU user networking with restrict=on, so the guest reaches nothing on the host or
 * beyond except what is forwarded: ssh from host 127.0.0.1:<free port> to the guest's port 22,
 * and, when `httpPort` is given, guest connections to 10.0.2.100:80 go to host
 * 127.0.0.1:<httpPort>. That forward runs `socat` per connection (QEMU's `guestfwd=...-cmd:`):
 * a guestfwd to a `tcp:` chardev serves only one connection, and systemd-pull opens several.
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { isolatedCommand } from '../../src/builder/program-args.js';
import { processExists } from '../../src/host/proc.js';
import { acquireLock, PROJECT_ROOT } from './images.js';

export const VM_CACHE_ROOT = join(PROJECT_ROOT, '.cache', 'test-vm');
const MIRROR = 'http://deb.debian.org/debian';
const SUITE = 'bookworm';
/**
 * What the VM needs to play a systemd host: its kernel (and kmod, initramfs-tools through it),
 * systemd as PID 1 with machined/importd/nspawn, D-Bus (machinectl talks to machined over it),
 * udev, gpg (systemd-pull runs it to check SHA256SUMS.gpg), sshd for the test to drive it,
 * curl for HTTPS checks, iproute2, e2fsprogs, and CA certificates.
 */
export const VM_PACKAGES = [
  'linux-image-amd64',
  'systemd-sysv',
  'systemd-container',
  'dbus',
  'udev',
  'gpg',
  'openssh-server',
  'curl',
  'iproute2',
  'e2fsprogs',
  'ca-certificates',
];
/** Sparse: room for two unpacked images (about 700 MB each), systemd-pull's cached copies and more. */
const DISK_SIZE = '8G';
/** The guest address whose port 80 is forwarded to the host's `httpPort` on 127.0.0.1. */
export const GUEST_HTTP_ADDRESS = '10.0.2.100';
const LOCK_WAIT_MS = 30 * 60_000;
const STALE_BASE_MS = 2 * 3600_000;
/** Booting under TCG takes under a minute here; this bounds a boot that hangs. */
const DEFAULT_BOOT_TIMEOUT_MS = 5 * 60_000;

export interface VmBase {
  dir: string;
  key: string;
  disk: string;
  kernel: string;
  initrd: string;
  /** Client private key whose public half is root's authorized key in the image. */
  sshKey: string;
  /** known_hosts line for the image's host key, under the alias `hostKeyAlias`. */
  knownHosts: string;
  hostKeyAlias: string;
}

export interface SshResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface SshOptions {
  /** Bound on the whole ssh call; the local ssh client is killed after it. Default 60 s. */
  timeoutMs?: number;
  /** Data for the remote command's standard input (default: none, like /dev/null). */
  input?: string | Uint8Array;
  /** `ssh -tt`: a pty for the remote command (its output then has \r\n, stderr merged in). */
  tty?: boolean;
}

export interface Vm {
  readonly base: VmBase;
  readonly sshPort: number;
  readonly serialLog: string;
  /** PID of the QEMU process. */
  readonly pid: number;
  /** Runs `command` through root's shell in the guest. Rejects only when ssh itself could not run or timed out. */
  ssh(command: string, options?: SshOptions): Promise<SshResult>;
  /** The last lines of the serial console. */
  serialTail(lines?: number): Promise<string>;
  /** Powers off (ssh), then kills QEMU by PID if it lingers; deletes the overlay. Safe to call twice. */
  stop(options?: { keepLog?: boolean }): Promise<{ keptLog?: string }>;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for `promise` at most `ms`; the timer is cleared, so it never keeps the process alive. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

function baseDir(key: string): string {
  return join(VM_CACHE_ROOT, key.slice(0, 16));
}

/** The cache key: this helper's own source text and the package list. */
async function baseKey(): Promise<string> {
  const source = await readFile(fileURLToPath(import.meta.url));
  return createHash('sha256').update(source).update('\0').update(VM_PACKAGES.join('\n')).update('\0').update(`${SUITE} ${MIRROR}`).digest('hex');
}

function basePaths(dir: string, key: string): VmBase {
  return {
    dir,
    key,
    disk: join(dir, 'rootfs.raw'),
    kernel: join(dir, 'vmlinuz'),
    initrd: join(dir, 'initrd.img'),
    sshKey: join(dir, 'id_ed25519'),
    knownHosts: join(dir, 'known_hosts'),
    hostKeyAlias: `njt-test-vm-${key.slice(0, 16)}`,
  };
}

async function readCachedBase(key: string): Promise<VmBase | undefined> {
  const dir = baseDir(key);
  if ((await readFile(join(dir, 'key'), 'utf8').catch(() => '')).trim() !== key) return undefined;
  const paths = basePaths(dir, key);
  for (const path of [paths.disk, paths.kernel, paths.initrd, paths.sshKey, paths.knownHosts]) {
    if (!(await stat(path).catch(() => undefined))) return undefined;
  }
  // Marks it as in use, for the pruning of stale ones.
  const now = new Date();
  await utimes(dir, now, now).catch(() => undefined);
  return paths;
}

async function pruneStaleBases(keep: string): Promise<void> {
  for (const entry of await readdir(VM_CACHE_ROOT).catch(() => [] as string[])) {
    if (!/^[0-9a-f]{16}$/.test(entry)) continue;
    const path = join(VM_CACHE_ROOT, entry);
    if (path === keep) continue;
    const info = await stat(path).catch(() => undefined);
    if (info?.isDirectory() && Date.now() - info.mtimeMs > STALE_BASE_MS) await rm(path, { recursive: true, force: true });
  }
}

async function run(file: string, args: string[], logFile: string, timeoutMs: number): Promise<void> {
  const log = { file: logFile, append: true };
  await writeFile(logFile, `$ ${file} ${args.join(' ')}\n`, { flag: 'a' });
  const result = await execa(file, args, { reject: false, stdout: log, stderr: log, stdin: 'ignore', timeout: timeoutMs });
  if (result.exitCode !== 0) {
    const tail = (await readFile(logFile, 'utf8').catch(() => '')).trimEnd().split('\n').slice(-25).join('\n');
    throw new Error(`${file} ${args.slice(0, 3).join(' ')} ... failed (${result.timedOut ? 'timed out' : `exit ${result.exitCode}`}); log ${logFile}:\n${tail}`);
  }
}

/** Builds the base into `staging` (see the file comment). */
async function buildBase(staging: string, key: string, logFile: string): Promise<void> {
  const paths = basePaths(staging, key);
  const rootfs = join(staging, 'rootfs');
  const hooks = [
    // The guest's network: DHCP from QEMU's user network on its virtio NIC.
    'chroot "$1" systemctl enable systemd-networkd.service',
    // Each overlay boots with machine-id "uninitialized" (a first boot): systemd-firstboot would
    // then prompt on the serial console for a locale and a root password and hold up the boot.
    'chroot "$1" systemctl mask systemd-firstboot.service',
  ];
  const command = isolatedCommand('mmdebstrap', [
    '--variant=minbase',
    '--format=directory',
    `--include=${VM_PACKAGES.join(',')}`,
    ...hooks.map((hook) => `--customize-hook=${hook}`),
    SUITE,
    rootfs,
    MIRROR,
  ]);
  // mmdebstrap runs in its own PID and mount namespaces (as the build does): no mount or
  // process of a package script outlives it.
  await run(command.file, command.args, logFile, 30 * 60_000);

  await writeFile(join(rootfs, 'etc/hostname'), 'njt-test-vm\n');
  await writeFile(join(rootfs, 'etc/hosts'), '127.0.0.1 localhost\n127.0.1.1 njt-test-vm\n::1 localhost ip6-localhost ip6-loopback\n');
  // mmdebstrap leaves the build host's resolv.conf; the guest has no DNS server to use.
  await rm(join(rootfs, 'etc/resolv.conf'), { force: true });
  await writeFile(join(rootfs, 'etc/resolv.conf'), '');
  await writeFile(join(rootfs, 'etc/machine-id'), 'uninitialized\n');
  await rm(join(rootfs, 'var/lib/dbus/machine-id'), { force: true });
  await mkdir(join(rootfs, 'etc/systemd/network'), { recursive: true });
  await writeFile(join(rootfs, 'etc/systemd/network/20-vm.network'), '[Match]\nType=ether\nKind=!*\n\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n');

  // ssh: a client key for root and a host key of our own (the package's were made on the
  // build host and would be the same in every VM anyway), pinned in known_hosts.
  for (const name of await readdir(join(rootfs, 'etc/ssh'))) {
    if (name.startsWith('ssh_host_')) await rm(join(rootfs, 'etc/ssh', name));
  }
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'njt-test-vm host', '-f', join(rootfs, 'etc/ssh/ssh_host_ed25519_key')]);
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'njt-test-vm client', '-f', paths.sshKey]);
  await mkdir(join(rootfs, 'etc/ssh/sshd_config.d'), { recursive: true });
  await writeFile(join(rootfs, 'etc/ssh/sshd_config.d/njt-test-vm.conf'), 'HostKey /etc/ssh/ssh_host_ed25519_key\nPasswordAuthentication no\nUseDNS no\n');
  await mkdir(join(rootfs, 'root/.ssh'), { recursive: true, mode: 0o700 });
  await chmod(join(rootfs, 'root/.ssh'), 0o700);
  await copyFile(`${paths.sshKey}.pub`, join(rootfs, 'root/.ssh/authorized_keys'));
  await chmod(join(rootfs, 'root/.ssh/authorized_keys'), 0o600);
  const hostPub = (await readFile(join(rootfs, 'etc/ssh/ssh_host_ed25519_key.pub'), 'utf8')).trim().split(' ').slice(0, 2).join(' ');
  await writeFile(paths.knownHosts, `${paths.hostKeyAlias} ${hostPub}\n`);

  const boot = await readdir(join(rootfs, 'boot'));
  const kernel = boot.find((name) => name.startsWith('vmlinuz-'));
  const initrd = boot.find((name) => name.startsWith('initrd.img-'));
  if (!kernel || !initrd) throw new Error(`no kernel or initrd in ${rootfs}/boot (${boot.join(', ')}); log ${logFile}`);
  await copyFile(join(rootfs, 'boot', kernel), paths.kernel);
  await copyFile(join(rootfs, 'boot', initrd), paths.initrd);

  await execa('truncate', ['-s', DISK_SIZE, paths.disk]);
  await run('mkfs.ext4', ['-q', '-F', '-L', 'njt-test-vm', '-d', rootfs, paths.disk], logFile, 10 * 60_000);
  await rm(rootfs, { recursive: true, force: true });
}

/** The cached base image, built on first use. `log` hears about a build. */
export async function vmBase(log: (line: string) => void = () => {}): Promise<VmBase> {
  const key = await baseKey();
  const cached = await readCachedBase(key);
  if (cached) return cached;
  await mkdir(VM_CACHE_ROOT, { recursive: true });
  const release = await acquireLock(join(VM_CACHE_ROOT, 'build.lock'), LOCK_WAIT_MS);
  try {
    const built = await readCachedBase(key);
    if (built) return built;
    const staging = join(VM_CACHE_ROOT, `building-${process.pid}`);
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true });
    const started = Date.now();
    log(`building the VM base image ${key.slice(0, 16)} (log ${join(VM_CACHE_ROOT, 'build.log')})`);
    try {
      await writeFile(join(VM_CACHE_ROOT, 'build.log'), '');
      await buildBase(staging, key, join(VM_CACHE_ROOT, 'build.log'));
      // The key goes in last: a directory without it is never taken for a finished base.
      await writeFile(join(staging, 'key'), `${key}\n`);
      const finalDir = baseDir(key);
      await rm(finalDir, { recursive: true, force: true });
      await rename(staging, finalDir);
      await pruneStaleBases(finalDir);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    log(`VM base image built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    const fresh = await readCachedBase(key);
    if (!fresh) throw new Error(`the VM base image vanished from ${VM_CACHE_ROOT} right after it was built`);
    return fresh;
  } finally {
    await release();
  }
}

/** A TCP port on 127.0.0.1 that is free right now (QEMU binds it a moment later). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('could not find a free port');
  return address.port;
}

async function tail(path: string, lines: number): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  // The console has escape sequences and \r from the kernel and systemd; keep the text.
  return text
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
    .replace(/\r/g, '')
    .trimEnd()
    .split('\n')
    .slice(-lines)
    .join('\n');
}

const RUN_ROOT = '/var/tmp';
const RUN_PREFIX = 'njt-test-vm-';
/** Kept serial logs older than this are deleted. */
const STALE_LOG_MS = 3 * 24 * 3600_000;

/**
 * Overlays (they grow to a few GB) of runs whose process died without cleaning up, and old
 * kept serial logs. A run's directory names its owner PID; its QEMU died with that owner.
 */
async function removeDeadRuns(): Promise<void> {
  for (const entry of await readdir(RUN_ROOT).catch(() => [] as string[])) {
    if (!entry.startsWith(RUN_PREFIX)) continue;
    const owner = Number((await readFile(join(RUN_ROOT, entry, 'owner'), 'utf8').catch(() => '')).trim());
    const age = Date.now() - ((await stat(join(RUN_ROOT, entry)).catch(() => undefined))?.mtimeMs ?? Date.now());
    if ((owner && !processExists(owner)) || (!owner && age > 3600_000)) await rm(join(RUN_ROOT, entry), { recursive: true, force: true });
  }
  const logs = join(VM_CACHE_ROOT, 'logs');
  for (const entry of await readdir(logs).catch(() => [] as string[])) {
    const info = await stat(join(logs, entry)).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > STALE_LOG_MS) await rm(join(logs, entry), { force: true });
  }
}

/** QEMU processes of this process still running, killed (by PID) when it exits however it exits. */
const liveQemu = new Map<number, string>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [pid, workDir] of liveQemu) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
      rmSync(workDir, { recursive: true, force: true });
    }
  });
}

export async function bootVm(options: { httpPort?: number; log?: (line: string) => void; bootTimeoutMs?: number } = {}): Promise<Vm> {
  const log = options.log ?? (() => {});
  const base = await vmBase(log);
  await removeDeadRuns();
  const workDir = await mkdtemp(join(RUN_ROOT, RUN_PREFIX));
  await writeFile(join(workDir, 'owner'), String(process.pid));
  const overlay = join(workDir, 'overlay.qcow2');
  const serialLog = join(workDir, 'serial.log');
  // The base stays pristine: every write of this boot lands in the overlay.
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', base.disk, overlay]);

  let qemu: ResultPromise | undefined;
  let sshPort = 0;
  let exited: Promise<unknown> | undefined;
  let hasExited = false;
  let qemuStderr = '';
  for (let attempt = 1; ; attempt++) {
    sshPort = await freePort();
    const netdev = [
      'user',
      'id=net0',
      // Isolated: the guest reaches only the forwards below, never the host's other services
      // or any address beyond it.
      'restrict=on',
      `hostfwd=tcp:127.0.0.1:${sshPort}-:22`,
      ...(options.httpPort ? [`guestfwd=tcp:${GUEST_HTTP_ADDRESS}:80-cmd:socat STDIO TCP:127.0.0.1:${options.httpPort}`] : []),
    ].join(',');
    const args = [
      '-accel', 'tcg',
      // All CPU features TCG can emulate: the JRE and Node.js in the images want more than qemu64's.
      '-cpu', 'max',
      '-smp', '2',
      '-m', '4096',
      '-nographic',
      '-monitor', 'none',
      '-serial', `file:${serialLog}`,
      '-kernel', base.kernel,
      '-initrd', base.initrd,
      // panic=-1 with -no-reboot: a kernel panic ends QEMU instead of hanging the test.
      '-append', 'root=/dev/vda rootfstype=ext4 rw console=ttyS0 panic=-1',
      '-no-reboot',
      '-drive', `file=${overlay},if=virtio,format=qcow2,cache=unsafe`,
      '-netdev', netdev,
      // romfile= : no iPXE option ROM (we boot a kernel directly, not from the network).
      '-device', 'virtio-net-pci,netdev=net0,romfile=',
    ];
    await writeFile(serialLog, '');
    // setpriv --pdeathsig: the kernel kills QEMU when this process dies, even by SIGKILL (an
    // ava timeout), when no exit handler here runs. setpriv execs QEMU, so the PID is QEMU's.
    qemu = execa('setpriv', ['--pdeathsig', 'SIGKILL', '--', 'qemu-system-x86_64', ...args], { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', buffer: true });
    qemu.stderr?.on('data', (chunk: Buffer) => (qemuStderr += chunk.toString()));
    const pid = qemu.pid;
    if (!pid) throw new Error(`qemu-system-x86_64 did not start: ${qemuStderr}`);
    hasExited = false;
    exited = qemu.then(() => {
      hasExited = true;
      liveQemu.delete(pid);
    });
    liveQemu.set(pid, workDir);
    installExitHook();
    await within(exited, 2_000);
    if (!hasExited) break;
    // Someone took the port between our check and QEMU's bind: try another.
    if (attempt < 3 && /hostfwd|forwarding rule|Address already in use/i.test(qemuStderr)) {
      qemuStderr = '';
      continue;
    }
    await rm(workDir, { recursive: true, force: true });
    throw new Error(`qemu-system-x86_64 exited at once: ${qemuStderr.trim()}`);
  }
  const pid = qemu!.pid!;
  log(`QEMU PID ${pid}: ssh on 127.0.0.1:${sshPort}, serial console in ${serialLog}`);

  const sshArgs = (tty: boolean) => [
    '-F', '/dev/null',
    '-i', base.sshKey,
    '-o', 'IdentitiesOnly=yes',
    '-o', 'BatchMode=yes',
    '-o', `UserKnownHostsFile=${base.knownHosts}`,
    '-o', `HostKeyAlias=${base.hostKeyAlias}`,
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'ConnectTimeout=10',
    '-o', 'ServerAliveInterval=15',
    '-o', 'LogLevel=ERROR',
    ...(tty ? ['-tt'] : ['-T']),
    '-p', String(sshPort),
    'root@127.0.0.1',
  ];

  const failure = async (message: string) => new Error(`${message}\n--- last lines of the VM's serial console (${serialLog}):\n${await tail(serialLog, 30)}`);

  let stopped: Promise<{ keptLog?: string }> | undefined;
  const vm: Vm = {
    base,
    sshPort,
    serialLog,
    pid,
    async ssh(command, sshOptions = {}) {
      if (hasExited) throw await failure(`the VM is not running (QEMU exited: ${qemuStderr.trim() || 'no message'}); cannot run: ${command}`);
      const timeoutMs = sshOptions.timeoutMs ?? 60_000;
      const result = await execa('ssh', [...sshArgs(sshOptions.tty ?? false), command], {
        reject: false,
        timeout: timeoutMs,
        ...(sshOptions.input !== undefined ? { input: sshOptions.input } : { stdin: 'ignore' as const }),
      });
      if (result.timedOut) throw await failure(`ssh to the VM: no result after ${timeoutMs / 1000} s for: ${command}`);
      const out = { stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? ''), exitCode: result.exitCode ?? -1 };
      // 255 is ssh's own failure (connection refused or lost, key refused).
      if (out.exitCode === 255 && /^(ssh|kex_exchange|Connection|client_loop)/m.test(out.stderr)) {
        throw await failure(`ssh to the VM failed: ${out.stderr.trim()} (command: ${command})`);
      }
      return out;
    },
    serialTail: (lines = 30) => tail(serialLog, lines),
    stop(stopOptions = {}) {
      stopped ??= (async () => {
        if (!hasExited) {
          // A clean shutdown first; the connection dropping under it is expected.
          await execa('ssh', [...sshArgs(false), 'systemctl poweroff'], { reject: false, timeout: 20_000, stdin: 'ignore' });
          await within(exited!, 60_000);
        }
        if (!hasExited) {
          log(`QEMU ${pid} still running 60 s after poweroff: killing it`);
          process.kill(pid, 'SIGKILL');
          await within(exited!, 10_000);
        }
        let keptLog: string | undefined;
        if (stopOptions.keepLog) {
          await mkdir(join(VM_CACHE_ROOT, 'logs'), { recursive: true });
          keptLog = join(VM_CACHE_ROOT, 'logs', `serial-${new Date().toISOString().replace(/[:.]/g, '-')}-${pid}.log`);
          await copyFile(serialLog, keptLog).catch(() => (keptLog = undefined));
        }
        if (hasExited) await rm(workDir, { recursive: true, force: true });
        return { keptLog };
      })();
      return stopped;
    },
  };

  // Wait until sshd answers (bounded), or QEMU gives up.
  const bootStarted = Date.now();
  const deadline = bootStarted + (options.bootTimeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS);
  for (;;) {
    if (hasExited) {
      const error = await failure(`the VM stopped while booting (QEMU: ${qemuStderr.trim() || 'no message'})`);
      await vm.stop();
      throw error;
    }
    const probe = await execa('ssh', [...sshArgs(false), 'systemctl is-system-running --wait >/dev/null; true'], { reject: false, timeout: 120_000, stdin: 'ignore' });
    if (probe.exitCode === 0) break;
    if (Date.now() > deadline) {
      const error = await failure(`the VM did not answer ssh within ${(Date.now() - bootStarted) / 1000} s (last: ${String(probe.stderr).trim()})`);
      await vm.stop({ keepLog: true });
      throw error;
    }
    await delay(3_000);
  }
  log(`VM up (ssh answers, systemd finished booting) ${((Date.now() - bootStarted) / 1000).toFixed(1)} s after QEMU started`);
  return vm;
}
