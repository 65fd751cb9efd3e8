/**
 * What kind of name or address a value is: local, public, private. Pure (no file system), so
 * component generators may use it as well as the input checks in validators.ts.
 */
import { isIP } from 'node:net';

export function isLocalHostname(hostname: string): boolean {
  return hostname === 'localhost';
}

/**
 * Names no public CA will certify: localhost, single labels and the reserved or local-only
 * top-level domains (RFC 2606, RFC 6761, RFC 6762, home.arpa).
 */
const NON_PUBLIC_SUFFIXES = ['localhost', 'test', 'example', 'invalid', 'local', 'internal', 'lan', 'home.arpa', 'example.com', 'example.net', 'example.org'];

export function isPublicHostname(hostname: string): boolean {
  if (isLocalHostname(hostname) || !hostname.includes('.')) return false;
  return !NON_PUBLIC_SUFFIXES.some((suffix) => hostname === suffix || hostname.endsWith(`.${suffix}`));
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
