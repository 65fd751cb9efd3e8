/**
 * jicofo, the conference focus: it logs in to prosody as focus@auth.<H> on loopback, finds
 * videobridges in the brewery MUC and answers conference requests forwarded by focus.<H>.
 */
import { hoconDocument } from '../hocon.js';
import { javaSysPropsLine } from '../java.js';
import { caStoreCopy } from '../../paths.js';
import { LOOPBACK, PORTS, secret, xmppNames } from '../names.js';
import type { Component, GeneratedFile } from '../types.js';

export const JICOFO_CONF = '/etc/jitsi/jicofo/jicofo.conf';
export const JICOFO_ENV = '/etc/jitsi/jicofo/config';

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
      `JICOFO_HOST=${LOOPBACK}`,
      `JICOFO_HOSTNAME=${names.domain}`,
      'JICOFO_OPTS=""',
      javaSysPropsLine('jicofo', JICOFO_CONF),
      '',
    ].join('\n');
    const files: GeneratedFile[] = [
      // Holds the focus password. jicofo is not installed in the images yet, so there is no
      // jicofo user or jitsi group to own it: root only until the package brings them.
      { path: JICOFO_CONF, content: conf, mode: 0o600, owner: 'root:root' },
      { path: JICOFO_ENV, content: env, mode: 0o644, owner: 'root:root' },
    ];
    return {
      files,
      services: [{ name: 'jicofo', reads: ['/etc/jitsi/jicofo/', caStoreCopy(config.hostname), `account:${names.focusJid}`] }],
      accounts: [{ username: names.focusUser, host: names.authDomain, password: secret(config, 'focus_password') }],
    };
  },
};
