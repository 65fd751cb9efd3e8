/**
 * A test image with the stand-in of Jitsi's packages installed, as a build installs them: the
 * cached test image of an init system, unpacked, then `apt-get install` of the pinned stand-in
 * packages from the served stand-in repository (debconf preseeded with a placeholder hostname;
 * nothing starts while installing, as nothing starts during a build).
 */
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { InitSystem } from '../../../src/lib/init-systems.js';
import { testImage } from '../images.js';
import { scratchDir } from '../scratch.js';
import { pinnedPackages, SUITE, type SigningKey } from './index.js';

export const PLACEHOLDER = 'jitsi-placeholder.invalid';

/** Runs a command in the unpacked (not booted) root, on this machine's network: apt reaches the stand-in on 127.0.0.1. */
export async function inUnpackedRoot(root: string, argv: string[], input?: string): Promise<string> {
  const result = await execa(
    'systemd-nspawn',
    ['--quiet', '--pipe', '--register=no', '--keep-unit', '--resolv-conf=copy-host', `--directory=${root}`, '--setenv=DEBIAN_FRONTEND=noninteractive', ...argv],
    { reject: false, all: true, timeout: 600_000, ...(input === undefined ? { stdin: 'ignore' as const } : { input }) },
  );
  if (result.exitCode !== 0) throw new Error(`${argv.join(' ')} exited ${result.exitCode}:\n${String(result.all).slice(-4000)}`);
  return String(result.all ?? '');
}

/** The test image of `init`, unpacked, with the stand-in packages of `version` installed. */
export async function imageWithStandin(init: InitSystem, repoUrl: string, key: SigningKey, version: 'v1' | 'v2' = 'v1'): Promise<{ root: string; nspawn: string }> {
  const image = await testImage(init);
  const root = join(await scratchDir('standin-root-'), 'rootfs');
  await mkdir(root, { mode: 0o755 });
  await execa('tar', ['--extract', `--file=${image.tarball}`, `--directory=${root}`, '--numeric-owner', '--same-permissions', '--xattrs', '--xattrs-include=*']);
  await writeFile(join(root, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  await mkdir(join(root, 'etc/apt/keyrings'), { recursive: true });
  await copyFile(key.keyring, join(root, 'etc/apt/keyrings/jitsi-standin.gpg'));
  await writeFile(join(root, 'etc/apt/sources.list.d/jitsi-standin.list'), `deb [signed-by=/etc/apt/keyrings/jitsi-standin.gpg] ${repoUrl} ${SUITE}/\n`);
  await inUnpackedRoot(root, ['debconf-set-selections'], `jitsi-videobridge2 jitsi-videobridge/jvb-hostname string ${PLACEHOLDER}\n`);
  await inUnpackedRoot(root, ['apt-get', 'update']);
  await inUnpackedRoot(root, ['apt-get', 'install', '-y', '--no-install-recommends', ...pinnedPackages(version)]);
  await rm(join(root, 'usr/sbin/policy-rc.d'));
  return { root, nspawn: image.nspawn };
}
