/**
 * Which init system an image boots, from what its tarball holds: dpkg's record of the init
 * packages first, then where /sbin/init points, then the init programs themselves. `inspect`
 * reports the answer with its evidence; `run` and the tests use it when the name does not say.
 */
import { basename } from 'node:path';
import { UserError } from '../lib/errors.js';
import { INIT_SYSTEMS, type InitSystem } from '../lib/init-systems.js';
import { readTarball } from './tarball.js';

export interface DetectedInit {
  name: InitSystem | 'sysvinit' | 'unknown';
  evidence: string;
}

/** Paths (archive-relative) whose presence alone tells the init system. */
export const INIT_PROGRAMS: Readonly<Record<string, InitSystem>> = {
  'sbin/openrc-run': 'openrc',
  'usr/sbin/openrc-run': 'openrc',
  'lib/systemd/systemd': 'systemd',
  'usr/lib/systemd/systemd': 'systemd',
};

export interface InitEvidence {
  /** Installed packages and versions (dpkg status). */
  packages: ReadonlyMap<string, string>;
  /** Symbolic links by archive-relative path, to their targets. */
  symlinks: ReadonlyMap<string, string>;
  /** Which of INIT_PROGRAMS' paths the image holds. */
  programs: ReadonlySet<string>;
}

export function initOfImage(evidence: InitEvidence): DetectedInit {
  const { packages, symlinks, programs } = evidence;
  if (packages.has('systemd-sysv')) return { name: 'systemd', evidence: `package systemd-sysv ${packages.get('systemd-sysv')}` };
  if (packages.has('openrc')) return { name: 'openrc', evidence: `package openrc ${packages.get('openrc')}` };
  if (packages.has('sysvinit-core')) return { name: 'sysvinit', evidence: `package sysvinit-core ${packages.get('sysvinit-core')}` };
  for (const candidate of ['sbin/init', 'usr/sbin/init']) {
    const target = symlinks.get(candidate);
    if (target?.includes('systemd')) return { name: 'systemd', evidence: `/${candidate} -> ${target}` };
    if (target?.includes('openrc')) return { name: 'openrc', evidence: `/${candidate} -> ${target}` };
  }
  // OpenRC first: its images may still carry systemd's libraries, never the reverse.
  for (const init of ['openrc', 'systemd'] as const) {
    const program = Object.keys(INIT_PROGRAMS).find((path) => INIT_PROGRAMS[path] === init && programs.has(path));
    if (program) return { name: init, evidence: `/${program}` };
  }
  return { name: 'unknown', evidence: 'no init package in /var/lib/dpkg/status and no recognised /sbin/init link' };
}

/** Installed packages and versions from dpkg's status file. */
export function parseDpkgStatus(text: string): Map<string, string> {
  const installed = new Map<string, string>();
  for (const paragraph of text.split(/\n\s*\n/)) {
    const field = (name: string) => new RegExp(`^${name}: *(.*)$`, 'm').exec(paragraph)?.[1]?.trim();
    const name = field('Package');
    const status = field('Status');
    const version = field('Version');
    if (name && version && status?.endsWith(' installed')) installed.set(name, version);
  }
  return installed;
}

/**
 * The init system a tarball boots. Its name says it when it names exactly one
 * (`debian-bookworm-jitsi-openrc-amd64.tar.xz`); otherwise the tarball is read.
 */
export async function detectInit(tarball: string): Promise<InitSystem> {
  const name = basename(tarball);
  const byName = INIT_SYSTEMS.filter((init) => name.includes(init));
  if (byName.length === 1) return byName[0];
  const status = 'var/lib/dpkg/status';
  const { entries, contents } = await readTarball(tarball, (path) => path === status);
  const symlinks = new Map<string, string>();
  for (const entry of entries.values()) if (entry.linkpath !== undefined && entry.type === 'SymbolicLink') symlinks.set(entry.path, entry.linkpath);
  const detected = initOfImage({
    packages: parseDpkgStatus(contents.get(status)?.toString('utf8') ?? ''),
    symlinks,
    programs: new Set(Object.keys(INIT_PROGRAMS).filter((path) => entries.has(path))),
  });
  if (detected.name === 'systemd' || detected.name === 'openrc') return detected.name;
  throw new UserError(`cannot tell the init system of ${tarball}: it holds neither OpenRC nor systemd; pass --init`);
}
