/**
 * The systemd-nspawn command line that runs one command of the emerge plan inside the Gentoo
 * root (issue 12: portage runs in the stage3 under systemd-nspawn, not a bare chroot): its own
 * PID, IPC and mount namespaces with /proc, /sys and /dev as a container gets them, the host's
 * network (the binary host and source mirrors must be reachable) and DNS.
 *
 * - `--as-pid2`: a stub init as PID 1 reaps what the builds leave; emerge is not an init.
 * - `--register=no --keep-unit`: nothing asks machined or systemd for a scope, so it also runs
 *   on build hosts whose PID 1 is not systemd (build containers) and leaves no machine behind.
 * - `--private-users=no`: files keep the owners portage gives them (portage's uid 250, the
 *   packages' users); a shifted range would end up in the image.
 * - `--resolv-conf=bind-host`: the host's resolv.conf is bind-mounted over the image's, not
 *   copied into it; `--timezone=off`: /etc/localtime is not touched; `--link-journal=no`: no
 *   journal link to the host.
 * - `--pipe`: plain stdin/stdout/stderr for the build log, nothing interactive.
 * - `--setenv` for every variable of the plan: the command's whole environment is the plan's.
 */
export interface NspawnRunInput {
  root: string;
  /** Container name: unique per build (the build's PID), [a-zA-Z0-9-] only. */
  machine: string;
  env: Record<string, string>;
  argv: string[];
}

export function nspawnRunArgs(input: NspawnRunInput): string[] {
  if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/.test(input.machine)) throw new Error(`'${input.machine}' is not a machine name`);
  if (input.argv.length === 0) throw new Error('no command to run in the container');
  for (const name of Object.keys(input.env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`'${name}' is not an environment variable name`);
  }
  return [
    '--quiet',
    `--directory=${input.root}`,
    `--machine=${input.machine}`,
    '--as-pid2',
    '--register=no',
    '--keep-unit',
    '--private-users=no',
    '--resolv-conf=bind-host',
    '--timezone=off',
    '--link-journal=no',
    '--pipe',
    ...Object.entries(input.env).map(([name, value]) => `--setenv=${name}=${value}`),
    '--',
    ...input.argv,
  ];
}
