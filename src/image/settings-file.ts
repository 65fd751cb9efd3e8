/**
 * The `.nspawn` settings file shipped beside each tarball. `machinectl start` runs
 * systemd-nspawn@.service, whose command line turns on a private user namespace (`-U`) and a
 * veth link (`--network-veth`); this file, placed in /etc/systemd/nspawn/, overrides both so the
 * server sits on the host's network (Jitsi needs its public UDP/TCP ports there) and owns its
 * files with real uids. It states every setting it relies on (`Private=no` as well as
 * `VirtualEthernet=no`) rather than trusting defaults that the unit's command line changes.
 *
 * Anywhere else (notably /var/lib/machines/<machine>.nspawn, where `machinectl pull-tar` saves
 * it) systemd applies none of these privileged settings, and the container silently gets the
 * unit's private network. The file says so, and the configurator refuses to configure such a
 * container (src/configurator/network-check.ts).
 *
 * OpenRC images boot sysvinit as PID 1, which ignores systemd's stop signal (SIGRTMIN+3) and
 * SIGTERM alike. It acts on SIGPWR: with no /run/powerstatus file it runs the inittab
 * `powerwait`/`powerfail` actions, which the OpenRC overlays' inittabs
 * (overlays/debian-openrc/etc/inittab, overlays/gentoo-openrc/etc/inittab) point at a clean halt. SIGINT is left to `ctrlaltdel`, which stays a reboot, so `machinectl reboot`
 * (it sends SIGINT to the container's PID 1) still reboots.
 */
import type { InitSystem } from '../lib/init-systems.js';

/** Signal systemd-nspawn sends to the container's PID 1 to stop it, per init system. */
export const KILL_SIGNAL: Record<InitSystem, string> = {
  // systemd's own default, written out so the file says what happens.
  systemd: 'SIGRTMIN+3',
  openrc: 'SIGPWR',
};

export function nspawnSettings(init: InitSystem): string {
  const lines = [
    `# systemd-nspawn settings for the ${init} Jitsi Meet image.`,
    '# Install as /etc/systemd/nspawn/<machine>.nspawn (mkdir -p /etc/systemd/nspawn first):',
    '# only there (or in /run/systemd/nspawn/) do all the settings below take effect. Beside the',
    '# image in /var/lib/machines/ systemd ignores the privileged ones (network, user namespace,',
    '# capabilities): the container gets a private network that nobody outside can reach, and',
    '# jitsi-meet-config refuses to configure it.',
    '',
    '[Exec]',
    'Boot=yes',
    '# Files keep the uids in the image; no user namespace remapping.',
    'PrivateUsers=no',
    '# No Capability= line on purpose: on the host network CAP_NET_ADMIN would let the container',
    "# change the host's addresses and routes, and nothing in the image needs it.",
  ];
  if (init === 'systemd') {
    lines.push(
      "# Report the container as started only once systemd inside has finished booting, so",
      "# `machinectl start` returns when `machinectl shell` and the configurator can be used.",
      'NotifyReady=yes',
    );
  }
  if (init === 'openrc') {
    lines.push(
      '# sysvinit ignores SIGRTMIN+3 and SIGTERM; SIGPWR runs the inittab powerfail action,',
      '# which this image points at a clean halt.',
      `KillSignal=${KILL_SIGNAL.openrc}`,
    );
  }
  lines.push(
    '',
    '[Network]',
    "# Host network: the server answers on the host's addresses and ports. Both lines are needed:",
    "# systemd-nspawn@.service asks for a veth link on its command line.",
    'Private=no',
    'VirtualEthernet=no',
    '',
  );
  return lines.join('\n');
}
