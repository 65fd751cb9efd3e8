/**
 * Let's Encrypt renewals: certbot's deploy hook, which copies a renewed certificate to the
 * canonical paths and tells the services that read it. Issuance itself is an apply action
 * (apply/letsencrypt.ts): it needs nginx running first. Renewal runs from Debian's
 * certbot.timer (systemd) or its /etc/cron.d/certbot entry (OpenRC, with cron running).
 */
import type { MasterConfig } from '../../master-config.js';
import { webTls } from '../../paths.js';
import type { Component, GeneratedFile } from '../types.js';

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

export const letsencryptComponent: Component = {
  name: 'letsencrypt',
  packages: ['certbot'],
  plan(config, facts) {
    // Outside Let's Encrypt mode the hook must go: a renewal of an old lineage would otherwise
    // put that certificate over the self-signed or own one.
    const hook: GeneratedFile =
      config.tls.mode === 'letsencrypt' ? deployHook(config, facts.keyGroup ?? 'root') : { path: DEPLOY_HOOK, content: '', remove: true };
    return { files: [hook] };
  },
};
