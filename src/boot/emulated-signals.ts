/**
 * Stopping a container whose init runs under qemu-user emulation (an arm64 image on an amd64
 * host). systemd-nspawn stops a container by sending its init the KillSignal, SIGRTMIN+3 for
 * systemd ("halt"). But the init is a qemu-user process, and qemu-user (7.2, Debian bookworm's
 * qemu-user-static) cannot hand real-time signals through one to one: its own glibc reserves the
 * first two host RT signals, so it maps host signal SIGRTMIN+n (34+n) to guest signal 32+n.
 * The guest's glibc also calls 34 its SIGRTMIN, so the guest sees SIGRTMIN+(n-2): host
 * SIGRTMIN+3 arrives as SIGRTMIN+1, which systemd takes as "isolate rescue.target" (what a
 * plain `systemd-nspawn -b` did on SIGTERM under emulation: the container fell into rescue mode
 * instead of halting). Sending host SIGRTMIN+5 delivers the guest's SIGRTMIN+3.
 * Standard signals (OpenRC images stop on SIGPWR) are passed through unchanged.
 */

/** Host RT signals qemu-user's glibc keeps for itself, shifting the guest's by this much. */
export const QEMU_RT_SIGNAL_SHIFT = 2;

/** The host signal to send so that an emulated guest receives `guestSignal`. */
export function hostSignalForEmulatedGuest(guestSignal: string): string {
  const match = /^SIGRTMIN\+(\d+)$/.exec(guestSignal);
  if (!match) return guestSignal;
  return `SIGRTMIN+${Number(match[1]) + QEMU_RT_SIGNAL_SHIFT}`;
}
