/**
 * Let's Encrypt (or any ACME server: `letsencrypt.server`) through certbot's webroot mode.
 * nginx serves ACME_WEBROOT under /.well-known/acme-challenge/ on port 80, so issuance needs
 * nginx running first, with some certificate for 443 (a temporary self-signed one on the first
 * run). After issuance the apply step copies the live certificate to the canonical paths;
 * renewals do the same through the deploy hook written here, which also reloads nginx and
 * restarts coturn and prosody. Renewal itself runs from Debian's certbot.timer (systemd) or
 * its /etc/cron.d/certbot entry (OpenRC, with cron running).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../../lib/errors.js';
import type { MasterConfig } from '../master-config.js';
import { ACME_WEBROOT, webTls } from '../paths.js';
import type { GeneratedFile } from '../components/types.js';

export const LETSENCRYPT_DIR = '/etc/letsencrypt';
export const DEPLOY_HOOK = `${LETSENCRYPT_DIR}/renewal-hooks/deploy/jitsi-meet-server`;

export function livePair(hostname: string): { cert: string; key: string } {
  return { cert: `${LETSENCRYPT_DIR}/live/${hostname}/fullchain.pem`, key: `${LETSENCRYPT_DIR}/live/${hostname}/privkey.pem` };
}

/** Shell quoting for a value we put into the hook; our hostnames and paths hold no quotes, but never trust that. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The deploy hook certbot runs after every renewal of any lineage: it acts only on ours,
 * installs key then certificate with the same modes and owners the apply step uses (so a
 * later re-run sees them unchanged) and tells the services that read them.
 */
export function deployHook(config: MasterConfig, keyGroup: string): GeneratedFile {
  const target = webTls(config.hostname);
  const content = `#!/bin/sh
# Written by jitsi-meet-config. certbot runs this after renewing a certificate: it copies ours
# to where nginx, coturn and prosody read it, and makes them load it.
set -eu
[ "$(basename "\${RENEWED_LINEAGE:?run by certbot only}")" = ${shellQuote(config.hostname)} ] || exit 0
install -m 0640 -o root -g ${shellQuote(keyGroup)} "$RENEWED_LINEAGE/privkey.pem" ${shellQuote(`${target.key}.new`)}
mv -f ${shellQuote(`${target.key}.new`)} ${shellQuote(target.key)}
install -m 0644 -o root -g root "$RENEWED_LINEAGE/fullchain.pem" ${shellQuote(`${target.cert}.new`)}
mv -f ${shellQuote(`${target.cert}.new`)} ${shellQuote(target.cert)}
if [ -d /run/systemd/system ]; then
	systemctl reload-or-restart nginx.service
	systemctl try-restart coturn.service prosody.service
else
	rc-service nginx reload
	for service in coturn prosody; do
		if rc-service "$service" status >/dev/null 2>&1; then rc-service "$service" restart; fi
	done
fi
`;
  return { path: DEPLOY_HOOK, content, mode: 0o755 };
}

/** The ACME server a lineage was issued by, from certbot's renewal config; undefined without a lineage. */
async function lineageServer(root: string, hostname: string): Promise<string | undefined> {
  const renewal = await readFile(join(root, LETSENCRYPT_DIR, 'renewal', `${hostname}.conf`), 'utf8').catch(() => undefined);
  if (renewal === undefined) return undefined;
  return /^server\s*=\s*(\S+)\s*$/m.exec(renewal)?.[1] ?? '';
}

/** True when a certificate for the hostname from the configured ACME server already exists. */
export async function hasLineage(root: string, config: MasterConfig): Promise<boolean> {
  const server = await lineageServer(root, config.hostname);
  const live = await readFile(join(root, livePair(config.hostname).cert)).catch(() => undefined);
  return live !== undefined && server === config.letsencrypt.server;
}

/** Asks the ACME server for a certificate through nginx's webroot. Needs nginx up on port 80. */
export async function issueCertificate(config: MasterConfig, log: (line: string) => void): Promise<void> {
  log(`requesting a certificate for ${config.hostname} from ${config.letsencrypt.server}`);
  const result = await execa(
    'certbot',
    [
      'certonly', '--non-interactive', '--agree-tos', '--no-eff-email',
      '--webroot', '--webroot-path', ACME_WEBROOT,
      '--cert-name', config.hostname, '--domain', config.hostname,
      '--server', config.letsencrypt.server,
      '--email', config.letsencrypt.email ?? '',
      // Replace a lineage from another ACME server (the server changed in the master config).
      '--force-renewal',
    ],
    { stdin: 'ignore', reject: false, all: true },
  );
  if (result.exitCode !== 0) {
    const tail = String(result.all ?? '').trimEnd().split('\n').slice(-15).join('\n');
    throw new UserError(
      `certbot could not get a certificate for ${config.hostname} from ${config.letsencrypt.server}. ` +
        `The server keeps running with a temporary self-signed certificate. Check that ${config.hostname} ` +
        `resolves to this server and that port 80 reaches it from the internet, then run jitsi-meet-config again ` +
        `(details in /var/log/letsencrypt/letsencrypt.log):\n${tail}`,
    );
  }
}
