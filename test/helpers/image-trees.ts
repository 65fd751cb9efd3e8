/**
 * Small crafted image trees and archives for the inspect tests, packed with GNU tar the way
 * the build packs real images (or, for the archives an attacker would craft, the way GNU tar
 * can be told to write them).
 */
import { chmod, mkdir, open, symlink, truncate, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { scratchDir } from './scratch.js';

export type Tree = Record<
  string,
  | string
  | {
      content?: string;
      mode?: number;
      link?: string;
      dir?: true;
      /** A sparse file of this many bytes: `content` at the start, `tail` at the end, a hole between. */
      sparseSize?: number;
      tail?: string;
      /** More data regions of a sparse file: content by offset. */
      regions?: Record<number, string>;
      /** File capabilities, as setcap(8) takes them (`cap_net_raw=ep`). */
      caps?: string;
    }
>;

export const DPKG_STATUS = [
  'Package: systemd-sysv\nStatus: install ok installed\nVersion: 252.39-1~deb12u2\n',
  'Package: prosody\nStatus: install ok installed\nVersion: 0.12.3-1+deb12u1\n',
  'Package: nginx\nStatus: install ok installed\nVersion: 1.22.1-9+deb12u11\n',
  'Package: jicofo\nStatus: deinstall ok config-files\nVersion: 1.0-1\n',
  'Package: jitsi-videobridge2\nStatus: install ok installed\nVersion: 2.3-1-g1\n',
].join('\n');

/** What a well-prepared image looks like (in miniature). */
export const CLEAN_TREE: Tree = {
  'usr/lib/os-release': 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n',
  'etc/os-release': { link: '../usr/lib/os-release' },
  'var/lib/dpkg/status': DPKG_STATUS,
  'etc/machine-id': 'uninitialized\n',
  'etc/shadow': { content: 'root:*:19000:0:99999:7:::\nprosody:!:19000::::::\n', mode: 0o640 },
  'usr/bin/su': { content: 'ELF', mode: 0o4755 },
  'usr/bin/big': 'x'.repeat(5000),
  'tmp': { dir: true, mode: 0o1777 },
  'etc/ssl/certs/ssl-cert-snakeoil.pem': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
  'var/lib/apt/lists/lock': '',
};

export async function makeTree(tree: Tree): Promise<string> {
  const root = await scratchDir('inspect-tree-');
  for (const [path, spec] of Object.entries(tree)) {
    const full = join(root, path);
    await mkdir(dirname(full), { recursive: true });
    const item = typeof spec === 'string' ? { content: spec } : spec;
    if (item.link) await symlink(item.link, full);
    else if (item.dir) await mkdir(full, { recursive: true });
    else await writeFile(full, item.content ?? '');
    if (item.sparseSize !== undefined) {
      // Growing a file with truncate leaves a hole: no blocks are allocated for it.
      await truncate(full, item.sparseSize);
      const writes: [number, string][] = Object.entries(item.regions ?? {}).map(([offset, data]) => [Number(offset), data]);
      if (item.tail) writes.push([item.sparseSize - item.tail.length, item.tail]);
      const handle = await open(full, 'r+');
      for (const [offset, data] of writes) await handle.write(data, offset);
      await handle.close();
    }
    if (item.mode !== undefined) await chmod(full, item.mode);
    if (item.caps) await execa('setcap', [item.caps, full]);
  }
  return root;
}

const COMPRESSOR: Record<string, string[]> = { '.tar': [], '.tar.xz': ['--use-compress-program=xz -0'], '.tar.zst': ['--zstd'], '.tar.gz': ['--gzip'] };

/**
 * Packs `root` like the build does (`./`-prefixed names, numeric owners, pax). `extraArgs`
 * come last, so a `--format` there replaces pax.
 */
export async function packTree(root: string, extension = '.tar.zst', extraArgs: string[] = []): Promise<string> {
  const archive = join(await scratchDir('inspect-archive-'), `image${extension}`);
  await execa('tar', ['--sort=name', '--numeric-owner', '--format=pax', ...COMPRESSOR[extension], ...extraArgs, '-C', root, '-cf', archive, '.']);
  return archive;
}
