/**
 * The apply step: the only part of the configurator that touches the file system or runs
 * programs. It writes every generated file, makes the TLS material, creates the prosody
 * accounts and brings the services up through the one `jitsi-meet-server` unit/service.
 */
import type { MasterConfig } from '../master-config.js';

export type ApplyInit = 'systemd' | 'openrc' | 'none';

export interface ApplyOptions {
  /** `/` inside the image; a temporary directory in host tests. */
  root: string;
  /** Init system of the image; `none` writes files only and runs no services (host tests). */
  init: ApplyInit;
  /** The master config of the previous run, to remove the old host's files when the hostname changed. */
  previousConfig?: MasterConfig;
  /** The secrets were replaced on this run: every account password is set again. */
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

export async function applyConfiguration(config: MasterConfig, options: ApplyOptions): Promise<ApplyReport> {
  // Signature first so main.ts can type-check against it; the body lands in the next commits.
  options.log(`applying configuration for ${config.hostname}`);
  throw new Error('applyConfiguration: not wired up yet');
}
