/** What the apply step is asked to do and what it reports: shared by apply/index.ts and apply-plan.ts. */
import type { InitSystem } from '../../lib/init-systems.js';
import type { MasterConfig } from '../master-config.js';

export type ApplyInit = InitSystem | 'none';

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
