/**
 * The package cache: .deb files one build downloaded are offered to the next, so a rebuild
 * after an overlay or configurator change downloads almost nothing.
 *
 * How mmdebstrap is told (its manual's sync-in/sync-out recipe, with one change for trust):
 * - a setup hook copies the cached .debs of the build's architecture (and `all`) into the new
 *   root's /var/cache/apt/archives/partial/, not into archives/ itself. apt takes a file in
 *   archives/ of the right size as downloaded without hashing it (apt 2.6: "Need to get 0 B"
 *   for a zeroed file), but treats one in partial/ as an interrupted download: it asks the
 *   mirror for the rest (the server answers that nothing is missing) and checks the whole
 *   file's hashes against the Packages index, whose Release file it verified with the
 *   archive's key. A match is used without transferring a byte; a mismatch is thrown away and
 *   downloaded again. So nothing in the cache is ever installed without apt's own check.
 * - `--skip=essential/unlink` keeps the essential packages mmdebstrap would delete after
 *   installing them, and a customize hook copies every .deb apt accepted back into the cache:
 *   each under a temporary name first, then renamed, so a reader (another build running at
 *   the same time) sees a whole file or none. Builds never share files while they run: each
 *   works on its own copies, so two builds at once need no lock.
 * mmdebstrap's cleanup then empties the image's apt cache as before.
 *
 * Deleting the cache directory (or any file in it) is always safe, even during a build: the
 * next build downloads what is missing.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** `'it'\''s'`: one shell word, whatever the text holds. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * Copies the cached .debs of one architecture (and `all`) into `<root>/var/cache/apt/archives/partial/`.
 * Arguments: root, cache directory, architecture. A missing cache is an empty one.
 */
export const SYNC_IN_SCRIPT = `set -eu
root=$1 cache=$2 arch=$3
partial="$root/var/cache/apt/archives/partial"
mkdir -p "$partial"
count=0
if [ -d "$cache" ]; then
  for deb in "$cache"/*_"$arch".deb "$cache"/*_all.deb; do
    [ -f "$deb" ] || continue
    cp --reflink=auto -- "$deb" "$partial/"
    count=$((count + 1))
  done
fi
echo "package cache: offered $count cached packages from $cache to apt, which checks each against the signed index"
`;

/**
 * Copies every .deb in `<root>/var/cache/apt/archives/` (what apt accepted) into the cache,
 * each through a temporary name and a rename. Arguments: root, cache directory.
 */
export const SYNC_OUT_SCRIPT = `set -eu
root=$1 cache=$2
mkdir -p "$cache"
count=0
for deb in "$root"/var/cache/apt/archives/*.deb; do
  [ -f "$deb" ] || continue
  name=\${deb##*/}
  if [ -f "$cache/$name" ] && cmp -s -- "$deb" "$cache/$name"; then continue; fi
  incoming="$cache/.incoming-$$-$name"
  cp --reflink=auto -- "$deb" "$incoming"
  mv -f -- "$incoming" "$cache/$name"
  count=$((count + 1))
done
echo "package cache: stored $count new packages in $cache"
`;

/** Temporary files a killed build left in the cache start with this. */
export const INCOMING_PREFIX = '.incoming-';

/**
 * mmdebstrap options that use `cacheDir` for `architecture`. Each hook is one shell command;
 * mmdebstrap passes the root directory as `$1`.
 */
export function debCacheMmdebstrapArgs(cacheDir: string, architecture: string): string[] {
  const hook = (name: string, script: string, ...args: string[]) =>
    `sh -c ${shellQuote(script)} ${name} "$1" ${args.map(shellQuote).join(' ')}`;
  return [
    `--setup-hook=${hook('nspawn-jitsi-cache-in', SYNC_IN_SCRIPT, cacheDir, architecture)}`,
    '--skip=essential/unlink',
    `--customize-hook=${hook('nspawn-jitsi-cache-out', SYNC_OUT_SCRIPT, cacheDir)}`,
  ];
}

/** A temporary file older than this was left by a build that was killed while storing it. */
const STALE_INCOMING_MS = 3600_000;

/** Removes temporary files killed builds left in the cache (a live build's are younger than an hour). */
export async function sweepIncoming(cacheDir: string, now = Date.now()): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(cacheDir).catch(() => [] as string[])) {
    if (!name.startsWith(INCOMING_PREFIX)) continue;
    const path = join(cacheDir, name);
    const info = await stat(path).catch(() => undefined);
    if (info && now - info.mtimeMs > STALE_INCOMING_MS) {
      await rm(path, { force: true });
      removed.push(name);
    }
  }
  return removed;
}
