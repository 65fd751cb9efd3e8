/**
 * Which of the server's packages dpkg installed, upgraded, configured or removed since the
 * configuration was last applied. dpkg logs every action to /var/log/dpkg.log; every run that
 * applies the configuration records how far that log went when it started (file and size),
 * and the apt hook reads only what came after. The log, not apt's view of one run, because
 * packages also change through plain `dpkg -i`, and the next apt run then catches up.
 */
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomically } from '../lib/atomic-write.js';
import { COMPONENTS } from './components/index.js';
import { pathInRoot } from './validators.js';

export const DPKG_LOG = '/var/log/dpkg.log';
/** `<inode> <size>` of the dpkg log when the last successful apply started. */
export const DPKG_LOG_POSITION = '/var/lib/jitsi-meet-config/dpkg-log-position';

export interface DpkgLogPosition {
  inode: number;
  offset: number;
}

/** Where the dpkg log ends now; undefined when there is none. */
export async function currentDpkgLogPosition(root: string): Promise<DpkgLogPosition | undefined> {
  const stats = await stat(pathInRoot(root, DPKG_LOG)).catch(() => undefined);
  return stats?.isFile() ? { inode: stats.ino, offset: stats.size } : undefined;
}

export async function recordDpkgLogPosition(root: string, position: DpkgLogPosition): Promise<void> {
  const path = pathInRoot(root, DPKG_LOG_POSITION);
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  await writeFileAtomically(path, `${position.inode} ${position.offset}\n`, { mode: 0o644 });
}

async function recordedPosition(root: string): Promise<DpkgLogPosition | undefined> {
  const text = await readFile(pathInRoot(root, DPKG_LOG_POSITION), 'utf8').catch(() => '');
  const match = /^(\d+) (\d+)\s*$/.exec(text);
  return match ? { inode: Number(match[1]), offset: Number(match[2]) } : undefined;
}

/** Debian packages the server's components come from. */
const COMPONENT_PACKAGES = new Set(COMPONENTS.flatMap((component) => component.packages));

/**
 * A package whose maintainer scripts may rewrite what the configurator owns: a component's
 * own, any of Jitsi's (jitsi-meet-turnserver replaces coturn's config, for one), and the
 * parts nginx and prosody come in.
 */
export function isServerPackage(name: string): boolean {
  return COMPONENT_PACKAGES.has(name) || /^(jitsi-|nginx-|libnginx-mod-|prosody-)/.test(name);
}

/** dpkg log lines that change a package: `<date> <time> <action> <package>:<arch> ...` and `status <state> <package>:<arch> ...`. */
const PACKAGE_ACTION = /^\S+ \S+ (?:(?:install|upgrade|configure|remove|purge|trigproc) |status \S+ )([a-z0-9][a-z0-9+.-]*)(?::\S+)? /;

/** Server packages (isServerPackage) acted on in this stretch of the dpkg log, in order of first mention. */
export function serverPackagesIn(logText: string): string[] {
  const found = new Set<string>();
  for (const line of logText.split('\n')) {
    const name = PACKAGE_ACTION.exec(line)?.[1];
    if (name && isServerPackage(name)) found.add(name);
  }
  return [...found];
}

export type PackageChanges =
  /** What dpkg did since the last apply is in the log: these server packages (maybe none). */
  | { known: true; packages: string[]; position: DpkgLogPosition }
  /** No record, or the log was rotated or truncated since: assume anything changed. */
  | { known: false; position?: DpkgLogPosition };

export async function serverPackageChanges(root: string): Promise<PackageChanges> {
  const now = await currentDpkgLogPosition(root);
  const last = await recordedPosition(root);
  if (!now || !last || last.inode !== now.inode || last.offset > now.offset) return { known: false, position: now };
  const length = now.offset - last.offset;
  const buffer = Buffer.alloc(length);
  const file = await open(pathInRoot(root, DPKG_LOG), 'r');
  try {
    await file.read(buffer, 0, length, last.offset);
  } finally {
    await file.close();
  }
  return { known: true, packages: serverPackagesIn(buffer.toString('utf8')), position: now };
}
