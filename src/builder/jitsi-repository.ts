/**
 * Where an image's Jitsi packages come from, and which OpenPGP key must sign them.
 *
 * `--jitsi-source` picks the repository:
 * - `upstream` (the default): the recipe's `jitsi.repository` (Jitsi's stable repository), with
 *   its key fetched from `jitsi.key-url`;
 * - an `http://`, `https://` or `file:` URL: a mirror of that repository (the directory holding
 *   `stable/`), with its key fetched from `<URL>/jitsi-key.gpg.key`;
 * - `none`: an image without Jitsi's packages.
 * Either way the key must have the recipe's pinned fingerprint (`jitsi.key-fingerprint`), and
 * the build refuses before anything is installed when it has not. `--jitsi-key FILE` trusts the
 * key in FILE instead, for a mirror whose operator signs it with a key of their own; the build
 * log then prints that key's fingerprint.
 *
 * Everything here is pure or reads only the key: the jitsi-packages stage does the installing.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { UserError } from '../lib/errors.js';
import { formatFingerprint, normalizeFingerprint, readKeyFile } from './openpgp-keys.js';
import type { JitsiRecipe } from './recipe/schema.js';

// Fingerprints are written and compared the same way for every pinned key (openpgp-keys.ts).
export { formatFingerprint, normalizeFingerprint } from './openpgp-keys.js';

/** What the build preseeds as the hostname: reserved (RFC 6761), so it can never be a real host. */
export const JITSI_PLACEHOLDER_HOSTNAME = 'jitsi-placeholder.invalid';
/** The keyring apt checks Jitsi's repository against, inside the image (`signed-by`). */
export const JITSI_KEYRING = '/usr/share/keyrings/jitsi-keyring.gpg';
/** The apt source of Jitsi's repository, inside the image (kept, so apt upgrade works there). */
export const JITSI_SOURCES_FILE = '/etc/apt/sources.list.d/jitsi-stable.list';
/** Where a mirror serves its key, next to `stable/`, as Jitsi's own site does. */
export const MIRROR_KEY_NAME = 'jitsi-key.gpg.key';

/** How long fetching the key may take before the build gives up. */
const KEY_FETCH_TIMEOUT_MS = 60_000;

export interface JitsiSource {
  /** Repository URL as written into the image's apt source (the directory holding the suite). */
  url: string;
  /** The suite of the flat repository, `stable/`. */
  suite: string;
  /** Where the key comes from: a URL (http, https, file) or, with --jitsi-key, a file. */
  key: { url: string } | { file: string };
  /** Fingerprint the key must have (40 hex digits, upper case); absent when --jitsi-key chose the key. */
  pinnedFingerprint?: string;
  /** Packages to install, each `name` or `name=version`. */
  packages: string[];
  /** Services the packages install that stay off until the configurator turns them on. */
  servicesOff: string[];
}

/**
 * Why `value` cannot be a repository URL, or undefined when it can: http(s) or file:, no
 * blanks or quotes (it becomes one apt source line), no query or fragment (paths are appended
 * to it), and a file: URL names a local path (`file:///srv/mirror`, not `file://srv/mirror`).
 */
export function repositoryUrlProblem(value: string): string | undefined {
  if (!/^(https?|file):\/\/?[^\s'"\\]+$/.test(value) || !URL.canParse(value)) return 'expected an http://, https:// or file: URL';
  const url = new URL(value);
  if (url.search || url.hash) return 'a repository URL takes no query or fragment (paths are appended to it)';
  if (url.protocol === 'file:' && url.host !== '' && url.host !== 'localhost') {
    return `a file: URL names a local directory: file:///${url.host}${url.pathname}, not file://${url.host}${url.pathname}`;
  }
  return undefined;
}

/**
 * The Jitsi source of a build from `--jitsi-source` and `--jitsi-key` and the recipe's `jitsi`
 * section; undefined for `none`. Throws a UserError saying what to pass instead.
 */
export function resolveJitsiSource(option: string | undefined, keyFile: string | undefined, recipe: JitsiRecipe | undefined, recipeFile: string): JitsiSource | undefined {
  const choice = option ?? 'upstream';
  if (choice === 'none') {
    if (keyFile) throw new UserError('--jitsi-key: there is no Jitsi repository to trust it for (--jitsi-source none)');
    return undefined;
  }
  if (!recipe) {
    throw new UserError(`--jitsi-source ${choice}: the recipe ${recipeFile} has no jitsi section (repository, key, packages); use --jitsi-source none or a recipe that includes one`);
  }
  let url: string;
  if (choice === 'upstream') url = recipe.repository;
  else {
    const problem = repositoryUrlProblem(choice);
    if (problem) throw new UserError(`--jitsi-source '${choice}': ${problem}; give upstream, none, or the URL of a mirror (the directory holding stable/)`);
    url = choice.replace(/\/+$/, '');
  }
  const key = keyFile ? { file: keyFile } : { url: choice === 'upstream' ? recipe['key-url'] : `${url}/${MIRROR_KEY_NAME}` };
  const pinned = keyFile ? undefined : normalizeFingerprint(recipe['key-fingerprint']);
  return {
    url,
    suite: recipe.suite,
    key,
    ...(pinned ? { pinnedFingerprint: pinned } : {}),
    packages: recipe.packages.map((pkg) => (pkg.version ? `${pkg.name}=${pkg.version}` : pkg.name)),
    servicesOff: recipe['services-off'],
  };
}

/** The apt source line for `url` (as apt inside the image reaches it). */
export function aptSourceLine(url: string, suite: string): string {
  return `deb [signed-by=${JITSI_KEYRING}] ${url} ${suite}`;
}

/** Reads the key's bytes from its URL or file; errors say where it was looked for. */
export async function fetchKey(key: JitsiSource['key'], signal?: AbortSignal): Promise<{ bytes: Uint8Array; from: string }> {
  if ('file' in key) {
    const bytes = await readFile(key.file).catch((error: NodeJS.ErrnoException) => {
      throw new UserError(`--jitsi-key ${key.file}: cannot read it (${error.code ?? error.message})`);
    });
    return { bytes, from: key.file };
  }
  if (key.url.startsWith('file:')) {
    const path = fileURLToPath(key.url);
    const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
      throw new UserError(`Jitsi's repository key ${key.url}: cannot read it (${error.code ?? error.message}); a mirror serves its key as ${MIRROR_KEY_NAME} next to stable/, or pass --jitsi-key FILE`);
    });
    return { bytes, from: key.url };
  }
  const timeout = AbortSignal.timeout(KEY_FETCH_TIMEOUT_MS);
  let response: Response;
  try {
    response = await fetch(key.url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout, redirect: 'follow' });
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new UserError(`cannot fetch Jitsi's repository key from ${key.url}: ${cause?.code ?? cause?.message ?? (error as Error).message}; check the network, or use --jitsi-source with a reachable mirror`);
  }
  if (!response.ok) {
    throw new UserError(`cannot fetch Jitsi's repository key from ${key.url}: HTTP ${response.status}; a mirror serves its key as ${MIRROR_KEY_NAME} next to stable/, or pass --jitsi-key FILE`);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  return { bytes, from: key.url };
}

export interface CheckedKey {
  /** 40 hex digits, upper case. */
  fingerprint: string;
  /** The public key alone, binary (what apt reads from a `.gpg` keyring). */
  keyring: Uint8Array;
}

/**
 * Parses the key file (armored or binary; exactly one public key) and, when a fingerprint is
 * pinned, checks it. The error of a mismatch says what was expected and what arrived.
 */
export async function checkKey(bytes: Uint8Array, from: string, pinnedFingerprint?: string): Promise<CheckedKey> {
  const keys = await readKeyFile(bytes, from);
  if (keys.length !== 1) {
    throw new UserError(`${from}: holds ${keys.length} keys (${keys.map((k) => formatFingerprint(k.getFingerprint())).join(', ')}); expected exactly one`);
  }
  const key = keys[0]!;
  if (key.isPrivate()) throw new UserError(`${from}: is a private key; give the public key only`);
  const fingerprint = key.getFingerprint().toUpperCase();
  if (pinnedFingerprint && fingerprint !== pinnedFingerprint) {
    throw new UserError(
      `Jitsi's repository key from ${from} has fingerprint ${formatFingerprint(fingerprint)}, but the recipe pins ${formatFingerprint(pinnedFingerprint)}; ` +
        'refusing it before anything is installed. If the mirror is signed by its operator with a key of their own, pass that key with --jitsi-key FILE.',
    );
  }
  return { fingerprint, keyring: key.write() };
}
