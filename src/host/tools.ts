/**
 * Host programs we call, and the Debian package that provides each. A missing one is
 * reported as one line naming the package, before any work starts.
 */
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../lib/errors.js';

export const HOST_TOOLS = {
  mmdebstrap: 'mmdebstrap',
  tar: 'tar',
  xz: 'xz-utils',
  zstd: 'zstd',
  'systemd-nspawn': 'systemd-container',
  nsenter: 'util-linux',
  gpg: 'gnupg',
  openssl: 'openssl',
  unshare: 'util-linux',
  chroot: 'coreutils',
  'dpkg-query': 'dpkg',
  'dpkg-deb': 'dpkg',
  groupadd: 'passwd',
  useradd: 'passwd',
} as const;

export type HostTool = keyof typeof HOST_TOOLS;

export async function findInPath(command: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  const dirs = [...path.split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin'].filter(Boolean);
  for (const dir of dirs) {
    const candidate = join(dir, command);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/** Throws one UserError listing every missing tool with `apt-get install` of its package. */
export async function requireHostTools(tools: readonly HostTool[]): Promise<void> {
  const missing: HostTool[] = [];
  for (const tool of tools) if (!(await findInPath(tool))) missing.push(tool);
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((tool) => HOST_TOOLS[tool]))];
  throw new UserError(
    `missing host tool${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}; install with: apt-get install ${packages.join(' ')}`,
  );
}

/** The host's Debian architecture (`dpkg --print-architecture`): what the build bootstraps unless the recipe says otherwise. */
export async function hostArchitecture(): Promise<string> {
  const { stdout } = await execa('dpkg', ['--print-architecture'], { stdin: 'ignore' });
  return stdout.trim();
}
