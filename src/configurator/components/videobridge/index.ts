/**
 * jitsi-videobridge: logs in as jvb@auth.<H> on loopback, joins the brewery where jicofo finds
 * it, and carries the media on UDP 10000. Behind NAT it must announce the external address
 * (a static mapping from the internal one); it never depends on an outside STUN server, so a
 * LAN-only host works.
 */
import type { HoconObject } from '../hocon.js';
import { hoconDocument } from '../hocon.js';
import { javaSysPropsLine } from '../java.js';
import { caStoreCopy } from '../../paths.js';
import { behindNat, JVB_SERVER_ID, LOOPBACK, PORTS, publicUrls, secret, xmppNames } from '../names.js';
import type { Component, GeneratedFile } from '../types.js';

export const JVB_CONF = '/etc/jitsi/videobridge/jvb.conf';
export const JVB_ENV = '/etc/jitsi/videobridge/config';
/** Name of the one XMPP connection ("shard") of the bridge. */
export const JVB_SHARD = 'shard';

export const videobridgeComponent: Component = {
  name: 'videobridge',
  packages: ['jitsi-videobridge2'],
  plan(config) {
    const names = xmppNames(config.hostname);
    const mapping: HoconObject = {
      // AWS metadata lookups and outside STUN servers cannot work on a LAN-only host and
      // would delay or break candidate gathering.
      aws: { enabled: false },
      stun: { addresses: [] },
    };
    if (behindNat(config)) {
      mapping['static-mappings'] = [
        { name: 'master-config-nat', 'local-address': config.internal_ip, 'public-address': config.external_ip },
      ];
    }
    const conf = hoconDocument(
      [
        `jitsi-videobridge for Jitsi Meet on ${names.domain}.`,
        'Written by jitsi-meet-config from /etc/jitsi/master-config.yaml; edits here are replaced.',
      ],
      {
        videobridge: {
          apis: {
            'xmpp-client': {
              configs: {
                [JVB_SHARD]: {
                  HOSTNAME: LOOPBACK,
                  PORT: String(PORTS.xmppClient),
                  DOMAIN: names.authDomain,
                  USERNAME: names.jvbUser,
                  PASSWORD: secret(config, 'jvb_password'),
                  MUC_JIDS: names.breweryJid,
                  // Unique among the bridges of the brewery; there is one, named after the host.
                  MUC_NICKNAME: `jvb-${names.domain}`,
                  // Loopback connection to our own prosody, whose auth.<H> certificate is self-signed.
                  DISABLE_CERTIFICATE_VERIFICATION: true,
                },
              },
            },
          },
          ice: {
            udp: { port: PORTS.jvbMedia },
            tcp: { enabled: false },
          },
          'http-servers': {
            public: { host: LOOPBACK, port: PORTS.jvbHttp },
            private: { host: LOOPBACK },
          },
          // Bridge channels over websockets, reached through nginx at wss://<H>/colibri-ws/.
          websockets: {
            enabled: true,
            domain: publicUrls(config.hostname).colibriWebsocketDomain,
            tls: true,
            'server-id': JVB_SERVER_ID,
          },
        },
        ice4j: {
          harvest: {
            'use-link-local-addresses': false,
            mapping,
          },
        },
      },
    );
    const env = [
      '# Environment of the jitsi-videobridge service. Written by jitsi-meet-config; edits here are replaced.',
      `JVB_HOSTNAME=${names.domain}`,
      'JVB_OPTS="--apis=,"',
      javaSysPropsLine('videobridge', JVB_CONF),
      `VIDEOBRIDGE_MAX_MEMORY=${config.jvb_max_memory}`,
      '',
    ].join('\n');
    const files: GeneratedFile[] = [
      // Holds the jvb password. The videobridge is not installed in the images yet, so there is
      // no jvb user or jitsi group to own it: root only until the package brings them.
      { path: JVB_CONF, content: conf, mode: 0o600, owner: 'root:root' },
      { path: JVB_ENV, content: env, mode: 0o644, owner: 'root:root' },
    ];
    return {
      files,
      services: [{ name: 'jitsi-videobridge2', reads: ['/etc/jitsi/videobridge/', caStoreCopy(config.hostname), `account:${names.jvbJid}`] }],
      accounts: [{ username: names.jvbUser, host: names.authDomain, password: secret(config, 'jvb_password') }],
    };
  },
};
