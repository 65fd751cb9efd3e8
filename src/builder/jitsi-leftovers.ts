/**
 * The cleanup steps for what Jitsi's maintainer scripts make at install time for the
 * placeholder hostname and with freshly generated secrets: per-host state that must not ship
 * (every container would share the keys and passwords, and the placeholder's names would
 * linger). Users, groups, units, init scripts, packaged defaults (logging.properties, the sysctl
 * file) stay. Each step is a no-op on an image without Jitsi's packages.
 */
import { lstat, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JITSI_PLACEHOLDER_HOSTNAME } from './jitsi-repository.js';

/** Runs a program inside the rootfs (the cleanup stage passes runInRoot bound to the build). */
export type InRoot = (argv: string[]) => Promise<string>;

/** `name` is the placeholder or one of its subdomains (auth., guest., conference., ...). */
function isPlaceholderName(name: string): boolean {
  return name === JITSI_PLACEHOLDER_HOSTNAME || name.endsWith(`.${JITSI_PLACEHOLDER_HOSTNAME}`);
}

/** Prosody's store directory name for a host: every byte but letters and digits as %xx. */
function unescapeProsodyStore(name: string): string {
  return name.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

async function entries(rootfs: string, dir: string): Promise<string[]> {
  return readdir(join(rootfs, dir)).catch(() => [] as string[]);
}

async function removePaths(rootfs: string, paths: string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const path of paths) {
    if (await lstat(join(rootfs, path)).catch(() => undefined)) {
      await rm(join(rootfs, path), { recursive: true, force: true });
      removed.push(`/${path}`);
    }
  }
  return removed;
}

/** `/a, /b` or `nothing`, for the step's log line. */
function said(removed: string[]): string {
  return removed.length ? `removed ${removed.join(', ')}` : 'nothing to remove';
}

/** Prosody host files (conf.avail and their conf.d links) and web configs for the placeholder. */
export async function removePlaceholderHostFiles(rootfs: string): Promise<string> {
  const paths: string[] = [];
  for (const dir of ['etc/prosody/conf.avail', 'etc/prosody/conf.d']) {
    for (const name of await entries(rootfs, dir)) if (isPlaceholderName(name.replace(/\.cfg\.lua$/, ''))) paths.push(join(dir, name));
  }
  for (const name of await entries(rootfs, 'etc/jitsi/meet')) if (isPlaceholderName(name.replace(/-config\.js$/, ''))) paths.push(join('etc/jitsi/meet', name));
  for (const dir of ['etc/nginx/sites-available', 'etc/nginx/sites-enabled']) {
    for (const name of await entries(rootfs, dir)) if (isPlaceholderName(name.replace(/\.conf$/, ''))) paths.push(join(dir, name));
  }
  return said(await removePaths(rootfs, paths));
}

/**
 * Certificates and keys made for the placeholder (prosody's, their links, web ones) and the
 * auth certificate's entry in the CA store; the store (and Java's, through its hook) is then
 * rebuilt, so no trusted placeholder certificate is left.
 */
export async function removePlaceholderCertificates(rootfs: string, inRoot?: InRoot): Promise<string> {
  const paths: string[] = [];
  const certificateName = /^(.+)\.(crt|key|pem|csr|cnf)$/;
  for (const dir of ['var/lib/prosody', 'etc/prosody/certs', 'etc/jitsi/meet']) {
    for (const name of await entries(rootfs, dir)) {
      const base = certificateName.exec(name)?.[1];
      if (base && isPlaceholderName(base)) paths.push(join(dir, name));
    }
  }
  const trusted: string[] = [];
  for (const name of await entries(rootfs, 'usr/local/share/ca-certificates')) {
    const base = certificateName.exec(name)?.[1];
    if (base && isPlaceholderName(base)) trusted.push(join('usr/local/share/ca-certificates', name));
  }
  const removed = [...(await removePaths(rootfs, paths)), ...(await removePaths(rootfs, trusted))];
  if (trusted.length) {
    if (!inRoot) throw new Error('the CA store lists a placeholder certificate, and rebuilding it needs the image');
    // --fresh rebuilds /etc/ssl/certs and the bundle from what is left. Java's hook is only told
    // what was added, so the placeholder's entry is deleted from Java's store by alias.
    await inRoot(['update-ca-certificates', '--fresh']);
    for (const alias of await placeholderJavaEntries(rootfs, inRoot)) {
      await inRoot(['keytool', '-delete', '-noprompt', '-alias', alias, '-keystore', JAVA_CA_STORE, '-storepass', JAVA_CA_STORE_PASSWORD]);
    }
    const stillTrusted = await placeholderJavaEntries(rootfs, inRoot);
    if (stillTrusted.length) throw new Error(`Java's CA store still trusts ${stillTrusted.join(', ')} after deleting it`);
    return `${said(removed)}; CA store rebuilt, placeholder out of Java's store`;
  }
  return said(removed);
}

const JAVA_CA_STORE = '/etc/ssl/certs/java/cacerts';
/** ca-certificates-java's store password: the well-known default, not a secret. */
const JAVA_CA_STORE_PASSWORD = 'changeit';

/** Aliases in Java's CA store (when the image has one) that name the placeholder. */
async function placeholderJavaEntries(rootfs: string, inRoot: InRoot): Promise<string[]> {
  if (!(await lstat(join(rootfs, JAVA_CA_STORE.slice(1))).catch(() => undefined))) return [];
  const listing = await inRoot(['keytool', '-list', '-keystore', JAVA_CA_STORE, '-storepass', JAVA_CA_STORE_PASSWORD]);
  return listing
    .split('\n')
    .map((line) => line.split(',')[0]!.trim())
    .filter((alias) => alias.includes(JITSI_PLACEHOLDER_HOSTNAME));
}

/** Prosody's stored data for the placeholder's hosts: the focus and jvb accounts, rosters. */
export async function removePlaceholderAccounts(rootfs: string): Promise<string> {
  const stores = (await entries(rootfs, 'var/lib/prosody')).filter((name) => isPlaceholderName(unescapeProsodyStore(name)));
  return said(await removePaths(rootfs, stores.map((name) => join('var/lib/prosody', name))));
}

/**
 * The configs jicofo's and the videobridge's scripts generate with the placeholder's names and
 * fresh passwords; the configurator writes its own.
 */
export const GENERATED_JITSI_CONFIGS = ['etc/jitsi/jicofo/jicofo.conf', 'etc/jitsi/jicofo/config', 'etc/jitsi/videobridge/jvb.conf', 'etc/jitsi/videobridge/config', 'etc/jitsi/videobridge/sip-communicator.properties'];

export async function removeGeneratedJitsiConfigs(rootfs: string): Promise<string> {
  return said(await removePaths(rootfs, GENERATED_JITSI_CONFIGS));
}

/** Debconf questions of Jitsi's packages whose answers are secrets the scripts generate. */
export const JITSI_DEBCONF_SECRETS = ['jitsi-videobridge/jvbsecret', 'jicofo/jicofo-authpassword', 'jitsi-meet-prosody/turn-secret'];

/**
 * debconf's database files are stanzas of `Field: value` lines separated by blank lines. Drops
 * the `Value:` line of each stanza whose `Name:` is in `names`; returns the new text and how
 * many values went.
 */
export function dropDebconfValues(text: string, names: ReadonlySet<string>): { text: string; dropped: number } {
  let dropped = 0;
  const stanzas = text.split(/\n\n/).map((stanza) => {
    const name = /^Name: (.*)$/m.exec(stanza)?.[1];
    if (!name || !names.has(name)) return stanza;
    const lines = stanza.split('\n');
    const kept = lines.filter((line) => !line.startsWith('Value:'));
    dropped += lines.length - kept.length;
    return kept.join('\n');
  });
  return { text: stanzas.join('\n\n'), dropped };
}

/** Jitsi's secret answers (and any other password-type question of Jitsi's templates) removed from debconf. */
export async function removeDebconfSecrets(rootfs: string): Promise<string> {
  const names = new Set(JITSI_DEBCONF_SECRETS);
  const templates = await readFile(join(rootfs, 'var/cache/debconf/templates.dat'), 'utf8').catch(() => '');
  for (const stanza of templates.split(/\n\n/)) {
    const name = /^Name: (.*)$/m.exec(stanza)?.[1];
    if (name && /^(jitsi|jicofo)/.test(name) && /^Type: password$/m.test(stanza)) names.add(name);
  }
  let total = 0;
  for (const file of ['var/cache/debconf/config.dat', 'var/cache/debconf/passwords.dat']) {
    const path = join(rootfs, file);
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const { text: cleaned, dropped } = dropDebconfValues(text, names);
    if (dropped) await writeFile(path, cleaned);
    total += dropped;
  }
  return total ? `removed ${total} secret answers` : 'no secret answers';
}
