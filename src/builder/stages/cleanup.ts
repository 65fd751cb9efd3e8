/**
 * cleanup: removes per-instance state and build leftovers from the image, one named step per
 * kind (each can be skipped with `--skip cleanup/<step>`; the recipe lists which run):
 *
 * - machine-id: /etc/machine-id reads `uninitialized` (each container makes its own at first
 *   boot, and systemd treats the boot as a first boot); no /var/lib/dbus/machine-id.
 * - random-seed: no systemd random seed or credential secret, no sysvinit urandom seed.
 * - ssh-host-keys: no /etc/ssh/ssh_host_* keys.
 * - snakeoil-cert: no ssl-cert snakeoil key, certificate or hash link (made at install time,
 *   so every image would share one private key).
 * - jitsi-placeholder-host: no prosody host file (conf.avail, conf.d link), web config or nginx
 *   site that Jitsi's scripts wrote for the placeholder hostname the build preseeds.
 * - jitsi-placeholder-certificates: no certificate or key made for the placeholder (prosody's,
 *   their links, web ones), and its auth certificate out of the CA store and Java's store.
 * - jitsi-placeholder-accounts: no prosody data (the focus and jvb accounts, rosters) for it.
 * - jitsi-generated-configs: no jicofo.conf, jvb.conf or /etc/jitsi/{jicofo,videobridge}/config
 *   as the scripts generated them (placeholder names, fresh passwords); the configurator
 *   writes them.
 * - debconf-secrets: no answer to Jitsi's secret debconf questions (the passwords the scripts
 *   generated); the configurator writes the real ones back.
 * - resolv-conf: /etc/resolv.conf is empty (mmdebstrap copied the build host's); nspawn or the
 *   configurator fills it.
 * - hostname: no /etc/hostname (mmdebstrap copied the build host's); the container gets its
 *   machine name until the configurator writes one.
 * - apt-lists, apt-cache: no package lists, .deb files or apt caches.
 * - portage-distfiles, portage-binpkgs, portage-binhost-cache, portage-tmp, portage-cache,
 *   emerge-logs, portage-gnupg, gentoo-news: what portage leaves in a Gentoo image (downloads,
 *   binary packages, build directories, caches, logs, getuto's keyring with its private key,
 *   news read state); see gentoo/portage-cleanup.ts.
 * - logs: every file under /var/log emptied (files and modes stay, contents go).
 * - backup-files: no `/etc/passwd-` style backups, debconf/dpkg `-old` files or ldconfig
 *   aux-cache (copies of build-time state that differ between builds).
 * - java-keystore-dates: the entry dates of /etc/ssl/certs/java/cacerts (stamped with the
 *   build's wall clock by ca-certificates-java) clamped to SOURCE_DATE_EPOCH, so the tarball
 *   is reproducible; the keystore stays valid (its digest is recomputed).
 */
import { lstat, readdir, readFile, readlink, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PORTAGE_CLEANUP } from '../gentoo/portage-cleanup.js';
import { clampKeystoreDates } from '../jks.js';
import { runInRoot } from '../in-root.js';
import {
  removeDebconfSecrets,
  removeGeneratedJitsiConfigs,
  removePlaceholderAccounts,
  removePlaceholderCertificates,
  removePlaceholderHostFiles,
  type InRoot,
} from '../jitsi-leftovers.js';
import type { CleanupStep } from '../recipe/schema.js';
import type { BuildContext, Stage } from '../stage.js';

async function removeAll(rootfs: string, paths: string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const path of paths) {
    const full = join(rootfs, path);
    if (await lstat(full).catch(() => undefined)) {
      await rm(full, { recursive: true, force: true });
      removed.push(path);
    }
  }
  return removed;
}

/** Entries of `dir` (relative to the rootfs) whose names match. */
async function matching(rootfs: string, dir: string, test: (name: string) => boolean): Promise<string[]> {
  const names = await readdir(join(rootfs, dir)).catch(() => [] as string[]);
  return names.filter(test).map((name) => join(dir, name));
}

async function truncateTree(dir: string): Promise<number> {
  let count = 0;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) count += await truncateTree(full);
    else if (entry.isFile()) {
      await truncate(full, 0);
      count++;
    }
  }
  return count;
}

type StepRunner = (rootfs: string, sourceDateEpoch: number, inRoot?: InRoot) => Promise<string>;

export const CLEANUP_RUNNERS: Record<CleanupStep, StepRunner> = {
  async 'machine-id'(rootfs) {
    await writeFile(join(rootfs, 'etc/machine-id'), 'uninitialized\n', { mode: 0o444 });
    const removed = await removeAll(rootfs, ['var/lib/dbus/machine-id']);
    return `/etc/machine-id = uninitialized${removed.length ? ', removed /var/lib/dbus/machine-id' : ''}`;
  },
  async 'random-seed'(rootfs) {
    const removed = await removeAll(rootfs, [
      'var/lib/systemd/random-seed',
      'var/lib/systemd/credential.secret',
      'var/lib/urandom/random-seed',
      'var/lib/random-seed',
      'boot/loader/random-seed',
    ]);
    return `removed ${removed.length} seed files`;
  },
  async 'ssh-host-keys'(rootfs) {
    const removed = await removeAll(rootfs, await matching(rootfs, 'etc/ssh', (name) => name.startsWith('ssh_host_')));
    return `removed ${removed.length} ssh host key files`;
  },
  async 'snakeoil-cert'(rootfs) {
    const links: string[] = [];
    for (const path of await matching(rootfs, 'etc/ssl/certs', () => true)) {
      const target = await readlink(join(rootfs, path)).catch(() => '');
      if (target.includes('ssl-cert-snakeoil')) links.push(path);
    }
    const removed = await removeAll(rootfs, ['etc/ssl/private/ssl-cert-snakeoil.key', 'etc/ssl/certs/ssl-cert-snakeoil.pem', ...links]);
    return `removed ${removed.length} snakeoil files`;
  },
  'jitsi-placeholder-host': (rootfs) => removePlaceholderHostFiles(rootfs),
  'jitsi-placeholder-certificates': (rootfs, _epoch, inRoot) => removePlaceholderCertificates(rootfs, inRoot),
  'jitsi-placeholder-accounts': (rootfs) => removePlaceholderAccounts(rootfs),
  'jitsi-generated-configs': (rootfs) => removeGeneratedJitsiConfigs(rootfs),
  'debconf-secrets': (rootfs) => removeDebconfSecrets(rootfs),
  async 'resolv-conf'(rootfs) {
    await rm(join(rootfs, 'etc/resolv.conf'), { force: true });
    await writeFile(join(rootfs, 'etc/resolv.conf'), '', { mode: 0o644 });
    return '/etc/resolv.conf emptied';
  },
  async hostname(rootfs) {
    const removed = await removeAll(rootfs, ['etc/hostname']);
    return removed.length ? 'removed /etc/hostname' : 'no /etc/hostname';
  },
  async 'apt-lists'(rootfs) {
    const removed = await removeAll(rootfs, await matching(rootfs, 'var/lib/apt/lists', (name) => name !== 'partial'));
    await removeAll(rootfs, await matching(rootfs, 'var/lib/apt/lists/partial', () => true));
    return `removed ${removed.length} package list files`;
  },
  async 'apt-cache'(rootfs) {
    const removed = [
      ...(await removeAll(rootfs, await matching(rootfs, 'var/cache/apt', (name) => name.endsWith('.bin')))),
      ...(await removeAll(rootfs, await matching(rootfs, 'var/cache/apt/archives', (name) => name.endsWith('.deb') || name === 'lock'))),
      ...(await removeAll(rootfs, await matching(rootfs, 'var/cache/apt/archives/partial', () => true))),
    ];
    return `removed ${removed.length} apt cache files`;
  },
  ...PORTAGE_CLEANUP,
  async logs(rootfs) {
    return `emptied ${await truncateTree(join(rootfs, 'var/log'))} log files`;
  },
  async 'backup-files'(rootfs) {
    const removed = await removeAll(rootfs, [
      ...(await matching(rootfs, 'etc', (name) => /^(passwd|shadow|group|gshadow|subuid|subgid)-$/.test(name))),
      ...(await matching(rootfs, 'var/cache/debconf', (name) => name.endsWith('-old'))),
      ...(await matching(rootfs, 'var/lib/dpkg', (name) => name.endsWith('-old'))),
      'var/cache/ldconfig/aux-cache',
    ]);
    return `removed ${removed.length} backup files`;
  },
  async 'java-keystore-dates'(rootfs, sourceDateEpoch) {
    const file = join(rootfs, 'etc/ssl/certs/java/cacerts');
    const keystore = await readFile(file).catch(() => undefined);
    if (!keystore) return 'no Java keystore';
    const { bytes, clamped } = clampKeystoreDates(keystore, sourceDateEpoch);
    await writeFile(file, bytes);
    return `${clamped} keystore entry dates clamped`;
  },
};

export const cleanup: Stage = {
  name: 'cleanup',
  title: 'Remove per-instance state and build leftovers',
  skip: (ctx) => (ctx.recipe.cleanup.length === 0 ? 'the recipe lists no cleanup steps' : undefined),
  async run(ctx: BuildContext) {
    for (const step of ctx.recipe.cleanup) {
      if (ctx.skip.has(`cleanup/${step}`)) {
        ctx.log(`${step}: skipped (--skip cleanup/${step})`);
        continue;
      }
      ctx.log(`${step}: ${await CLEANUP_RUNNERS[step](ctx.rootfs, ctx.sourceDateEpoch, (argv) => runInRoot(ctx, argv))}`);
    }
  },
};
