/**
 * Which other hostnames this machine still holds our files for (or, for prosody, files Jitsi's
 * packages made). A hostname change removes
 * the old host's files; the files on disk, not the previous master config, say which host
 * that is: a change interrupted after the master config was written (a full disk, a kill)
 * leaves the old host's files while the master config already names the new one, and only
 * the disk tells the next run what to clean up.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROSODY_PLUGINS_DIR } from '../components/prosody/index.js';
import type { DistributionLayout } from '../distribution.js';
import { checkHostname } from '../validators.js';

/** Every generated text file carries this within its first lines. */
const OUR_MARKER = 'Written by jitsi-meet-config';

async function head(path: string): Promise<string> {
  return readFile(path, 'utf8').then((text) => text.slice(0, 400), () => '');
}

async function isOurs(path: string): Promise<boolean> {
  return (await head(path)).includes(OUR_MARKER);
}

/**
 * A prosody host file jitsi-meet-prosody's postinst made from the package's template, which
 * loads Jitsi's plugins first thing. The package makes one for its debconf hostname whenever
 * that has none, on upgrades too: in an image built with a placeholder hostname, or after a
 * hostname change the package was not told about, it is for a host this server is not.
 */
async function isOursOrJitsiPackages(path: string): Promise<boolean> {
  const text = await head(path);
  return text.includes(OUR_MARKER) || text.includes(`plugin_paths = { "${PROSODY_PLUGINS_DIR}/" }`);
}

/** Per-host files, by directory and name pattern, and which of them count (others may ship files there). */
function perHostFiles(layout: DistributionLayout): readonly { dir: string; pattern: RegExp; counts: (path: string) => Promise<boolean> }[] {
  return [
    { dir: '/etc/jitsi/meet', pattern: /^(.+)-config\.js$/, counts: isOurs },
    { dir: `${layout.prosody.configDir}/conf.avail`, pattern: /^(.+)\.cfg\.lua$/, counts: isOursOrJitsiPackages },
    // Where other sites may live too (Gentoo's conf.d/): only files with our marker count.
    { dir: layout.nginx.siteDir, pattern: /^(.+)\.conf$/, counts: isOurs },
    // Certificates carry no marker, but only the configurator writes this directory.
    { dir: '/etc/jitsi/tls', pattern: /^(?:auth\.)?(.+)\.crt$/, counts: async () => true },
  ];
}

/** Hostnames other than `current` that our files on disk under `root` are for, sorted. */
export async function staleHostnames(root: string, layout: DistributionLayout, current: string, previous?: string): Promise<string[]> {
  const found = new Set<string>();
  if (previous && previous !== current) found.add(previous);
  for (const { dir, pattern, counts } of perHostFiles(layout)) {
    const names = await readdir(join(root, dir)).catch(() => [] as string[]);
    for (const name of names) {
      const host = pattern.exec(name)?.[1];
      // Only names a hostname answer could have produced: never act on an arbitrary file.
      if (!host || host === current || checkHostname(host) !== undefined) continue;
      if (!(await counts(join(root, dir, name)))) continue;
      found.add(host);
    }
  }
  found.delete(current);
  return [...found].sort();
}
