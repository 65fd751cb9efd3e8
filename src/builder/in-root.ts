/**
 * Runs a program inside the rootfs being built (apt-get, debconf-set-selections,
 * update-ca-certificates), the way package scripts expect a system to look, without touching
 * the build host:
 * - fresh PID and mount namespaces tied to the build (isolatedCommand): every process a
 *   package script starts and every mount below end with the program, even on SIGKILL;
 * - /proc of that PID namespace, with /proc/sys read-only: a package script's `sysctl` (the
 *   videobridge's UDP buffers) must not change the build host, which shares its network;
 * - /dev and a read-only /sys from the host; fresh tmpfs on /run and /tmp, so nothing a
 *   script leaves there reaches the image;
 * - the host's /etc/resolv.conf over the image's (a bind mount: the image's file is not
 *   written), so apt can resolve its mirrors;
 * - optionally a host directory read-only at /run/jitsi-build/mirror (a `file:` mirror).
 * - PID 1 of the namespace stays outside the root, so `ischroot` in a package script answers
 *   yes and the script leaves the (absent) running init alone.
 * Daemons never start: a policy-rc.d answering 101 is the caller's business (it belongs in
 * the image only while packages install).
 */
import { lstat, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isolatedCommand } from './program-args.js';
import { runLogged, type RunOptions } from './run-program.js';
import type { BuildContext } from './stage.js';

/** Where a `file:` mirror appears inside the root while the build uses it. */
export const MIRROR_MOUNT = '/run/jitsi-build/mirror';

const MOUNT_SCRIPT = `set -e
root=$1; mirror=$2; shift 2
mount -t proc proc "$root/proc"
mount --bind -o ro "$root/proc/sys" "$root/proc/sys"
mount --rbind /dev "$root/dev"
mount -t sysfs -o ro sysfs "$root/sys"
mount -t tmpfs -o mode=0755 tmpfs "$root/run"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
mount --bind /etc/resolv.conf "$root/etc/resolv.conf"
if [ -n "$mirror" ]; then
  mkdir -p "$root${MIRROR_MOUNT}"
  mount --bind -o ro "$mirror" "$root${MIRROR_MOUNT}"
fi
# Not exec: this shell stays PID 1 of the namespace, outside the root, so ischroot(1) inside
# sees a chroot. A package script that thinks it runs on a live system signals PID 1 and
# writes to /dev (sysvinit-core's postinst: "init u", a /dev/initctl link on the host's /dev).
chroot "$root" "$@"`;

export interface InRootOptions extends Pick<RunOptions, 'input' | 'showOutput' | 'displayName' | 'env'> {
  /** A host directory to show read-only at MIRROR_MOUNT. */
  mirrorDir?: string;
}

/** Runs `argv` inside `ctx.rootfs` (see the file comment); returns its output. */
export async function runInRoot(ctx: BuildContext, argv: string[], options: InRootOptions = {}): Promise<string> {
  // The bind mount needs a regular file to cover. Anything else (a symlink would lead out of
  // the rootfs, to the host's file) is replaced by an empty file, which the resolv-conf cleanup
  // step owns afterwards.
  const resolvConf = join(ctx.rootfs, 'etc/resolv.conf');
  const info = await lstat(resolvConf).catch(() => undefined);
  if (!info?.isFile()) {
    if (info) await rm(resolvConf, { recursive: true });
    await writeFile(resolvConf, '', { mode: 0o644, flag: 'wx' });
  }
  const command = isolatedCommand('sh', ['-c', MOUNT_SCRIPT, 'in-root', ctx.rootfs, options.mirrorDir ?? '', ...argv]);
  return runLogged(ctx, command.file, command.args, {
    ...options,
    displayName: options.displayName ?? argv[0],
    env: { DEBIAN_FRONTEND: 'noninteractive', DEBCONF_NONINTERACTIVE_SEEN: 'true', PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...options.env },
  });
}
