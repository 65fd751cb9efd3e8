/**
 * The component interface: one pure function per component, from the typed master config
 * (and a few facts about the image) to a plan of everything the component needs in the image:
 * its files, the services that read them, its XMPP accounts, its directories. No file system,
 * no processes: the apply step carries plans out and is the only code that writes files or
 * runs programs, and it knows nothing of any one component.
 */
import type { InitSystem } from '../../lib/init-systems.js';
import type { DistributionLayout } from '../distribution.js';
import type { MasterConfig } from '../master-config.js';

/** Facts about the image that change what a generator writes, gathered by the apply step. */
export interface HostFacts {
  /** The distribution's paths, users and service names (distribution.ts): the one place they are spelled. */
  distribution: DistributionLayout;
  /** Directory of Jitsi's prosody plugins (jitsi-meet-prosody), when installed. */
  prosodyPluginsDir?: string;
  /** Init system of the image. */
  init: InitSystem;
  /** The group that may read TLS private keys (KEY_GROUP), when the image has it. */
  keyGroup?: string;
  /** Version of the installed prosody package as its package database says it (`0.12.3-1+deb12u1`, `13.0.1-1`, `13.0.5`), when installed. */
  prosodyVersion?: string;
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

/** A service: its systemd unit base name or OpenRC/sysv script name, whichever the image's init uses. */
export interface PlannedService {
  name: string;
  /** Reload instead of restart: nginx picks up new config and certificates without dropping connections. */
  reload?: boolean;
  /**
   * What makes it restart when it changed on a run: absolute path prefixes inside the image
   * (a trailing `/` means everything below), `group:<user>` (the user joined a group),
   * `account:<jid>` (an XMPP account's password was set) and `roster:<jid>` (a subscription
   * was added to the account's roster: a logged-in session keeps the roster it loaded).
   */
  reads: readonly string[];
  /**
   * A file the service's package installs (its program). When it is missing the service is not
   * installed, whatever init scripts exist: our OpenRC script for a package that ships only a
   * systemd unit is in every OpenRC image, the package may not be.
   */
  program?: string;
  /**
   * On OpenRC, what restarts the running service instead of `rc-service NAME restart`, for a
   * package whose init script cannot stop what it started.
   */
  openrcRestart?: readonly string[];
}

/** An XMPP account in prosody's store; its password must equal the one the component logs in with. */
export interface XmppAccount {
  username: string;
  host: string;
  password: string;
}

/**
 * A mutual presence subscription between an account and a contact, kept in the account's
 * roster in prosody's store: focus@auth.<H> and the focus.<H> client proxy, which only learns
 * where jicofo is from jicofo's presence. Made with Jitsi's mod_roster_command, so it is only
 * planned when Jitsi's prosody plugins are installed.
 */
export interface RosterSubscription {
  /** Bare JID of the account whose roster holds the contact (`focus@auth.<H>`). */
  account: string;
  /** The contact (`focus.<H>`). */
  contact: string;
  /**
   * The prosody module file that provides `prosodyctl mod_roster_command` (Jitsi's plugin
   * directory): when it is missing the apply step says so and subscribes nothing.
   */
  rosterCommandModule: string;
}

/**
 * A kernel setting a service wants at least: read from /proc/sys, never written (in a
 * container it is the host's, and read-only). The apply step warns when it is lower.
 */
export interface KernelSettingMinimum {
  /** sysctl name, `net.core.rmem_max`. */
  name: string;
  minimum: number;
  /** Who wants it and why, for the warning. */
  reason: string;
}

/** A directory the component's service needs but cannot create itself. */
export interface PlannedDirectory {
  path: string;
  /** `user:group`; left to root when the user does not exist yet. */
  owner: string;
  mode: number;
}

/** Where a certificate comes from. */
export type CertificateSource =
  /** Made here with openssl, for these names; kept while it still fits. */
  | { kind: 'self-signed'; names: string[] }
  /** The admin's own pair, copied from these paths. */
  | { kind: 'own'; cert: string; key: string }
  /** certbot over HTTP (webroot), from an ACME server; self-signed until it answers. */
  | {
      kind: 'acme';
      /** certbot's name of the lineage (`--cert-name`). */
      lineage: string;
      names: string[];
      server: string;
      email?: string;
      /** What nginx serves under /.well-known/acme-challenge/. */
      webroot: string;
      /** Where certbot keeps the current certificate of the lineage. */
      live: { cert: string; key: string };
      /** certbot's renewal config of the lineage (says which server issued it). */
      renewalConfig: string;
    };

/** A certificate and key at canonical paths inside the image. */
export interface PlannedCertificate {
  cert: string;
  /** Mode 0640, group KEY_GROUP. */
  key: string;
  source: CertificateSource;
  /** Also copied here, for update-ca-certificates: programs on this machine then trust it. */
  trustedCopy?: string;
}

/** prosody's account store: the main config `prosodyctl` is given, and the data directory it keeps accounts and rosters in. */
export interface AccountStore {
  config: string;
  /** Absolute path inside the image (`/var/lib/prosody`). */
  dataDir: string;
}

/** Everything one component needs in the image. Only `files` is required. */
export interface ComponentPlan {
  files: GeneratedFile[];
  services?: PlannedService[];
  /** XMPP accounts to create or correct in prosody's store. */
  accounts?: XmppAccount[];
  /** prosody's account store, where `prosodyctl` makes the accounts (the XMPP server's plan sets it). */
  accountStore?: AccountStore;
  directories?: PlannedDirectory[];
  /** System users that must read the TLS private keys: they join KEY_GROUP. */
  keyReaders?: string[];
  certificates?: PlannedCertificate[];
  /**
   * Files the component's Debian packages make for this hostname by themselves (maintainer
   * scripts run on every install and upgrade), absolute paths inside the image. Never written
   * here and left alone for the configured hostname; removed, with a backup, when they are
   * for another one (a placeholder the image was built with, an old hostname).
   */
  packageFiles?: string[];
  rosterSubscriptions?: RosterSubscription[];
  kernelSettings?: KernelSettingMinimum[];
}

export interface Component {
  /** Component name as shown to admins: `prosody`, `nginx`, ... */
  name: string;
  /** Debian packages that provide it (`inspect` reports their versions); none for pure configuration. */
  packages: readonly string[];
  plan(config: MasterConfig, facts: HostFacts): ComponentPlan;
}
