/**
 * Let's Encrypt (or any ACME server: `letsencrypt.server`) through certbot's webroot mode.
 * nginx serves ACME_WEBROOT under /.well-known/acme-challenge/ on port 80, so issuance needs
 * nginx running first, with some certificate for 443 (a temporary self-signed one on the first
 * run). After issuance the apply step copies the live certificate to the canonical paths;
 * renewals do the same through the deploy hook of the letsencrypt component.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../../lib/errors.js';
import { LETSENCRYPT_DIR, livePair } from '../components/letsencrypt/index.js';
import type { MasterConfig } from '../master-config.js';
import { ACME_WEBROOT } from '../paths.js';

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
