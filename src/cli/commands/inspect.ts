/** `nspawn-jitsi inspect`: what an image tarball holds and whether it is fit to publish. */
import { errorCount, formatInspectReport, inspectTarball } from '../../release/inspect/index.js';
import type { CommandSpec } from '../options.js';

export const inspectCommand: CommandSpec = {
  name: 'inspect',
  summary: 'Report the contents of an image tarball and problems that must not ship.',
  description: `
Reads TARBALL (.tar, .tar.xz, .tar.zst, .tar.gz, .tar.bz2; detected by content) in one
streaming pass, seeing each entry as GNU tar extracts it (sparse files under their real
names and sizes), and prints: size by top-level directory, the os-release, the init system,
the installed versions of jicofo, jitsi-videobridge2, jitsi-meet-web, jitsi-meet-prosody,
prosody, nginx and coturn, and findings. Errors: per-instance state (machine-id, ssh host
keys, systemd random seed or credential secret, private keys, prosody accounts, a usable
root password), world-writable files or directories without the sticky bit, file
capabilities that lead to root (cap_setuid, cap_sys_admin, cap_dac_override...), absolute
or '..' paths, entries written through an absolute or '..' symbolic link in the archive,
and entries it cannot interpret (a damaged archive, unknown types) or that follow the
end-of-archive marker (tar --ignore-zeros, as machinectl pull-tar runs it, extracts them).
Warnings: unexpected setuid/setgid programs, ordinary capabilities (cap_net_raw...),
entries written through a relative symbolic link, apt lists and caches, other accounts with
passwords, no os-release or init. The exit code is 1 when there is an error, 0 otherwise.
xz, zstd, gzip and bzip2 archives need the host's xz, zstd, gzip or bzip2 program.`,
  options: [{ name: 'json', type: 'boolean', doc: 'Print the report as JSON instead of text.' }],
  positionals: [{ name: 'TARBALL', doc: 'The image archive to inspect.', required: true }],
  async run({ options, positionals }) {
    const report = await inspectTarball(positionals[0]);
    process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatInspectReport(report));
    return errorCount(report) > 0 ? 1 : 0;
  },
};
