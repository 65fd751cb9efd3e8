/**
 * Where things live inside a configured image. Generators, the apply step and the tests all
 * take paths from here, so a file is never written in one place and expected in another.
 */
export const MASTER_CONFIG_PATH = '/etc/jitsi/master-config.yaml';
export const BACKUP_ROOT = '/var/backups/jitsi-meet-config';
/** What the re-apply after package operations (the apt hook) printed, appended per run. */
export const REAPPLY_LOG = '/var/log/jitsi-meet-config/after-packages.log';
export const TLS_DIR = '/etc/jitsi/tls';

/**
 * The web certificate and its key always sit at these paths whatever the TLS mode: the apply
 * step (or the Let's Encrypt deploy hook) puts the material there, and nginx, coturn and
 * prosody read it from there. That is what keeps an admin's own pair from never reaching
 * nginx, and key and cert from being swapped for coturn.
 */
export function webTls(hostname: string): { cert: string; key: string } {
  return { cert: `${TLS_DIR}/${hostname}.crt`, key: `${TLS_DIR}/${hostname}.key` };
}

/** Self-signed certificate of the internal `auth.<H>` XMPP domain, trusted via the CA store. */
export function authTls(hostname: string): { cert: string; key: string } {
  return { cert: `${TLS_DIR}/auth.${hostname}.crt`, key: `${TLS_DIR}/auth.${hostname}.key` };
}

/** Certificates placed here join the system CA store (and Java's) when update-ca-certificates runs. */
export const CA_STORE_DIR = '/usr/local/share/ca-certificates/';

/** Where the auth.<H> certificate goes so that update-ca-certificates adds it to the system store (Java clients). */
export function caStoreCopy(hostname: string): string {
  return `${CA_STORE_DIR}jitsi-meet-auth.${hostname}.crt`;
}

/** Group that may read the TLS private keys; the services that serve TLS join it. */
export const KEY_GROUP = 'ssl-cert';

/** Webroot that nginx serves under /.well-known/acme-challenge/ on port 80 for certbot. */
export const ACME_WEBROOT = '/var/lib/jitsi-meet-config/acme';
