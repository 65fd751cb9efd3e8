/**
 * jicofo, the conference focus: it logs in to prosody as focus@auth.<H> on loopback, finds
 * videobridges in the brewery MUC and answers conference requests forwarded by focus.<H>.
 *
 * Its environment file (/etc/jitsi/jicofo/config) defines JICOFO_HOSTNAME, JICOFO_AUTH_DOMAIN,
 * JICOFO_AUTH_USER and JICOFO_AUTH_PASSWORD: the jicofo package's postinst keeps a config that
 * defines all four for the hostname it is configured for, and writes its own (without our heap
 * limit and config file) over one that does not, on every upgrade.
 */
import { hoconDocument } from '../hocon.js';
import { javaSysPropsLine } from '../java.js';
import { caStoreCopy } from '../../paths.js';
import { LOOPBACK, PORTS, secret, xmppNames } from '../names.js';
import type { Component, GeneratedFile } from '../types.js';

export const JICOFO_CONF = '/etc/jitsi/jicofo/jicofo.conf';
export const JICOFO_ENV = '/etc/jitsi/jicofo/config';
export const JICOFO_DIR = '/etc/jitsi/jicofo';
/** jicofo's launcher (jicofo package); the sysv script runs it as user jicofo. */
export const JICOFO_PROGRAM = '/usr/share/jicofo/jicofo.sh';
/** Owner of jicofo's config files: the package's user and group. */
export const JICOFO_OWNER = 'jicofo:jitsi';

export const jicofoComponent: Component = {
  name: 'jicofo',
  packages: ['jicofo'],
  plan(config) {
    const names = xmppNames(config.hostname);
    const conf = hoconDocument(
      [
        `jicofo for Jitsi Meet on ${names.domain}.`,
        'Written by jitsi-meet-config from /etc/jitsi/master-config.yaml; edits here are replaced.',
      ],
      {
        jicofo: {
          // The secure domain: a conference may only be opened by a user logged in to <H>
          // (the convener); guests of guest.<H> join once it exists.
          authentication: { enabled: true, type: 'XMPP', 'login-url': names.domain },
          bridge: { 'brewery-jid': names.breweryJid },
          xmpp: {
            client: {
              hostname: LOOPBACK,
              port: PORTS.xmppClient,
              domain: names.authDomain,
              'xmpp-domain': names.domain,
              username: names.focusUser,
              password: secret(config, 'focus_password'),
              'conference-muc-jid': names.conferenceMuc,
              'client-proxy': names.focusComponent,
              'use-tls': true,
              // Loopback connection to our own prosody: the auth.<H> certificate is self-signed.
              // The apply step also adds it to the CA store; this keeps a missing store entry
              // from taking the whole server down.
              'disable-certificate-verification': true,
            },
          },
          rest: { host: LOOPBACK, port: PORTS.jicofoRest },
        },
      },
    );
    const env = [
      '# Environment of the jicofo service. Written by jitsi-meet-config; edits here are replaced.',
      '# The JICOFO_AUTH_* lines are what the jicofo package looks for to keep this file on upgrades;',
      '# jicofo itself reads its login from jicofo.conf.',
      `JICOFO_HOST=${LOOPBACK}`,
      `JICOFO_HOSTNAME=${names.domain}`,
      `JICOFO_AUTH_DOMAIN=${names.authDomain}`,
      `JICOFO_AUTH_USER=${names.focusUser}`,
      `JICOFO_AUTH_PASSWORD=${secret(config, 'focus_password')}`,
      // The one memory answer bounds both Java heaps: the launcher's default of 3 GiB is more
      // than many hosts of a small server have, and jicofo needs less than the bridge.
      `JICOFO_MAX_MEMORY=${config.jvb_max_memory}`,
      'JICOFO_OPTS=""',
      javaSysPropsLine('jicofo', JICOFO_CONF),
      '',
    ].join('\n');
    const files: GeneratedFile[] = [
      // Both hold the focus password: readable by jicofo (and its group), nobody else. Before the
      // package brings the user and group the apply step leaves them to root.
      { path: JICOFO_CONF, content: conf, mode: 0o640, owner: JICOFO_OWNER },
      { path: JICOFO_ENV, content: env, mode: 0o640, owner: JICOFO_OWNER },
    ];
    return {
      files,
      // As the package leaves it: jicofo reads its directory, others do not look in.
      directories: [{ path: JICOFO_DIR, owner: JICOFO_OWNER, mode: 0o750 }],
      services: [
        {
          name: 'jicofo',
          reads: [`${JICOFO_DIR}/`, caStoreCopy(config.hostname), `account:${names.focusJid}`, `roster:${names.focusJid}`],
          program: JICOFO_PROGRAM,
        },
      ],
      accounts: [{ username: names.focusUser, host: names.authDomain, password: secret(config, 'focus_password') }],
    };
  },
};
