/**
 * Network namespaces under /run/netns (the `ip netns` convention), so a booted container gets a
 * network of its own: nothing it serves collides with the host's ports or another container's.
 */
import { stat } from 'node:fs/promises';
import { execa, execaSync } from 'execa';
import { UserError } from '../lib/errors.js';

export async function networkNamespaceExists(name: string): Promise<boolean> {
  return (await stat(`/run/netns/${name}`).catch(() => undefined)) !== undefined;
}

/** Creates `name` with its loopback interface up. */
export async function createNetworkNamespace(name: string): Promise<void> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) throw new UserError(`network namespace name '${name}' is not valid`);
  const added = await execa('ip', ['netns', 'add', name], { reject: false });
  if (added.exitCode !== 0) throw new UserError(`cannot create network namespace ${name}: ${String(added.stderr).trim()}`);
  const up = await execa('ip', ['-n', name, 'link', 'set', 'lo', 'up'], { reject: false });
  if (up.exitCode !== 0) {
    await deleteNetworkNamespace(name);
    throw new UserError(`cannot bring up loopback in network namespace ${name}: ${String(up.stderr).trim()}`);
  }
}

export async function deleteNetworkNamespace(name: string): Promise<void> {
  if (await networkNamespaceExists(name)) await execa('ip', ['netns', 'delete', name], { reject: false });
}

/** For process-exit handlers, where nothing asynchronous runs any more. */
export function deleteNetworkNamespaceSync(name: string): void {
  execaSync('ip', ['netns', 'delete', name], { reject: false });
}
