/**
 * The generator interface: one pure function per component, from the typed master config
 * (and a few facts about the image) to file contents. No file system, no processes: the
 * apply step is the only code that writes files or runs programs.
 */
import type { InitSystem } from '../../lib/init-systems.js';
import type { MasterConfig } from '../master-config.js';

/** Facts about the image that change what a generator writes, gathered by the apply step. */
export interface HostFacts {
  /** Directory of Jitsi's prosody plugins (jitsi-meet-prosody), when installed. */
  prosodyPluginsDir?: string;
  /** Init system of the image. */
  init: InitSystem;
}

export interface GeneratedFile {
  /** Absolute path inside the image. */
  path: string;
  content: string;
  /** Octal mode, 0o644 unless said otherwise (secrets: 0o640 or 0o600). */
  mode?: number;
  /** `user:group` owner; root:root unless said otherwise. */
  owner?: string;
  /** Symlink instead of a file: `content` is ignored, the link points here. */
  linkTo?: string;
  /**
   * The path must NOT exist after applying (a distribution default that conflicts with ours,
   * such as nginx's default site). `content` is empty, so an apply step that ignored this flag
   * would still leave a harmless empty file rather than the conflicting one.
   */
  remove?: boolean;
}

export interface Generator {
  /** Component name as shown to admins: `prosody`, `nginx`, ... */
  name: string;
  generate(config: MasterConfig, facts: HostFacts): GeneratedFile[];
}
