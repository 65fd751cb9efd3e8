/**
 * TLS: the two certificates of the server and where each comes from, and certbot's deploy
 * hook. The internal `auth.<H>` certificate is always self-signed and trusted through the
 * system CA store (Java clients). The web certificate is self-signed, the admin's own pair,
 * or Let's Encrypt's (any ACME server): issuance is an apply action, since it needs nginx
 * running first; renewals run from certbot's systemd timer or its cron file (OpenRC, with cron
 * running; the distribution's names are in distribution.ts) and reach the canonical paths
 * through the deploy hook.
 */
import { UserError } from '../../../lib/errors.js';
import type { DistributionLayout } from '../../distribution.js';
import type { MasterConfig } from '../../master-config.js';
import { ACME_WEBROOT, authTls, caStoreCopy, webTls } from '../../paths.js';
import { xmppNames } from '../names.js';
import type { CertificateSource, Component, GeneratedFile } from '../types.js';

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
export function deployHook(config: MasterConfig, keyGroup: string, layout: DistributionLayout): GeneratedFile {
  const target = webTls(config.hostname);
  const coturn = layout.coturn.service;
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
	systemctl try-restart ${coturn.systemd}.service prosody.service
else
	rc-service nginx reload
	for service in ${coturn.openrc} prosody; do
		if rc-service "$service" status >/dev/null 2>&1; then rc-service "$service" restart; fi
	done
fi
`;
  return { path: DEPLOY_HOOK, content, mode: 0o755 };
}

/** Where the web certificate comes from in the master config's TLS mode. */
function webSource(config: MasterConfig): CertificateSource {
  if (config.tls.mode === 'own') {
    if (!config.tls.cert || !config.tls.key) throw new UserError('tls.mode is `own`: set tls.cert and tls.key in the master config');
    return { kind: 'own', cert: config.tls.cert, key: config.tls.key };
  }
  if (config.tls.mode === 'letsencrypt') {
    return {
      kind: 'acme',
      lineage: config.hostname,
      names: [config.hostname],
      server: config.letsencrypt.server,
      email: config.letsencrypt.email,
      webroot: ACME_WEBROOT,
      live: livePair(config.hostname),
      renewalConfig: `${LETSENCRYPT_DIR}/renewal/${config.hostname}.conf`,
    };
  }
  return { kind: 'self-signed', names: [config.hostname] };
}

export const tlsComponent: Component = {
  name: 'tls',
  packages: ['certbot'],
  plan(config, facts) {
    // Outside Let's Encrypt mode the hook must go: a renewal of an old lineage would otherwise
    // put that certificate over the self-signed or own one.
    const hook: GeneratedFile =
      config.tls.mode === 'letsencrypt' ? deployHook(config, facts.keyGroup ?? 'root', facts.distribution) : { path: DEPLOY_HOOK, content: '', remove: true };
    return {
      files: [hook],
      certificates: [
        // Only jicofo and the videobridge use it, on loopback; they trust it through the CA store.
        { ...authTls(config.hostname), source: { kind: 'self-signed', names: [xmppNames(config.hostname).authDomain] }, trustedCopy: caStoreCopy(config.hostname) },
        { ...webTls(config.hostname), source: webSource(config) },
      ],
    };
  },
};
