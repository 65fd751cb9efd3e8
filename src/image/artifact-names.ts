/**
 * The names of a build's artifacts. One stem names them all: the tarball `<stem>.tar.xz`
 * (`.tar.zst`, `.tar`), the systemd-nspawn settings `<stem>.nspawn` and the package list
 * `<stem>.packages`. `machinectl pull-tar` fetches the settings file by exactly that rule (the
 * tarball's name without its `.tar.*` suffix), so the stem is the only thing that varies.
 *
 * The stem says everything two builds can differ in, in a fixed order, so that no two builds
 * of a release overwrite each other and a release can be pinned:
 * `debian-bookworm-jitsi-systemd-0.1.0-amd64`. Admins copy it from the release listing or
 * complete it with the shell; it is also a valid machine name, should one pull without naming one.
 */
import { basename, dirname, join } from 'node:path';
import type { InitSystem } from '../lib/init-systems.js';
import { compressionExtension, type Compression } from './compression.js';

/** A tarball's suffix: plain, or compressed by anything we or others write. */
const TARBALL_SUFFIX = /\.tar(\.(xz|zst|gz|bz2))?$/;

export interface ArtifactIdentity {
  distro: string;
  /** Debian suite (codename), as the recipe names it: bookworm, trixie. */
  suite: string;
  init: InitSystem;
  /** The project's version (package.json). */
  version: string;
  /** Debian architecture: amd64, arm64. */
  architecture: string;
}

/** What a part of a stem may hold: no separators a file name, URL or machine name would trip on. */
const STEM_PART = /^[A-Za-z0-9][A-Za-z0-9.+~]*$/;

/** The stem every artifact of one build shares: `<distro>-<suite>-jitsi-<init>-<version>-<architecture>`. */
export function artifactStem(identity: ArtifactIdentity): string {
  const { distro, suite, init, version, architecture } = identity;
  for (const [what, value] of Object.entries({ distro, suite, version, architecture })) {
    if (!STEM_PART.test(value)) throw new Error(`${what} '${value}' cannot be part of an artifact name (letters, digits, . + ~)`);
  }
  return `${distro}-${suite}-jitsi-${init}-${version}-${architecture}`;
}

export function tarballName(stem: string, compression: Compression): string {
  return `${stem}${compressionExtension(compression)}`;
}

export function settingsFileName(stem: string): string {
  return `${stem}.nspawn`;
}

export function packageListName(stem: string): string {
  return `${stem}.packages`;
}

export function isTarball(name: string): boolean {
  return TARBALL_SUFFIX.test(name);
}

/** `dist/x.tar.zst` -> `dist/x.nspawn`: where machinectl and `run` look for the settings. */
export function settingsFileBeside(tarball: string): string {
  return join(dirname(tarball), settingsFileName(basename(tarball).replace(TARBALL_SUFFIX, '')));
}
