/**
 * Input rules for the master config. Each `check*` returns undefined when the value is
 * fine, else one sentence saying what is wrong and what a valid value looks like; the
 * prompts show that sentence and ask again, `--answers` lists it with its key.
 */
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { isAbsolute, join } from 'node:path';
import { isIP } from 'node:net';
import { UserError } from '../lib/errors.js';
import { isLocalHostname, isPublicAddress, isPublicHostname } from './addresses.js';
import { readSmallRegularFile } from './small-file.js';

export { isLocalHostname, isPublicAddress, isPublicHostname };

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

export function checkHostname(value: string): string | undefined {
  if (value === 'localhost') return undefined;
  const labels = value.split('.');
  if (value.length > 253 || labels.length < 2 || !labels.every((label) => LABEL.test(label)) || /^[0-9]+$/.test(labels.at(-1)!)) {
    return `"${value}" is not a fully qualified domain name (like meet.example.org, lower case) or localhost`;
  }
  return undefined;
}

/**
 * An address this server can have: IPv4 or IPv6, written plainly. Refused with the reason:
 * the unspecified address, IPv4-mapped IPv6 (give the IPv4 form), zone indexes, link-local,
 * multicast and broadcast addresses (none can be where clients reach a server; a link-local
 * one would also be written into coturn as an allowed peer, overriding its deny list).
 */
export function checkIp(value: string): string | undefined {
  const version = isIP(value);
  if (!version) return `"${value}" is not an IPv4 or IPv6 address (like 203.0.113.7 or 2001:db8::7)`;
  const why = (reason: string) => `"${value}" is ${reason}: give this machine's own address (like 203.0.113.7 or 2001:db8::7)`;
  if (version === 6 && value.includes('%')) return why('an IPv6 address with a zone index, which is only meaningful on one machine');
  const mapped = /^::ffff:(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(value);
  if (mapped) {
    const v4 = mapped[1] ?? [parseInt(mapped[2], 16) >> 8, parseInt(mapped[2], 16) & 255, parseInt(mapped[3], 16) >> 8, parseInt(mapped[3], 16) & 255].join('.');
    return `"${value}" is an IPv4-mapped IPv6 address: write it as ${v4}`;
  }
  if (version === 4) {
    const [a, b] = value.split('.').map(Number);
    if (value === '0.0.0.0') return why('the unspecified address (listen on all), not the address of a server');
    if (value === '255.255.255.255') return why('the broadcast address');
    if (a >= 224 && a <= 239) return why('a multicast address');
    if (a === 169 && b === 254) return why('a link-local address, which clients beyond this link cannot reach');
    return undefined;
  }
  const lower = value.toLowerCase();
  if (/^(0*:)*:?0*$/.test(lower) || lower === '::') return why('the unspecified address (listen on all), not the address of a server');
  if (/^ff/.test(lower)) return why('a multicast address');
  if (/^fe[89ab]/.test(lower)) return why('a link-local address, which clients beyond this link cannot reach');
  return undefined;
}


const MEMORY = /^([0-9]+)([kmg])$/i;
const MIN_MEMORY_BYTES = 256 * 1024 * 1024;
/** Far beyond what a videobridge uses (a few GiB), yet a heap a JVM can be given. */
const MAX_MEMORY_BYTES = 256 * 1024 ** 3;

/** Bytes of a Java-style size (`1024m`, `2g`); undefined when malformed. */
export function memoryBytes(value: string): number | undefined {
  const match = MEMORY.exec(value);
  if (!match) return undefined;
  const unit = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2].toLowerCase() as 'k' | 'm' | 'g'];
  return Number(match[1]) * unit;
}

export function checkMemory(value: string): string | undefined {
  const bytes = memoryBytes(value);
  if (bytes === undefined) return `"${value}" is not a memory size: write a number followed by k, m or g (like 1024m or 2g)`;
  if (bytes < MIN_MEMORY_BYTES) return `${value} is too little for the videobridge: give at least 256m`;
  if (bytes > MAX_MEMORY_BYTES) return `${value} is too much for the videobridge's heap: give at most 256g (a few g serve hundreds of participants)`;
  return undefined;
}

/**
 * An e-mail address for the ACME account. It reaches certbot as an option's value: one that
 * starts with `-` is refused so it can never read as an option, and so is a domain label
 * starting or ending with `-`.
 */
export function checkEmail(value: string): string | undefined {
  const valid = /^[A-Za-z0-9._%+][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/.test(value);
  return valid ? undefined : `"${value}" is not an e-mail address (like admin@example.org)`;
}

/** The ACME directory: an https URL with a host (certbot talks to it with the account key). */
export function checkAcmeServer(value: string): string | undefined {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || url.protocol !== 'https:' || !url.hostname || /\s/.test(value)) {
    return `"${value}" is not an https URL of an ACME directory (like https://acme-v02.api.letsencrypt.org/directory)`;
  }
  return undefined;
}

/** XMPP localparts we accept: simple, lower case, so nothing needs escaping anywhere. */
export function checkUsername(value: string): string | undefined {
  if (value === 'focus' || value === 'jvb') return `"${value}" is reserved for Jitsi's own components: choose another name`;
  return /^[a-z][a-z0-9._-]{0,63}$/.test(value)
    ? undefined
    : `"${value}" is not a valid user name: use lower-case letters, digits, dot, dash or underscore, starting with a letter`;
}

/**
 * A bridge's name: it becomes the account jvb-<name>@auth.<H> and the bridge's nickname in the
 * brewery, so it is a short lower-case label (a host's short name fits).
 */
export function checkBridgeName(value: string): string | undefined {
  return /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/.test(value)
    ? undefined
    : `"${value}" is not a valid bridge name: use 1 to 32 lower-case letters, digits and dashes (not first or last), such as bridge2`;
}

/**
 * The characters a convener password may hold, also checked when a (hand-edited) master config
 * is read: printable ASCII. Prosody stores the SASLprep form of a password (NFKC: full-width
 * `Ｐａｓｓ` becomes `Pass`), so a client that hashes what was typed, and our own check of the
 * stored account, would never match another character set.
 */
export function checkPasswordCharacters(value: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return 'the password must not contain control characters';
  if (/[^\u0020-\u007e]/.test(value)) {
    return 'the password must be printable ASCII (letters a-z and A-Z, digits, punctuation, spaces): prosody would store other characters in a normalized form that logins cannot match';
  }
  return undefined;
}

/** The convener's password ends up in a prosody account: printable, no surrounding blanks, not trivially short. */
export function checkPassword(value: string): string | undefined {
  if (value.length < 8) return 'the password is too short: give at least 8 characters';
  if (value !== value.trim()) return 'the password must not start or end with a blank';
  return checkPasswordCharacters(value);
}

/** Where a path the admin typed lives when the configurator runs on a root prefix (tests, builds). */
export function pathInRoot(root: string, path: string): string {
  return root === '/' ? path : join(root, path);
}

function readPem(root: string, path: string, what: string): { text: string } | { problem: string } {
  if (!isAbsolute(path)) return { problem: `give the absolute path of the ${what} (like /root/${what === 'certificate' ? 'meet.crt' : 'meet.key'}), not "${path}"` };
  try {
    return { text: readSmallRegularFile(pathInRoot(root, path), path) };
  } catch (error) {
    if (error instanceof UserError) return { problem: error.message };
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { problem: `${path} does not exist: give the path of your ${what}` };
    if (code === 'EISDIR') return { problem: `${path} is a directory: give the path of your ${what} file` };
    return { problem: `cannot read ${path} (${code ?? (error as Error).message})` };
  }
}

function certificateOf(root: string, path: string): { cert: X509Certificate } | { problem: string } {
  const read = readPem(root, path, 'certificate');
  if ('problem' in read) return read;
  if (!read.text.includes('-----BEGIN CERTIFICATE-----')) {
    return { problem: `${path} is not a PEM certificate (no "-----BEGIN CERTIFICATE-----" line): give the certificate, not the key or a DER file` };
  }
  try {
    return { cert: new X509Certificate(read.text) };
  } catch (error) {
    return { problem: `${path} does not hold a readable certificate (${(error as Error).message})` };
  }
}

/** The admin's own certificate: an existing PEM X.509 certificate (the first one is the server's). */
export function checkCertificateFile(path: string, root = '/'): string | undefined {
  const result = certificateOf(root, path);
  return 'problem' in result ? result.problem : undefined;
}

/**
 * The admin's own private key: an existing, unencrypted PEM private key whose public key is
 * the certificate's. Compared as SPKI DER, so any key type (RSA, EC, Ed25519) works.
 */
export function checkKeyMatchesCertificate(keyPath: string, certPath: string, root = '/'): string | undefined {
  const read = readPem(root, keyPath, 'private key');
  if ('problem' in read) return read.problem;
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(read.text)) {
    return `${keyPath} is not a PEM private key (no "-----BEGIN ... PRIVATE KEY-----" line)`;
  }
  let publicOfKey: KeyObject;
  try {
    publicOfKey = createPublicKey(createPrivateKey(read.text));
  } catch (error) {
    const message = (error as Error).message;
    if (/passphrase/i.test(message) || read.text.includes('ENCRYPTED')) {
      return `${keyPath} is encrypted with a passphrase: nginx and coturn need it unencrypted (openssl pkey -in KEY -out NEW)`;
    }
    return `${keyPath} does not hold a readable private key (${message})`;
  }
  const certificate = certificateOf(root, certPath);
  if ('problem' in certificate) return `cannot compare with the certificate: ${certificate.problem}`;
  const spki = (key: KeyObject) => key.export({ type: 'spki', format: 'der' });
  if (!spki(publicOfKey).equals(spki(certificate.cert.publicKey))) {
    return `${keyPath} and ${certPath} are not a pair: the key does not belong to that certificate`;
  }
  return undefined;
}
