/**
 * jitsi-videobridge: logs in as jvb@auth.<H> on loopback, joins the brewery where jicofo finds
 * it, and carries the media on UDP 10000. Behind NAT it must announce the external address
 * (a static mapping from the internal one); it never depends on an outside STUN server, so a
 * LAN-only host works.
 *
 * Its environment file (/etc/jitsi/videobridge/config) defines JVB_HOSTNAME and JVB_SECRET
 * and a JAVA_SYS_PROPS with -Dconfig.file: the jitsi-videobridge2 package's postinst treats such
 * a file as existing configuration and leaves it alone.
 */
import type { HoconObject } from '../hocon.js';
import { hoconDocument } from '../hocon.js';
import { javaSysPropsLine } from '../java.js';
import { caStoreCopy } from '../../paths.js';
import { isLocalHostname, isPublicAddress } from '../../addresses.js';
import type { MasterConfig } from '../../master-config.js';
import { JVB_SERVER_ID, LOOPBACK, PORTS, publicUrls, secret, xmppNames } from '../names.js';
import type { Component, ComponentPlan, GeneratedFile, KernelSettingMinimum } from '../types.js';

export const JVB_CONF = '/etc/jitsi/videobridge/jvb.conf';
export const JVB_ENV = '/etc/jitsi/videobridge/config';
/** Name of the one XMPP connection ("shard") of the bridge. */
export const JVB_SHARD = 'shard';
export const JVB_DIR = '/etc/jitsi/videobridge';
/** The bridge's launcher (jitsi-videobridge2 package): the unit and our OpenRC script run it as jvb. */
export const JVB_PROGRAM = '/usr/share/jitsi-videobridge/jvb.sh';
/** Owner of the bridge's config files: the package's user and group. */
export const JVB_OWNER = 'jvb:jitsi';

/**
 * The UDP buffer settings the jitsi-videobridge2 package puts in
 * /etc/sysctl.d/20-jvb-udp-buffers.conf. They are the kernel's, not the container's: the host
 * must set them.
 */
export const JVB_KERNEL_SETTINGS: readonly KernelSettingMinimum[] = [
  { name: 'net.core.rmem_max', minimum: 10_485_760, reason: 'the videobridge enlarges its UDP receive buffer up to this' },
  { name: 'net.core.netdev_max_backlog', minimum: 100_000, reason: 'media packets queued per CPU before the kernel drops them' },
];

/**
 * Whether the bridge can have an address clients elsewhere reach: not when the server is
 * localhost-only or its external address is private. The bridge's health check then must not
 * ask for a public address, or it reports itself unhealthy and jicofo stops using it.
 */
export function hasPublicAddress(config: MasterConfig): boolean {
  return !isLocalHostname(config.hostname) && isPublicAddress(config.external_ip);
}

/** What differs between this host's own bridge and a bridge on another host. */
export interface BridgeSettings {
  /** The XMPP domain <H> the bridge serves (JVB_HOSTNAME, the comment). */
  domain: string;
  /** Where and as whom it logs in. */
  xmpp: { host: string; port: number; authDomain: string; username: string; password: string; brewery: string; nickname: string; verifyCertificate: boolean };
  externalIp: string;
  internalIp: string;
  maxMemory: string;
  /** Whether the health check requires a public address. */
  requireValidAddress: boolean;
  /** Colibri websockets through nginx on <H> (this host's bridge only: nginx cannot reach another host's). */
  colibriWebsocketDomain?: string;
  /** The CA-store file it trusts for its login (restart when it changes). */
  trusts: string;
}

/** jvb.conf, the environment file, the directory and the service of a bridge. */
export function bridgePlan(settings: BridgeSettings): ComponentPlan {
  const mapping: HoconObject = {
    // AWS metadata lookups and outside STUN servers cannot work on a LAN-only host and
    // would delay or break candidate gathering.
    aws: { enabled: false },
    stun: { addresses: [] },
  };
  if (settings.internalIp !== settings.externalIp) {
    mapping['static-mappings'] = [{ name: 'master-config-nat', 'local-address': settings.internalIp, 'public-address': settings.externalIp }];
  }
  const conf = hoconDocument(
    [`jitsi-videobridge for Jitsi Meet on ${settings.domain}.`, 'Written by jitsi-meet-config from /etc/jitsi/master-config.yaml; edits here are replaced.'],
    {
      videobridge: {
        apis: {
          'xmpp-client': {
            configs: {
              [JVB_SHARD]: {
                HOSTNAME: settings.xmpp.host,
                PORT: String(settings.xmpp.port),
                DOMAIN: settings.xmpp.authDomain,
                USERNAME: settings.xmpp.username,
                PASSWORD: settings.xmpp.password,
                MUC_JIDS: settings.xmpp.brewery,
                // Unique among the bridges of the brewery.
                MUC_NICKNAME: settings.xmpp.nickname,
                // On loopback, our own prosody with its self-signed auth.<H> certificate; across
                // hosts, the certificate is checked against the one the join token pinned.
                DISABLE_CERTIFICATE_VERIFICATION: !settings.xmpp.verifyCertificate,
              },
            },
          },
        },
        ice: {
          udp: { port: PORTS.jvbMedia },
        },
        health: {
          // Only a public address counts as valid to the health check; a LAN-only server has none.
          'require-valid-address': settings.requireValidAddress,
        },
        'http-servers': {
          public: { host: LOOPBACK, port: PORTS.jvbHttp },
          private: { host: LOOPBACK },
        },
        // Bridge channels over websockets, reached through nginx at wss://<H>/colibri-ws/; a
        // bridge on another host uses SCTP data channels instead.
        websockets: settings.colibriWebsocketDomain
          ? { enabled: true, domains: [settings.colibriWebsocketDomain], tls: true, 'server-id': JVB_SERVER_ID }
          : { enabled: false },
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
    `JVB_HOSTNAME=${settings.domain}`,
    // What the package's postinst looks for to keep this file; the bridge reads its login from jvb.conf.
    `JVB_SECRET=${settings.xmpp.password}`,
    'JVB_OPTS="--apis=,"',
    javaSysPropsLine('videobridge', JVB_CONF),
    `VIDEOBRIDGE_MAX_MEMORY=${settings.maxMemory}`,
    '',
  ].join('\n');
  const files: GeneratedFile[] = [
    // Both hold the bridge's password: readable by jvb (and its group), nobody else. Before the
    // package brings the user and group the apply step leaves them to root.
    { path: JVB_CONF, content: conf, mode: 0o640, owner: JVB_OWNER },
    { path: JVB_ENV, content: env, mode: 0o640, owner: JVB_OWNER },
  ];
  return {
    files,
    directories: [{ path: JVB_DIR, owner: JVB_OWNER, mode: 0o750 }],
    services: [
      {
        name: 'jitsi-videobridge2',
        reads: [`${JVB_DIR}/`, settings.trusts, `account:${settings.xmpp.username}@${settings.xmpp.authDomain}`],
        program: JVB_PROGRAM,
      },
    ],
    kernelSettings: [...JVB_KERNEL_SETTINGS],
  };
}

export const videobridgeComponent: Component = {
  name: 'videobridge',
  packages: ['jitsi-videobridge2'],
  plan(config) {
    const names = xmppNames(config.hostname);
    const password = secret(config, 'jvb_password');
    const plan = bridgePlan({
      domain: names.domain,
      xmpp: { host: LOOPBACK, port: PORTS.xmppClient, authDomain: names.authDomain, username: names.jvbUser, password, brewery: names.breweryJid, nickname: `jvb-${names.domain}`, verifyCertificate: false },
      externalIp: config.external_ip,
      internalIp: config.internal_ip,
      maxMemory: config.jvb_max_memory,
      requireValidAddress: hasPublicAddress(config),
      colibriWebsocketDomain: publicUrls(config.hostname).colibriWebsocketDomain,
      trusts: caStoreCopy(config.hostname),
    });
    return { ...plan, accounts: [{ username: names.jvbUser, host: names.authDomain, password }] };
  },
};
