/**
 * What differs between the distributions an image is built from: paths, users and service
 * names of the packages the configurator configures, and how the system is asked about its
 * packages. One entry per distribution; the apply step and the checks pick one per run from the
 * image's os-release (os-release.ts) and hand it to the generators through `HostFacts`, so no
 * generator, apply step or check names a distribution or spells one of these values itself
 * (test/configurator/distribution.test.ts greps for that).
 *
 * What is the same everywhere stays where it was: our own files (paths.ts), Jitsi's (they come
 * from Jitsi's .debs on every distribution: /etc/jitsi/..., /usr/share/jitsi-meet/...), the CA
 * store's local directory (/usr/local/share/ca-certificates/ on both), certbot's
 * /etc/letsencrypt and the key group's name (KEY_GROUP).
 *
 * Pure data: no file system, no processes (components import the type).
 */
import type { InitSystem } from '../lib/init-systems.js';

export const DISTRIBUTION_IDS = ['debian', 'gentoo'] as const;
export type DistributionId = (typeof DISTRIBUTION_IDS)[number];

export interface DistributionLayout {
  id: DistributionId;
  /**
   * Where the version of an installed package is read: dpkg's status file, or portage's
   * database of installed packages (`<path>/<category>/<name>-<version>/`).
   */
  packageDatabase: { kind: 'dpkg' | 'portage'; path: string };
  /**
   * debconf holds the answers of Jitsi's packages, which their maintainer scripts read on every
   * upgrade: the apply step writes the hostname and secrets back. Only where apt runs them.
   */
  debconf: boolean;
  prosody: {
    /** The package's name in `packageDatabase` (its version decides a config line). */
    package: string;
    /** prosody.cfg.lua and its conf.avail/ and conf.d/ live here. */
    configDir: string;
    /** The user and group it runs as: they read its config and the TLS keys. */
    user: string;
    group: string;
    /** Its file storage (accounts, rosters) and the certificates jitsi-meet-prosody makes. */
    dataDir: string;
    logDir: string;
    /** The pid file its init script finds it by. */
    pidFile: string;
    /**
     * On OpenRC, what restarts it instead of `rc-service prosody restart`, when the
     * distribution's init script cannot stop what it started (PlannedService.openrcRestart).
     */
    openrcRestart?: readonly string[];
  };
  nginx: {
    /** Everything below it makes nginx reload when it changed. */
    configDir: string;
    /** Our site file goes here; the distribution's nginx.conf includes `*.conf` from it, or from `enabledDir`. */
    siteDir: string;
    /** Where a link enables the site, when the distribution keeps available and enabled sites apart. */
    enabledDir?: string;
    /** Files of the package that claim port 80 as default_server besides our site: removed (with a backup). */
    conflictingDefaults: readonly string[];
    /** The user its workers run as (the master runs as root). */
    workerUser: string;
  };
  coturn: {
    /** turnserver.conf, where the daemon looks without `-c`. */
    config: string;
    user: string;
    group: string;
    /** Its systemd unit and its OpenRC script (Gentoo names the script after the daemon). */
    service: Readonly<Record<InitSystem, string>>;
    /**
     * The environment file the distribution's sysv/OpenRC script reads and must find set up
     * (Debian's starts coturn only when it says so); none when its script reads none.
     */
    initDefaults?: string;
  };
  /** Adds the certificates of the CA store's local directory to the system store and Java's. */
  caStoreUpdate: readonly string[];
  /** Renewal of Let's Encrypt certificates: certbot's systemd timer, or its cron file and the cron daemon's OpenRC service. */
  certbotRenewal: { timer: string; cronFile: string; cronService: string };
}

export const DEBIAN: DistributionLayout = {
  id: 'debian',
  packageDatabase: { kind: 'dpkg', path: '/var/lib/dpkg/status' },
  debconf: true,
  prosody: {
    package: 'prosody',
    configDir: '/etc/prosody',
    user: 'prosody',
    group: 'prosody',
    dataDir: '/var/lib/prosody',
    logDir: '/var/log/prosody',
    pidFile: '/run/prosody/prosody.pid',
    // Debian's prosody init script finds its daemon by the process name lua5.2, but bookworm's
    // prosody runs as lua5.4: `rc-service prosody restart` neither stops the old daemon nor
    // starts a new one, so a changed config would wait for a reboot. prosodyctl finds it by
    // its pid file.
    openrcRestart: ['prosodyctl', 'restart'],
  },
  nginx: {
    configDir: '/etc/nginx',
    siteDir: '/etc/nginx/sites-available',
    enabledDir: '/etc/nginx/sites-enabled',
    // Debian's default site also claims port 80 as default_server; two default servers stop nginx.
    conflictingDefaults: ['/etc/nginx/sites-enabled/default'],
    workerUser: 'www-data',
  },
  coturn: {
    config: '/etc/turnserver.conf',
    user: 'turnserver',
    group: 'turnserver',
    service: { systemd: 'coturn', openrc: 'coturn' },
    initDefaults: '/etc/default/coturn',
  },
  caStoreUpdate: ['update-ca-certificates', '--fresh'],
  certbotRenewal: { timer: 'certbot.timer', cronFile: '/etc/cron.d/certbot', cronService: 'cron' },
};

/**
 * Gentoo, from its ebuild tree (docs/gentoo.md says which ebuild each value comes from and that
 * none was exercised on a real Gentoo system yet).
 */
export const GENTOO: DistributionLayout = {
  id: 'gentoo',
  packageDatabase: { kind: 'portage', path: '/var/db/pkg' },
  debconf: false,
  prosody: {
    package: 'net-im/prosody',
    configDir: '/etc/prosody',
    user: 'prosody',
    group: 'prosody',
    dataDir: '/var/lib/prosody',
    logDir: '/var/log/prosody',
    pidFile: '/run/prosody/prosody.pid',
    // Gentoo's OpenRC script finds prosody by this pid file: `rc-service prosody restart` works.
  },
  nginx: {
    configDir: '/etc/nginx',
    // Gentoo's nginx.conf includes no site directory: the image's (overlays/gentoo) includes this one.
    siteDir: '/etc/nginx/conf.d',
    conflictingDefaults: [],
    workerUser: 'nginx',
  },
  coturn: {
    config: '/etc/turnserver.conf',
    user: 'turnserver',
    group: 'turnserver',
    service: { systemd: 'coturn', openrc: 'turnserver' },
  },
  caStoreUpdate: ['update-ca-certificates', '--fresh'],
  // Gentoo's certbot ships neither a timer nor a cron file, and its cron is cronie: the image
  // brings the timer (overlays/gentoo-systemd) or the cron file (overlays/gentoo-openrc) under
  // these names.
  certbotRenewal: { timer: 'certbot.timer', cronFile: '/etc/cron.d/certbot', cronService: 'cronie' },
};

export const DISTRIBUTIONS: Readonly<Record<DistributionId, DistributionLayout>> = { debian: DEBIAN, gentoo: GENTOO };

/** Where a host's prosody config lives: its file in conf.avail/, enabled by a link in conf.d/. */
export function prosodyHostFiles(layout: DistributionLayout, hostname: string): { available: string; enabled: string } {
  return {
    available: `${layout.prosody.configDir}/conf.avail/${hostname}.cfg.lua`,
    enabled: `${layout.prosody.configDir}/conf.d/${hostname}.cfg.lua`,
  };
}

/** Where a host's nginx site lives, and the link that enables it where the distribution has one. */
export function nginxSiteFiles(layout: DistributionLayout, hostname: string): { available: string; enabled?: string } {
  const name = `${hostname}.conf`;
  return { available: `${layout.nginx.siteDir}/${name}`, ...(layout.nginx.enabledDir ? { enabled: `${layout.nginx.enabledDir}/${name}` } : {}) };
}

/** prosody's main config file. */
export function prosodyConfigFile(layout: DistributionLayout): string {
  return `${layout.prosody.configDir}/prosody.cfg.lua`;
}
