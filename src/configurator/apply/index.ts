/**
 * The apply step: the only part of the configurator that touches the file system or runs
 * programs. It writes every generated file, makes the TLS material, creates the prosody
 * accounts and brings the services up through the one `jitsi-meet-server` unit/service.
 */
import { access } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { MasterConfig } from '../master-config.js';
import { generateAll } from '../generators/index.js';
import { webTls } from '../paths.js';
import { removeLeftovers } from './files.js';
import { staleHostnames } from './stale-hosts.js';
import type { HostFacts } from '../generators/types.js';
import { applyFiles, caStoreCopy } from './run.js';

export type ApplyInit = 'systemd' | 'openrc' | 'none';

export interface ApplyOptions {
  /** `/` inside the image; a temporary directory in host tests. */
  root: string;
  /** Init system of the image; `none` writes files only and runs no services (host tests). */
  init: ApplyInit;
  /** The master config of the previous run, to remove the old host's files when the hostname changed. */
  previousConfig?: MasterConfig;
  /**
   * The secrets were replaced on this run. Informational: every account is checked against
   * prosody's stored keys on every run and set whenever its password differs, rotated or not.
   */
  rotatedSecrets?: boolean;
  log(line: string): void;
}

export interface ApplyReport {
  /** Absolute paths (inside the image) written on this run, created or replaced. */
  changed: string[];
  /** Paths whose content was already right and were left alone. */
  unchanged: string[];
  /** Files of the old hostname (or obsolete defaults) removed on this run. */
  removed: string[];
  /** Where replaced files were kept, inside the image; undefined when nothing was replaced. */
  backupDir?: string;
  /** Services (re)started or reloaded because something they read changed. */
  restarted: string[];
}

/** Where Jitsi's prosody plugins land when jitsi-meet-prosody is installed. */
export const PROSODY_PLUGINS_DIR = '/usr/share/jitsi-meet/prosody-plugins';

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Facts the generators need, read from the image under `root`. */
export async function gatherFacts(root: string, init: ApplyInit): Promise<HostFacts> {
  const openrc = init === 'openrc' || (init === 'none' && (await exists(join(root, 'sbin/openrc-run'))));
  const facts: HostFacts = { init: openrc ? 'openrc' : 'systemd' };
  if (await exists(join(root, PROSODY_PLUGINS_DIR))) facts.prosodyPluginsDir = PROSODY_PLUGINS_DIR;
  return facts;
}

/**
 * Generates every component's files from the master config and applies them (see run.ts
 * for the order). Safe to run again: what is already right is left alone, so a re-run with
 * the same master config changes no file and restarts nothing.
 */
export async function applyConfiguration(config: MasterConfig, options: ApplyOptions): Promise<ApplyReport> {
  const facts = await gatherFacts(options.root, options.init);
  const files = generateAll(config, facts);
  // Leftovers of an interrupted run (temporary files, TLS scratch with a key): the caller holds the run lock.
  const written = [...files.map((file) => file.path), webTls(config.hostname).cert, caStoreCopy(config.hostname)];
  for (const path of await removeLeftovers(written.map((file) => join(options.root, dirname(file))))) {
    options.log(`removed ${path}, left by an interrupted run`);
  }
  // Hosts this machine still has our files for (an interrupted change leaves some behind).
  const staleHosts = await staleHostnames(options.root, config.hostname, options.previousConfig?.hostname);
  const previousFiles = staleHosts.flatMap((hostname) => generateAll({ ...(options.previousConfig ?? config), hostname }, facts));
  const report = await applyFiles(config, files, previousFiles, staleHosts, options);
  options.log(
    `${report.changed.length} file(s) written, ${report.unchanged.length} unchanged, ${report.removed.length} removed` +
      (report.backupDir ? `; previous versions kept in ${report.backupDir}` : '') +
      (report.restarted.length > 0 ? `; restarted ${report.restarted.join(', ')}` : ''),
  );
  return report;
}
