/**
 * What portage leaves in a Gentoo image that no installed system needs, one cleanup step per
 * kind (the cleanup stage runs them by name; each is safe on a tree without it, so a Debian
 * image is untouched). The paths are portage's defaults (make.globals and portage's own
 * constants); the directories themselves stay, with their owners and modes, only their
 * contents go.
 *
 * - portage-distfiles: /var/cache/distfiles (DISTDIR): source archives downloaded for packages
 *   compiled in the build.
 * - portage-binpkgs: /var/cache/binpkgs (PKGDIR): binary packages.
 * - portage-binhost-cache: /var/cache/binhost: the binary host's index and downloaded packages
 *   (binrepos.conf's `location`, default /var/cache/binhost/<name> since portage 3.0.77).
 * - portage-tmp: /var/tmp/portage (PORTAGE_TMPDIR/portage): build directories and logs left
 *   by failed or kept builds.
 * - portage-cache: /var/cache/edb: portage's caches (dependency metadata, the merge counter);
 *   portage(5) says the whole directory can be deleted: it is rebuilt on demand.
 * - emerge-logs: /var/log/emerge.log, /var/log/emerge-fetch.log and /var/log/portage (build
 *   logs and the elog summary): the build's history, not the image's.
 * - portage-gnupg: /etc/portage/gnupg, which getuto made holding a private key; every image
 *   would share it. Removed whole: portage runs getuto again when it next needs the keyring.
 * - gentoo-news: /var/lib/gentoo/news: which news items the build's emerge saw as read or
 *   unread; the administrator's first sync lists the relevant ones afresh.
 */
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** Removes everything inside `dir` (relative to the root), keeping `dir`; returns how many entries went. */
async function emptyDirectory(root: string, dir: string): Promise<number> {
  const full = join(root, dir);
  const stat = await lstat(full).catch(() => undefined);
  // A symbolic link is not followed: it could point out of the image.
  if (!stat?.isDirectory()) return 0;
  const names = await readdir(full);
  for (const name of names) await rm(join(full, name), { recursive: true, force: true });
  return names.length;
}

async function removePaths(root: string, paths: string[]): Promise<number> {
  let removed = 0;
  for (const path of paths) {
    if (await lstat(join(root, path)).catch(() => undefined)) {
      await rm(join(root, path), { recursive: true, force: true });
      removed++;
    }
  }
  return removed;
}

export const PORTAGE_CLEANUP = {
  async 'portage-distfiles'(root: string) {
    return `removed ${await emptyDirectory(root, 'var/cache/distfiles')} entries from /var/cache/distfiles`;
  },
  async 'portage-binpkgs'(root: string) {
    return `removed ${await emptyDirectory(root, 'var/cache/binpkgs')} entries from /var/cache/binpkgs`;
  },
  async 'portage-binhost-cache'(root: string) {
    return `removed ${await emptyDirectory(root, 'var/cache/binhost')} entries from /var/cache/binhost`;
  },
  async 'portage-tmp'(root: string) {
    return `removed ${await emptyDirectory(root, 'var/tmp/portage')} entries from /var/tmp/portage`;
  },
  async 'portage-cache'(root: string) {
    return `removed ${await emptyDirectory(root, 'var/cache/edb')} entries from /var/cache/edb`;
  },
  async 'emerge-logs'(root: string) {
    const files = await removePaths(root, ['var/log/emerge.log', 'var/log/emerge-fetch.log']);
    const portage = await emptyDirectory(root, 'var/log/portage');
    return `removed ${files} emerge logs and ${portage} entries from /var/log/portage`;
  },
  async 'portage-gnupg'(root: string) {
    return (await removePaths(root, ['etc/portage/gnupg'])) ? 'removed /etc/portage/gnupg' : 'no /etc/portage/gnupg';
  },
  async 'gentoo-news'(root: string) {
    return `removed ${await emptyDirectory(root, 'var/lib/gentoo/news')} entries from /var/lib/gentoo/news`;
  },
} satisfies Record<string, (root: string) => Promise<string>>;
