/**
 * `nspawn-jitsi run`: boots a built tarball under systemd-nspawn, waits until its init is up,
 * runs a command inside (or only reports that it came up), stops it and says how long the stop
 * took. For quick checks of an image by people and scripts; the exit code is the command's.
 */
import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { bootContainer, type Container } from '../../boot/container.js';
import { createNetworkNamespace, deleteNetworkNamespace, deleteNetworkNamespaceSync, networkNamespaceExists } from '../../boot/netns.js';
import { settingsFileBeside } from '../../image/artifact-names.js';
import { detectInit } from '../../image/init-detection.js';
import type { InitSystem } from '../../lib/init-systems.js';
import { UsageError, UserError, type CommandSpec } from '../options.js';

function say(line: string): void {
  process.stderr.write(`nspawn-jitsi run: ${line}\n`);
}

export const runCommand: CommandSpec = {
  name: 'run',
  summary: 'Boot a rootfs tarball under systemd-nspawn, run a command inside, stop it.',
  description: `
Unpacks TARBALL into a temporary directory under /var/tmp, boots it with systemd-nspawn
(--register=no --keep-unit, so it works on hosts whose PID 1 is not systemd), waits until
systemd reports running/degraded or OpenRC has reached its default runlevel, runs CMD inside
(with a clean environment, your terminal attached), then stops the container the way
systemd-nspawn does (its KillSignal) and prints how long the stop took. The temporary rootfs is
removed afterwards; the console log is kept only when something went wrong.

The settings file beside the tarball (<name>.nspawn) is used when present. The container gets a
fresh network namespace of its own (loopback only) unless --netns names an existing one, so
nothing it serves can clash with the host's ports. Needs root.

Exit code: CMD's exit code; without CMD, 0 when the container came up and stopped cleanly.
1 when it did not boot, did not come up in time, or did not stop cleanly; 130 on Ctrl-C.`,
  positionals: [{ name: 'TARBALL', doc: 'Rootfs tarball (.tar.xz, .tar.zst or .tar).', required: true }],
  takesRest: 'CMD...',
  options: [
    { name: 'init', type: 'choice', choices: ['systemd', 'openrc'], valueName: 'INIT', doc: 'Init system of the image. Default: from the file name, else from the tarball contents.' },
    { name: 'netns', type: 'string', valueName: 'NAME', doc: 'Boot in this existing network namespace (/run/netns/NAME) instead of a temporary one.' },
    { name: 'settings', type: 'path', valueName: 'FILE', doc: 'systemd-nspawn settings file. Default: <name>.nspawn beside the tarball, if there.' },
    { name: 'timeout', type: 'integer', min: 1, max: 3600, default: 120, valueName: 'S', doc: 'Seconds to wait for the container to come up.' },
    { name: 'verbose', type: 'boolean', doc: 'Copy the container console to stderr as it boots and stops.' },
  ],
  async run({ options, positionals, rest }) {
    // A reader that went away (`| head`) must not kill us halfway through stopping the container.
    process.stderr.on('error', () => {});
    const cwd = process.env.INIT_CWD ?? process.cwd();
    const tarball = resolve(cwd, positionals[0]);
    if (!(await stat(tarball).catch(() => undefined))?.isFile()) throw new UsageError(`${positionals[0]} is not a file`);
    const init = ((options.init as InitSystem | undefined) ?? (await detectInit(tarball))) as InitSystem;
    let settingsFile = options.settings ? resolve(cwd, options.settings as string) : settingsFileBeside(tarball);
    if (!(await stat(settingsFile).catch(() => undefined))?.isFile()) {
      if (options.settings) throw new UsageError(`settings file ${options.settings as string} does not exist`);
      say(`no ${basename(settingsFile)} beside the tarball: booting with default settings`);
      settingsFile = '';
    }
    let container: Container | undefined;
    let cleaning: Promise<void> | undefined;
    let cleaned = false;
    let keepLog = false;
    let netns = options.netns as string | undefined;
    let ownNetns: string | undefined;
    if (netns) {
      if (!(await networkNamespaceExists(netns))) throw new UsageError(`network namespace '${netns}' does not exist (see ip netns list)`);
    } else {
      ownNetns = netns = `nj-run-${process.pid}`;
      await createNetworkNamespace(ownNetns);
      // Also when we die of an unexpected error (a closed stdout, say) before the cleanup below.
      const namespace = ownNetns;
      process.once('exit', () => {
        if (!cleaned) deleteNetworkNamespaceSync(namespace);
      });
    }
    const timeoutSeconds = options.timeout as number;

    const cleanup = (): Promise<void> =>
      (cleaning ??= (async () => {
        try {
          await container?.dispose({ keepLog });
        } finally {
          if (ownNetns) await deleteNetworkNamespace(ownNetns);
          cleaned = true;
        }
      })());
    const onSignal = (name: NodeJS.Signals) => {
      say(`${name}: stopping the container`);
      void cleanup().finally(() => process.exit(130));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const startedAt = Date.now();
      say(`booting ${basename(tarball)} (${init}) in network namespace ${netns}${settingsFile ? ` with ${basename(settingsFile)}` : ''}`);
      container = await bootContainer({
        tarball,
        init,
        netns,
        settingsFile: settingsFile || undefined,
        log: options.verbose ? (line) => process.stderr.write(`  | ${line}\n`) : undefined,
      });
      try {
        await container.waitUntilUp(timeoutSeconds * 1000);
      } catch (error) {
        keepLog = true;
        await container.stop();
        throw new UserError(`${(error as Error).message}\nconsole log kept at ${container.logFile}`);
      }
      say(`up after ${((Date.now() - startedAt) / 1000).toFixed(1)} s (machine ${container.machineName})`);
      let exitCode = 0;
      if (rest.length > 0) {
        const result = await container.exec(rest, { inheritStdio: true, reject: false, timeoutMs: 24 * 3600_000 });
        exitCode = result.exitCode;
        if (exitCode !== 0) say(`${rest.join(' ')} exited with ${exitCode}`);
      }
      const stopped = await container.stop();
      say(`stopped in ${stopped.seconds.toFixed(2)} s (${stopped.clean ? 'clean' : `forced; console log kept at ${container.logFile}`})`);
      if (!stopped.clean && rest.length === 0) exitCode = 1;
      return exitCode;
    } finally {
      await cleanup();
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
  },
};
