/**
 * Booting a systemd image under qemu-user emulation: units with credentials fail. Before
 * running a unit with `LoadCredential=` or `SetCredential=`, systemd forks a helper straight
 * into a new mount namespace (`clone(CLONE_NEWNS|SIGCHLD)`) to fill its credentials directory.
 * qemu-user (7.2) implements clone() only for plain forks and threads and answers any
 * namespace flag with EINVAL (seen with QEMU_STRACE=1: `clone(CLONE_NEWNS|0x11,...) = -1
 * errno=22`), so every such unit fails at step CREDENTIALS: systemd-tmpfiles-setup-dev,
 * systemd-tmpfiles-setup, systemd-sysusers and systemd-firstboot in our images. On arm64
 * hardware nothing is emulated and they run normally.
 *
 * Only for an emulated boot of an unpacked copy (never the image itself), the boot helper
 * gives those units a drop-in that clears their credential lines. None of our images is
 * given credentials (they are an optional way to provision tmpfiles lines, passwords and
 * first-boot settings), so the units then do what they do on hardware.
 */

/** `LoadCredential=`, `SetCredential=` and their `Encrypted` forms, set to something. */
const CREDENTIAL_LINE = /^\s*(Load|Set)Credential(Encrypted)?\s*=\s*\S/m;

/** The unit files (name -> text) that set credentials. */
export function unitsWithCredentials(units: ReadonlyMap<string, string>): string[] {
  return [...units].filter(([name, text]) => name.endsWith('.service') && CREDENTIAL_LINE.test(text)).map(([name]) => name).sort();
}

/** The drop-in's name in `/etc/systemd/system/<unit>.d/`. */
export const EMULATION_DROP_IN = '90-nspawn-jitsi-qemu-user.conf';

/** A drop-in that empties a unit's credential lists (an empty assignment resets a list). */
export function credentialsDropIn(): string {
  return [
    '# Written by nspawn-jitsi into an emulated boot\'s copy of the image, never into the image:',
    '# qemu-user cannot clone() into a new mount namespace, which systemd needs to set up',
    '# credentials, so a unit with credentials would fail at step CREDENTIALS.',
    '[Service]',
    'LoadCredential=',
    'LoadCredentialEncrypted=',
    'SetCredential=',
    'SetCredentialEncrypted=',
    '',
  ].join('\n');
}
