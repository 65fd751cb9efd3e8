/**
 * Which other hostnames this machine still holds our files for. A hostname change removes
 * the old host's files; the files on disk, not the previous master config, say which host
 * that is: a change interrupted after the master config was written (a full disk, a kill)
 * leaves the old host's files while the master config already names the new one, and only
 * the disk tells the next run what to clean up.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkHostname } from '../validators.js';

/** Every generated text file carries this within its first lines. */
const OUR_MARKER = 'Written by jitsi-meet-config';

/** Per-host files, by directory and name pattern; `ours` asks for our marker (others may ship files there). */
const PER_HOST_FILES: readonly { dir: string; pattern: RegExp; ours: boolean }[] = [
  { dir: '/etc/jitsi/meet', pattern: /^(.+)-config\.js$/, ours: true },
  { dir: '/etc/prosody/conf.avail', pattern: /^(.+)\.cfg\.lua$/, ours: true },
  { dir: '/etc/nginx/sites-available', pattern: /^(.+)\.conf$/, ours: true },
  // Certificates carry no marker, but only the configurator writes this directory.
  { dir: '/etc/jitsi/tls', pattern: /^(?:auth\.)?(.+)\.crt$/, ours: false },
];

async function isOurs(path: string): Promise<boolean> {
  const head = await readFile(path, 'utf8').then((text) => text.slice(0, 400), () => '');
  return head.includes(OUR_MARKER);
}

/** Hostnames other than `current` that our files on disk under `root` are for, sorted. */
export async function staleHostnames(root: string, current: string, previous?: string): Promise<string[]> {
  const found = new Set<string>();
  if (previous && previous !== current) found.add(previous);
  for (const { dir, pattern, ours } of PER_HOST_FILES) {
    const names = await readdir(join(root, dir)).catch(() => [] as string[]);
    for (const name of names) {
      const host = pattern.exec(name)?.[1];
      // Only names a hostname answer could have produced: never act on an arbitrary file.
      if (!host || host === current || checkHostname(host) !== undefined) continue;
      if (ours && !(await isOurs(join(root, dir, name)))) continue;
      found.add(host);
    }
  }
  found.delete(current);
  return [...found].sort();
}
