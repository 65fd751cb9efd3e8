/**
 * Input rules for the master config. Each `check*` returns undefined when the value is
 * fine, else one sentence saying what is wrong and what a valid value looks like; the
 * prompts show that sentence and ask again, `--answers` lists it with its key.
 */
import { isIP } from 'node:net';

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

export function isLocalHostname(hostname: string): boolean {
  return hostname === 'localhost';
}

export function checkHostname(value: string): string | undefined {
  if (value === 'localhost') return undefined;
  const labels = value.split('.');
  if (value.length > 253 || labels.length < 2 || !labels.every((label) => LABEL.test(label)) || /^[0-9]+$/.test(labels.at(-1)!)) {
    return `"${value}" is not a fully qualified domain name (like meet.example.org, lower case) or localhost`;
  }
  return undefined;
}

export function checkIp(value: string): string | undefined {
  return isIP(value) ? undefined : `"${value}" is not an IPv4 or IPv6 address (like 203.0.113.7 or 2001:db8::7)`;
}

/** Private, loopback, link-local, CGNAT, documentation-free check of reachability by others. */
export function isPublicAddress(address: string): boolean {
  const version = isIP(address);
  if (version === 4) {
    const [a, b] = address.split('.').map(Number);
    if (a === 10 || a === 127 || a === 0 || a >= 224) return false;
    if (a === 172 && b >= 16 && b <= 31) return false;
    if (a === 192 && b === 168) return false;
    if (a === 169 && b === 254) return false;
    if (a === 100 && b >= 64 && b <= 127) return false;
    return true;
  }
  if (version === 6) {
    const lower = address.toLowerCase();
    if (lower === '::1' || lower === '::') return false;
    if (/^f[cd]/.test(lower) || /^fe[89ab]/.test(lower)) return false;
    if (lower.startsWith('::ffff:')) return isPublicAddress(lower.slice(7));
    return true;
  }
  return false;
}

const MEMORY = /^([0-9]+)([kmg])$/i;
const MIN_MEMORY_BYTES = 256 * 1024 * 1024;

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
  return undefined;
}

export function checkEmail(value: string): string | undefined {
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value) ? undefined : `"${value}" is not an e-mail address (like admin@example.org)`;
}

/** XMPP localparts we accept: simple, lower case, so nothing needs escaping anywhere. */
export function checkUsername(value: string): string | undefined {
  if (value === 'focus' || value === 'jvb') return `"${value}" is reserved for Jitsi's own components: choose another name`;
  return /^[a-z][a-z0-9._-]{0,63}$/.test(value)
    ? undefined
    : `"${value}" is not a valid user name: use lower-case letters, digits, dot, dash or underscore, starting with a letter`;
}
