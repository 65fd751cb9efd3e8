/**
 * The installed packages of a Gentoo root, read from portage's database of installed packages,
 * /var/db/pkg/<category>/<name>-<version>/, for the image's `.packages` list (the Debian path
 * reads dpkg's). Portage names each directory by category and `PF` (name, version, revision)
 * and keeps one file per metadata field in it: SLOT (`slot` or `slot/subslot`), CHOST (the
 * target the package was built for), repository, and more. Directories portage is merging
 * (`-MERGING-<PF>`) and dot files are not installed packages.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Architecture } from '../../host/emulation.js';

export interface InstalledPackage {
  category: string;
  /** Package name, PN. */
  name: string;
  /** Version with revision, PVR (`1.26.2-r1`). */
  version: string;
  /** SLOT without the subslot. */
  slot: string;
  /** Debian-style architecture name of the CHOST it was built for (amd64, arm64). */
  architecture: string;
}

/** The database of installed packages, relative to the root. */
export const VDB_PATH = 'var/db/pkg';

const VERSION_AT_END = /^(.+?)-([0-9]+(?:\.[0-9]+)*[a-z]?(?:_(?:alpha|beta|pre|rc|p)[0-9]*)*(?:-r[0-9]+)?)$/;

/** `nginx-1.26.2-r1` -> nginx, 1.26.2-r1; undefined when it does not end in a version. */
export function splitPackageVersion(pf: string): { name: string; version: string } | undefined {
  const match = VERSION_AT_END.exec(pf);
  return match ? { name: match[1], version: match[2] } : undefined;
}

/** CHOST's machine part as the architecture names images use. */
export function architectureOfChost(chost: string): string {
  const machine = chost.split('-')[0];
  return ({ x86_64: 'amd64', aarch64: 'arm64' } as Record<string, string>)[machine] ?? machine;
}

async function field(dir: string, name: string): Promise<string | undefined> {
  const text = await readFile(join(dir, name), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  return text?.trim();
}

/**
 * Every installed package under `root`, sorted by category, name and slot. A directory whose
 * name is not `<name>-<version>` is reported, not skipped: a list that silently leaves a
 * package out would mislead. `fallbackArchitecture` is used for a package without CHOST.
 */
export async function readInstalledPackages(root: string, fallbackArchitecture: Architecture): Promise<InstalledPackage[]> {
  const vdb = join(root, VDB_PATH);
  const packages: InstalledPackage[] = [];
  const categories = await readdir(vdb, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new Error(`${vdb} does not exist: not a Gentoo root, or nothing was ever installed in it`);
    throw error;
  });
  for (const category of categories) {
    if (!category.isDirectory() || category.name.startsWith('.')) continue;
    for (const entry of await readdir(join(vdb, category.name), { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.') || entry.name.startsWith('-MERGING-')) continue;
      const dir = join(vdb, category.name, entry.name);
      const split = splitPackageVersion(entry.name);
      if (!split) throw new Error(`${dir}: not <name>-<version>; is this portage's database of installed packages?`);
      const slot = (await field(dir, 'SLOT'))?.split('/')[0] || '0';
      const chost = await field(dir, 'CHOST');
      packages.push({ category: category.name, ...split, slot, architecture: chost ? architectureOfChost(chost) : fallbackArchitecture });
    }
  }
  const key = (pkg: InstalledPackage) => `${pkg.category}/${pkg.name}:${pkg.slot}`;
  // Code unit order, as the Debian list sorts: the same on every host, whatever its locale.
  return packages.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** The `.packages` text: `category/name:slot version architecture`, one per line. */
export function gentooPackageListText(packages: InstalledPackage[]): string {
  return packages.map((pkg) => `${pkg.category}/${pkg.name}:${pkg.slot} ${pkg.version} ${pkg.architecture}\n`).join('');
}
