/**
 * Let's Encrypt (or any ACME server: `letsencrypt.server`) through certbot's webroot mode.
 * nginx serves the webroot under /.well-known/acme-challenge/ on port 80, so issuance needs
 * nginx running first, with some certificate for 443 (a temporary self-signed one on the first
 * run). After issuance the apply step copies the live certificate to the canonical paths;
 * renewals do the same through the deploy hook of the tls component.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../../lib/errors.js';
import type { CertificateSource } from '../components/types.js';

export type AcmeSource = Extract<CertificateSource, { kind: 'acme' }>;

/** The ACME server a lineage was issued by, from certbot's renewal config; undefined without a lineage. */
async function lineageServer(root: string, acme: AcmeSource): Promise<string | undefined> {
  const renewal = await readFile(join(root, acme.renewalConfig), 'utf8').catch(() => undefined);
  if (renewal === undefined) return undefined;
  return /^server\s*=\s*(\S+)\s*$/m.exec(renewal)?.[1] ?? '';
}

/** True when a certificate of the lineage from the configured ACME server already exists. */
export async function hasLineage(root: string, acme: AcmeSource): Promise<boolean> {
  const server = await lineageServer(root, acme);
  const live = await readFile(join(root, acme.live.cert)).catch(() => undefined);
  return live !== undefined && server === acme.server;
}

/** Asks the ACME server for a certificate through nginx's webroot. Needs nginx up on port 80. */
export async function issueCertificate(acme: AcmeSource, log: (line: string) => void): Promise<void> {
  const [name] = acme.names;
  log(`requesting a certificate for ${acme.names.join(', ')} from ${acme.server}`);
  const result = await execa(
    'certbot',
    [
      'certonly', '--non-interactive', '--agree-tos', '--no-eff-email',
      '--webroot', '--webroot-path', acme.webroot,
      '--cert-name', acme.lineage, ...acme.names.flatMap((domain) => ['--domain', domain]),
      '--server', acme.server,
      '--email', acme.email ?? '',
      // Replace a lineage from another ACME server (the server changed in the master config).
      '--force-renewal',
    ],
    { stdin: 'ignore', reject: false, all: true },
  );
  if (result.exitCode !== 0) {
    const tail = String(result.all ?? '').trimEnd().split('\n').slice(-15).join('\n');
    throw new UserError(
      `certbot could not get a certificate for ${name} from ${acme.server}. ` +
        `The server keeps running with a temporary self-signed certificate. Check that ${name} ` +
        `resolves to this server and that port 80 reaches it from the internet, then run jitsi-meet-config again ` +
        `(details in /var/log/letsencrypt/letsencrypt.log):\n${tail}`,
    );
  }
}
