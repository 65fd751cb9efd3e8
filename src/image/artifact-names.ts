/**
 * The names of a build's artifacts. One stem names them all: the tarball `<stem>.tar.xz`
 * (`.tar.zst`, `.tar`), the systemd-nspawn settings `<stem>.nspawn` and the package list
 * `<stem>.packages`. `machinectl pull-tar` fetches the settings file by exactly that rule (the
 * tarball's name without its `.tar.*` suffix), so the stem is the only thing that varies.
 */
import { basename, dirname, join } from 'node:path';
import type { InitSystem } from '../lib/init-systems.js';
import { compressionExtension, type Compression } from './compression.js';

/** A tarball's suffix: plain, or compressed by anything we or others write. */
const TARBALL_SUFFIX = /\.tar(\.(xz|zst|gz|bz2))?$/;

export interface ArtifactIdentity {
  distro: string;
  init: InitSystem;
}

/** The stem every artifact of one build shares. */
export function artifactStem(identity: ArtifactIdentity): string {
  return `${identity.distro}-jitsi-${identity.init}`;
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
