/**
 * Network namespaces for tests: each container a test boots, and each server a test starts to
 * talk to it, lives in a namespace the test made itself, so nothing collides with the host's
 * ports or with other tests (or other people) booting containers at the same time.
 *
 *   const ns = await createNetns('cfg');          // uniquely named, loopback up
 *   t.teardown(() => ns.delete());
 *   const container = await bootContainer({ ..., netns: ns.name });
 *   await ns.exec(['curl', 'http://127.0.0.1/']); // a host program, inside the namespace
 *
 * Namespaces still present when the process exits are deleted then (best effort).
 */
import { randomBytes } from 'node:crypto';
import { execa, type Options } from 'execa';
import { createNetworkNamespace, deleteNetworkNamespace, deleteNetworkNamespaceSync } from '../../src/boot/netns.js';

export interface NetnsExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface Netns {
  /** Name under /run/netns, for `ip netns exec` and `bootContainer({ netns })`. */
  readonly name: string;
  /** /run/netns/<name>, for `systemd-nspawn --network-namespace-path=`. */
  readonly path: string;
  /** Runs a host program inside the namespace (`ip netns exec`). Rejects on a non-zero exit unless `reject: false`. */
  exec(argv: string[], options?: { input?: string; env?: Record<string, string>; timeoutMs?: number; reject?: boolean }): Promise<NetnsExecResult>;
  /** Deletes the namespace; safe to call twice. */
  delete(): Promise<void>;
}

const live = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const name of live) deleteNetworkNamespaceSync(name);
  });
}

/**
 * Creates `<prefix>-<pid>-<random>` with its loopback interface up. The prefix says which test
 * made it when one is found left over (`ip netns list`).
 */
export async function createNetns(prefix = 'njt'): Promise<Netns> {
  if (!/^[a-z0-9-]{1,20}$/.test(prefix)) throw new Error(`netns prefix '${prefix}': use 1-20 of a-z, 0-9, '-'`);
  const name = `${prefix}-${process.pid}-${randomBytes(3).toString('hex')}`;
  await createNetworkNamespace(name);
  live.add(name);
  installExitHook();
  return {
    name,
    path: `/run/netns/${name}`,
    async exec(argv, options = {}) {
      const execOptions: Options = {
        reject: false,
        timeout: options.timeoutMs ?? 60_000,
        env: options.env,
        ...(options.input !== undefined ? { input: options.input } : { stdin: 'ignore' as const }),
      };
      const result = await execa('ip', ['netns', 'exec', name, ...argv], execOptions);
      const out = { stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? ''), exitCode: result.exitCode ?? 128 };
      if ((options.reject ?? true) && out.exitCode !== 0) {
        throw new Error(`${argv.join(' ')} in netns ${name} exited with ${out.exitCode}: ${out.stderr.trim() || out.stdout.trim()}`);
      }
      return out;
    },
    async delete() {
      if (!live.has(name)) return;
      await deleteNetworkNamespace(name);
      live.delete(name);
    },
  };
}

/** Runs `body` with a fresh namespace and deletes it afterwards, whatever happens. */
export async function withNetns<T>(body: (ns: Netns) => Promise<T>, prefix?: string): Promise<T> {
  const ns = await createNetns(prefix);
  try {
    return await body(ns);
  } finally {
    await ns.delete();
  }
}
