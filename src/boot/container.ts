/**
 * Boots a rootfs (a tarball or a directory) under systemd-nspawn and controls it from the host:
 * run commands inside, wait until its init is up, stop it cleanly, reboot it, throw it away.
 *
 * Written for build and test machines whose PID 1 is not systemd: systemd-nspawn runs with
 * `--register=no --keep-unit` (no machined, no scope unit) and the container is found and
 * controlled by PID. Commands run inside through `nsenter` into the namespaces of the container's
 * init, with a clean environment (the host's variables never leak in). Such commands stay in
 * our cgroup, not the container's: systemd inside does not track them, but they end with the
 * container all the same, because the kernel ends every process of a PID namespace with its
 * init.
 *
 * The container console goes to a log file (`logFile`), each line stamped with seconds since
 * the boot started; it is kept when a boot or a stop goes wrong, removed by `dispose()`
 * otherwise.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, rmSync, type WriteStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { UserError } from '../lib/errors.js';
import { requireHostTools } from '../host/tools.js';
import { architectureFromDpkgStatus } from '../image/architecture.js';
import { KILL_SIGNAL } from '../image/settings-file.js';
import { hostArchitecture } from '../host/tools.js';
import { credentialsDropIn, EMULATION_DROP_IN, unitsWithCredentials } from './emulated-credentials.js';
import { hostSignalForEmulatedGuest } from './emulated-signals.js';
import type { InitSystem } from '../lib/init-systems.js';
import { findNamespaceInitChild, holdPidNamespace, isAlive, pidsInNamespace, type HeldPidNamespace } from '../host/proc.js';


export interface BootOptions {
  /** Rootfs tarball (xz, zstd or plain), unpacked with GNU tar into a fresh directory under /var/tmp. */
  tarball?: string;
  /** An already unpacked rootfs, booted in place (and never removed). */
  directory?: string;
  init: InitSystem;
  /** Network namespace name under /run/netns; without one the container shares the host's network. */
  netns?: string;
  /**
   * A `.nspawn` settings file (the one shipped beside the tarball). It is installed as
   * /run/systemd/nspawn/<machineName>.nspawn for the life of the container, where all its
   * settings take effect. Without one, only the init's stop signal is set on the command line.
   */
  settingsFile?: string;
  /** Container name (hostname-like). A unique `nj-<random>` when not given. */
  machineName?: string;
  /** Host paths bound read-only into the container: `PATH` (same place) or `HOST:CONTAINER`. */
  bindRo?: string[];
  /** Receives every console line as it arrives (they also go to the log file). */
  log?: (line: string) => void;
  /**
   * The image's Debian architecture; default: read from its dpkg database. Another than the
   * host's boots under qemu-user emulation, and is stopped with the signal that arrives as
   * the init's stop signal through qemu (emulated-signals.ts).
   */
  architecture?: string;
}

export interface ExecOptions {
  input?: string;
  /** Extra environment; PATH, HOME, LANG and TERM are set to container defaults. */
  env?: Record<string, string>;
  /** Default 60 s. */
  timeoutMs?: number;
  /** Throw on a non-zero exit (default true); false returns the exit code instead. */
  reject?: boolean;
  /** Connect the command to our own stdin/stdout/stderr (the `run` CLI); the result strings are then empty. */
  inheritStdio?: boolean;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface StopResult {
  /** From the stop request to the exit of systemd-nspawn. */
  seconds: number;
  /** The container halted by itself within the timeout (systemd-nspawn exited 0). */
  clean: boolean;
}

export interface Container {
  readonly rootfs: string;
  readonly machineName: string;
  /** Console log of the container (all boots of it). */
  readonly logFile: string;
  /** PID (host view) of the running systemd-nspawn; changes on reboot. */
  readonly nspawnPid: number;
  /** PID (host view) of the container's init, PID 1 inside; changes on reboot. */
  readonly initPid: number;
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** systemd: is-system-running says running or degraded. OpenRC: the default runlevel is fully started. */
  waitUntilUp(timeoutMs?: number): Promise<void>;
  /** Stop, then boot again on the same rootfs, and wait until up. */
  reboot(timeoutMs?: number): Promise<void>;
  /**
   * Asks the container to halt the way systemd does (SIGTERM to systemd-nspawn, which sends the
   * container's KillSignal to its init) and waits up to `timeoutMs` (default 30 s). After that it
   * kills by PID. Always returns with nothing of the container running.
   */
  stop(timeoutMs?: number): Promise<StopResult>;
  /**
   * Stop if running, remove the unpacked rootfs, the installed settings file and the log. The
   * log is kept (its path is `logFile`) with `keepLog`, or when a stop was forced or the
   * container ended by itself.
   */
  dispose(options?: { keepLog?: boolean }): Promise<void>;
  /** The last `lines` lines of the console log, for error messages. */
  logTail(lines?: number): Promise<string>;
}

/** PATH inside the container for commands we run there. */
const CONTAINER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const NSPAWN_SETTINGS_DIR = '/run/systemd/nspawn';
const WORK_ROOT = '/var/tmp';
const MACHINE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}$/;

/** Containers of this process still running: killed by PID if the process exits without stopping them. */
const running = new Set<ContainerImpl>();
/** Containers not yet disposed: their files are removed if the process exits first. */
const undisposed = new Set<ContainerImpl>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const container of running) {
      // Synchronous last resort: killing the namespace's init makes the kernel end every process in it.
      try {
        process.kill(container.initPid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const container of undisposed) container.removeFilesSync();
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function bootContainer(options: BootOptions): Promise<Container> {
  if (!options.tarball === !options.directory) throw new UserError('boot: give exactly one of a tarball or a directory');
  if (options.init !== 'systemd' && options.init !== 'openrc') throw new UserError(`boot: unknown init system '${String(options.init)}'`);
  const machineName = options.machineName ?? `nj-${randomBytes(4).toString('hex')}`;
  if (!MACHINE_NAME.test(machineName)) {
    throw new UserError(`boot: machine name '${machineName}' is not valid: use letters, digits and '-', at most 63 characters`);
  }
  await requireHostTools(['systemd-nspawn', 'nsenter', 'tar']);
  if (options.netns) {
    const exists = await stat(join('/run/netns', options.netns)).catch(() => undefined);
    if (!exists) throw new UserError(`boot: network namespace '${options.netns}' does not exist; create it with: ip netns add ${options.netns}`);
  }
  if (options.settingsFile && !(await stat(options.settingsFile).catch(() => undefined))?.isFile()) {
    throw new UserError(`boot: settings file ${options.settingsFile} does not exist`);
  }
  if (options.tarball && !(await stat(options.tarball).catch(() => undefined))?.isFile()) {
    throw new UserError(`boot: tarball ${options.tarball} does not exist`);
  }
  if (options.directory && !(await stat(options.directory).catch(() => undefined))?.isDirectory()) {
    throw new UserError(`boot: directory ${options.directory} does not exist`);
  }

  const workDir = await mkdtemp(join(WORK_ROOT, `nspawn-jitsi-boot-${machineName}-`));
  const container = new ContainerImpl(options, machineName, workDir);
  try {
    await container.prepare();
    await container.start();
  } catch (error) {
    await container.dispose({ keepLog: true });
    const tail = await container.logTail(30).catch(() => '');
    const message = `boot of ${options.tarball ?? options.directory} failed: ${(error as Error).message}`;
    throw new UserError(tail ? `${message}\nconsole log ${container.logFile} ends with:\n${tail}` : message);
  }
  return container;
}

class ContainerImpl implements Container {
  readonly rootfs: string;
  readonly logFile: string;
  nspawnPid = 0;
  initPid = 0;
  private readonly ownsRootfs: boolean;
  private readonly settingsInstalled: string | undefined;
  private nspawn: ResultPromise | undefined;
  private exited: Promise<{ exitCode: number | undefined; at: number }> | undefined;
  private hasExited = true;
  /** Held open from boot until the last sweep, so its id cannot name another namespace meanwhile. */
  private heldNamespace: HeldPidNamespace | undefined;
  private get pidNamespace(): string | undefined {
    return this.heldNamespace?.id;
  }
  private logStream: WriteStream | undefined;
  private bootStartedAt = 0;
  private lastStop: StopResult = { seconds: 0, clean: true };
  private keepLog = false;
  private stopRequested = false;
  /** The image's init runs under qemu-user emulation (set by prepare()). */
  emulated = false;

  constructor(
    private readonly options: BootOptions,
    readonly machineName: string,
    private readonly workDir: string,
  ) {
    this.ownsRootfs = options.tarball !== undefined;
    this.rootfs = options.directory ?? join(workDir, 'rootfs');
    this.logFile = join(workDir, 'console.log');
    this.settingsInstalled = options.settingsFile ? join(NSPAWN_SETTINGS_DIR, `${machineName}.nspawn`) : undefined;
    undisposed.add(this);
    installExitHook();
  }

  /** Unpacks the tarball and installs the settings file. */
  async prepare(): Promise<void> {
    this.logStream = createWriteStream(this.logFile, { flags: 'a' });
    await mkdir(NSPAWN_SETTINGS_DIR, { recursive: true });
    if (this.settingsInstalled) await copyFile(this.options.settingsFile!, this.settingsInstalled);
    if (this.options.tarball) {
      await mkdir(this.rootfs, { mode: 0o755 });
      this.writeLog(`unpacking ${this.options.tarball}`);
      // GNU tar, not node-tar: keeps xattrs (file capabilities), device nodes and numeric owners.
      await execa('tar', [
        '--extract',
        `--file=${this.options.tarball}`,
        `--directory=${this.rootfs}`,
        '--numeric-owner',
        '--same-permissions',
        '--xattrs',
        '--xattrs-include=*',
      ]);
    }
    const architecture =
      this.options.architecture ?? architectureFromDpkgStatus(await readFile(join(this.rootfs, 'var/lib/dpkg/status'), 'utf8').catch(() => ''));
    const host = await hostArchitecture();
    this.emulated = architecture !== undefined && architecture !== host;
    if (this.emulated) {
      this.writeLog(`${architecture} image on a ${host} host: booting under qemu-user emulation`);
      // Only in our own unpacked copy: a directory the caller gave us is theirs.
      if (this.options.init === 'systemd' && this.ownsRootfs) await this.clearCredentialsForEmulation();
    }
  }

  /** Drop-ins for the units whose credentials qemu-user cannot set up (emulated-credentials.ts). */
  private async clearCredentialsForEmulation(): Promise<void> {
    const units = new Map<string, string>();
    for (const dir of ['usr/lib/systemd/system', 'lib/systemd/system']) {
      for (const name of await readdir(join(this.rootfs, dir)).catch(() => [] as string[])) {
        if (!units.has(name)) units.set(name, await readFile(join(this.rootfs, dir, name), 'utf8').catch(() => ''));
      }
    }
    const affected = unitsWithCredentials(units);
    for (const unit of affected) {
      const dropInDir = join(this.rootfs, 'etc/systemd/system', `${unit}.d`);
      await mkdir(dropInDir, { recursive: true });
      await writeFile(join(dropInDir, EMULATION_DROP_IN), credentialsDropIn());
    }
    this.writeLog(`credentials cleared for emulation (qemu-user cannot clone into a mount namespace): ${affected.join(', ') || 'no unit has any'}`);
  }

  private nspawnArgs(): string[] {
    const args = [
      '--boot',
      '--register=no',
      '--keep-unit',
      `--machine=${this.machineName}`,
      `--directory=${this.rootfs}`,
      // Console output copied to our stdout (the log); no input, no TTY needed on our side.
      '--console=read-only',
    ];
    if (this.options.netns) args.push(`--network-namespace-path=/run/netns/${this.options.netns}`);
    if (this.emulated) {
      // Overrides the settings file's KillSignal too: command-line settings win.
      args.push(`--kill-signal=${hostSignalForEmulatedGuest(KILL_SIGNAL[this.options.init])}`);
    } else if (!this.options.settingsFile) args.push(`--kill-signal=${KILL_SIGNAL[this.options.init]}`);
    for (const bind of this.options.bindRo ?? []) args.push(`--bind-ro=${bind}`);
    return args;
  }

  async start(): Promise<void> {
    this.bootStartedAt = Date.now();
    const args = this.nspawnArgs();
    this.writeLog(`systemd-nspawn ${args.join(' ')}`);
    // Own process group: a Ctrl-C in the terminal reaches us, and we stop the container in order.
    const child = execa('systemd-nspawn', args, {
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      detached: true,
      cleanup: false,
      env: { TERM: 'vt220', SYSTEMD_COLORS: '0' },
    });
    this.nspawn = child;
    this.hasExited = false;
    this.nspawnPid = child.pid ?? 0;
    this.initPid = 0;
    for (const stream of [child.stdout, child.stderr]) this.forwardLines(stream);
    this.exited = child.then(
      (result) => ({ exitCode: result.exitCode, at: Date.now() }),
      () => ({ exitCode: undefined, at: Date.now() }),
    );
    this.stopRequested = false;
    void this.exited.then(({ exitCode }) => {
      this.hasExited = true;
      running.delete(this);
      this.writeLog(`systemd-nspawn exited with ${exitCode ?? 'a signal'}`);
      // Halted, rebooted or crashed by itself: a later stop() reports that, not a clean stop.
      if (!this.stopRequested) {
        this.lastStop = { seconds: 0, clean: false };
        this.keepLog = true;
      }
    });
    if (!this.nspawnPid) throw new Error('systemd-nspawn did not start');
    installExitHook();
    running.add(this);

    const deadline = Date.now() + 20_000;
    while (!this.initPid) {
      if (this.hasExited) throw new Error('systemd-nspawn exited before the container init started');
      if (Date.now() > deadline) throw new Error('the container init did not appear within 20 s');
      this.initPid = (await findNamespaceInitChild(this.nspawnPid)) ?? 0;
      if (!this.initPid) await delay(50);
    }
    this.heldNamespace = await holdPidNamespace(this.initPid);
  }

  private forwardLines(stream: NodeJS.ReadableStream | null): void {
    if (!stream) return;
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split(/\r?\n/);
      pending = lines.pop() ?? '';
      for (const line of lines) this.writeLog(line);
    });
    stream.on('end', () => {
      if (pending) this.writeLog(pending);
      pending = '';
    });
  }

  private writeLog(line: string): void {
    // Escape sequences (colours, cursor moves) make the log unreadable in an error message.
    // eslint-disable-next-line no-control-regex
    const clean = line.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
    const seconds = this.bootStartedAt ? ((Date.now() - this.bootStartedAt) / 1000).toFixed(2) : '0.00';
    this.logStream?.write(`[${seconds.padStart(7)}] ${clean}\n`);
    this.options.log?.(clean);
  }

  async logTail(lines = 40): Promise<string> {
    const text = await readFile(this.logFile, 'utf8').catch(() => '');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  }

  private requireRunning(what: string): void {
    if (this.hasExited || !this.initPid) throw new Error(`${what}: container ${this.machineName} is not running`);
  }

  nsenterArgs(argv: string[]): string[] {
    return ['--target', String(this.initPid), '--mount', '--uts', '--ipc', '--net', '--pid', '--root', '--wd', '--', ...argv];
  }

  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.requireRunning(`exec ${argv.join(' ')}`);
    if (argv.length === 0) throw new Error('exec: empty command');
    const env = { PATH: CONTAINER_PATH, HOME: '/root', LANG: 'C.UTF-8', TERM: opts.inheritStdio ? (process.env.TERM ?? 'dumb') : 'dumb', ...opts.env };
    const result = await execa('nsenter', this.nsenterArgs(argv), {
      env,
      extendEnv: false,
      reject: false,
      timeout: opts.timeoutMs ?? 60_000,
      forceKillAfterDelay: 2_000,
      ...(opts.inheritStdio ? { stdio: 'inherit' as const } : opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' as const }),
    });
    const out: ExecResult = {
      stdout: typeof result.stdout === 'string' ? result.stdout : '',
      stderr: typeof result.stderr === 'string' ? result.stderr : '',
      exitCode: result.exitCode ?? (result.timedOut ? 124 : 128),
    };
    if (result.timedOut) {
      throw new Error(`${argv.join(' ')} in ${this.machineName} timed out after ${opts.timeoutMs ?? 60_000} ms`);
    }
    if ((opts.reject ?? true) && out.exitCode !== 0) {
      throw new Error(`${argv.join(' ')} in ${this.machineName} exited with ${out.exitCode}: ${out.stderr.trim() || out.stdout.trim()}`);
    }
    return out;
  }

  async waitUntilUp(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    for (;;) {
      this.requireRunning('waiting until up');
      const state = this.options.init === 'systemd' ? await this.systemdState() : await this.openrcState();
      if (state.up) {
        this.writeLog(`up after ${((Date.now() - this.bootStartedAt) / 1000).toFixed(2)} s (${state.detail})`);
        return;
      }
      if (state.fatal) throw new Error(`${this.options.init} in ${this.machineName} will not come up: ${state.detail}`);
      last = state.detail;
      if (Date.now() > deadline) {
        throw new Error(`${this.machineName} not up after ${timeoutMs / 1000} s (last state: ${last})\n${await this.logTail(20)}`);
      }
      await delay(250);
    }
  }

  private async systemdState(): Promise<{ up: boolean; fatal?: boolean; detail: string }> {
    const result = await this.exec(['systemctl', 'is-system-running'], { reject: false, timeoutMs: 10_000 }).catch((error: Error) => ({
      stdout: '',
      stderr: error.message,
      exitCode: -1,
    }));
    const state = result.stdout.trim() || result.stderr.trim() || `exit ${result.exitCode}`;
    if (state === 'running' || state === 'degraded') return { up: true, detail: state };
    // maintenance = emergency or rescue mode: it will not get better by waiting.
    return { up: false, fatal: state === 'maintenance', detail: state };
  }

  /**
   * OpenRC is up when its soft level is `default` and no runlevel change is under way: no
   * rc.starting/rc.stopping marker and no `openrc` process (sysvinit's `rc 2` execs
   * `openrc default`). Read from the host through /proc/<init>/root, so it works before any
   * shell inside could answer.
   */
  private async openrcState(): Promise<{ up: boolean; fatal?: boolean; detail: string }> {
    const root = `/proc/${this.initPid}/root`;
    const softlevel = (await readFile(`${root}/run/openrc/softlevel`, 'utf8').catch(() => '')).trim();
    if (softlevel !== 'default') return { up: false, detail: `softlevel ${softlevel || 'unset'}` };
    for (const marker of ['rc.starting', 'rc.stopping']) {
      if (await stat(`${root}/run/openrc/${marker}`).catch(() => undefined)) return { up: false, detail: `softlevel default, ${marker} present` };
    }
    for (const pid of await pidsInNamespace(this.pidNamespace ?? '')) {
      const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
      const program = argv[0]?.split('/').pop();
      if (program === 'openrc' || (argv[1] === '/etc/init.d/rc' && argv.length > 2)) {
        return { up: false, detail: `softlevel default, still running: ${argv.join(' ').trim()}` };
      }
    }
    return { up: true, detail: 'OpenRC runlevel default' };
  }

  async stop(timeoutMs = 30_000): Promise<StopResult> {
    if (this.hasExited || !this.nspawn) return this.lastStop;
    const requestedAt = Date.now();
    this.stopRequested = true;
    this.writeLog(`stop requested (SIGTERM to systemd-nspawn ${this.nspawnPid})`);
    signal(this.nspawnPid, 'SIGTERM');
    let outcome = await Promise.race([this.exited!, delay(timeoutMs).then(() => undefined)]);
    let clean = outcome !== undefined && outcome.exitCode === 0;
    if (!outcome) {
      this.writeLog(`not stopped after ${timeoutMs / 1000} s: killing the container init ${this.initPid}`);
      signal(this.initPid, 'SIGKILL');
      outcome = await Promise.race([this.exited!, delay(10_000).then(() => undefined)]);
      if (!outcome) {
        signal(this.nspawnPid, 'SIGKILL');
        outcome = await this.exited!;
      }
      clean = false;
    }
    // The kernel ends a PID namespace with its init; make sure nothing lingers anyway.
    if (this.pidNamespace) {
      for (let attempt = 0; attempt < 50; attempt++) {
        const left = await pidsInNamespace(this.pidNamespace);
        if (left.length === 0) break;
        for (const pid of left) signal(pid, 'SIGKILL');
        await delay(100);
      }
    }
    await this.heldNamespace?.release();
    running.delete(this);
    if (!clean) this.keepLog = true;
    this.lastStop = { seconds: (outcome.at - requestedAt) / 1000, clean };
    this.writeLog(`stopped after ${this.lastStop.seconds.toFixed(2)} s (${clean ? 'clean' : 'forced'})`);
    return this.lastStop;
  }

  /** At process exit (nothing async runs then): drop the installed settings file and the unpacked rootfs; the log stays. */
  removeFilesSync(): void {
    try {
      if (this.settingsInstalled) rmSync(this.settingsInstalled, { force: true });
      if (this.ownsRootfs) rmSync(this.rootfs, { recursive: true, force: true });
    } catch {
      // best effort at exit; the directory is under /var/tmp
    }
  }

  async reboot(timeoutMs = 120_000): Promise<void> {
    await this.stop(Math.min(timeoutMs, 30_000));
    await this.start();
    await this.waitUntilUp(timeoutMs);
  }

  async dispose(options: { keepLog?: boolean } = {}): Promise<void> {
    if (!this.hasExited) await this.stop();
    if (this.initPid && (await isAlive(this.initPid))) signal(this.initPid, 'SIGKILL');
    if (this.settingsInstalled) await rm(this.settingsInstalled, { force: true });
    if (this.ownsRootfs) await rm(this.rootfs, { recursive: true, force: true });
    undisposed.delete(this);
    const stream = this.logStream;
    this.logStream = undefined;
    if (stream) await new Promise<void>((resolve) => stream.end(resolve));
    if (options.keepLog || this.keepLog) {
      this.options.log?.(`console log kept at ${this.logFile}`);
      return;
    }
    await rm(this.workDir, { recursive: true, force: true });
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}
