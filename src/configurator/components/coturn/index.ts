/**
 * coturn: STUN and TURN for clients whose UDP to the videobridge is blocked. Credentials are
 * not accounts but HMACs of the shared secret that prosody hands out (TURN REST scheme), and
 * the relay refuses to reach private and loopback addresses, so TURN cannot be used to reach
 * services that listen only inside this machine or its network.
 */
import { webTls } from '../../paths.js';
import { behindNat, PORTS, secret } from '../names.js';
import { isPublicAddress } from '../../addresses.js';
import type { Component, GeneratedFile } from '../types.js';

/** coturn logs here (turnserver.conf `log-file`). */
export const TURN_LOG_DIR = '/var/log/turnserver';

/**
 * Peer ranges the relay must not reach: "this network", private, CGNAT, loopback, link-local,
 * IETF protocol assignments, documentation, the 6to4 relay anycast, benchmarking, reserved,
 * and the IPv6 counterparts (documentation, 6to4, discard-only). Multicast is covered by
 * `no-multicast-peers`.
 */
export const DENIED_PEER_RANGES = [
  '0.0.0.0-0.255.255.255',
  '10.0.0.0-10.255.255.255',
  '100.64.0.0-100.127.255.255',
  '127.0.0.0-127.255.255.255',
  '169.254.0.0-169.254.255.255',
  '172.16.0.0-172.31.255.255',
  '192.0.0.0-192.0.0.255',
  '192.0.2.0-192.0.2.255',
  '192.88.99.0-192.88.99.255',
  '192.168.0.0-192.168.255.255',
  '198.18.0.0-198.19.255.255',
  '198.51.100.0-198.51.100.255',
  '203.0.113.0-203.0.113.255',
  '240.0.0.0-255.255.255.255',
  '::1',
  '100::-100::ffff:ffff:ffff:ffff',
  '2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff',
  '2002::-2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
  '64:ff9b::-64:ff9b::ffff:ffff',
  '::ffff:0.0.0.0-::ffff:255.255.255.255',
  'fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
  'fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
] as const;

export const coturnComponent: Component = {
  name: 'coturn',
  packages: ['coturn'],
  plan(config, facts) {
    const { coturn } = facts.distribution;
    const tls = webTls(config.hostname);
    const lines = [
      `# coturn for Jitsi Meet on ${config.hostname}. Written by jitsi-meet-config from`,
      '# /etc/jitsi/master-config.yaml; edits here are replaced on the next run.',
      '',
      `listening-port=${PORTS.turn}`,
      `tls-listening-port=${PORTS.turns}`,
      `realm=${config.hostname}`,
      '',
      '# Time-limited credentials derived from the secret shared with prosody (external_service_secret).',
      'use-auth-secret',
      `static-auth-secret=${secret(config, 'turn_secret')}`,
      '',
      '# The web certificate, the same files nginx serves.',
      `cert=${tls.cert}`,
      `pkey=${tls.key}`,
      'no-tlsv1',
      'no-tlsv1_1',
      '',
    ];
    if (behindNat(config)) {
      lines.push(
        '# Behind NAT: relayed addresses are announced with the public address.',
        `external-ip=${config.external_ip}/${config.internal_ip}`,
        '',
      );
    }
    lines.push(
      'fingerprint',
      'no-cli',
      'no-multicast-peers',
      // Browsers relay media over UDP only: TCP relays would only open a way to TCP services.
      'no-tcp-relay',
      // TURNS is TLS over TCP 5349; nothing uses DTLS on that port.
      'no-dtls',
      // RFC 5780 NAT discovery needs extra listeners on 3479 and 5350 that nothing here uses.
      'no-rfc5780',
      // keep the relay and the client on the same address family, as browsers expect
      'keep-address-family',
      '',
      '# No relaying into private networks or this machine\'s loopback services.',
      ...DENIED_PEER_RANGES.map((range) => `denied-peer-ip=${range}`),
    );
    // On a LAN-only server (no public address at all) the videobridge's own address is private,
    // yet it is the one peer TURN exists to reach, and every TURN user is on that LAN already.
    // Allowing exactly this machine's address (never loopback) keeps TURN useful there. With a
    // public address the relay reaches the bridge at that address, and the internal one stays
    // denied: it would expose this machine's unforwarded ports to anyone holding credentials.
    const ownPrivate = isPublicAddress(config.external_ip)
      ? []
      : [...new Set([config.internal_ip, config.external_ip])].filter((address) => !isLoopback(address));
    if (ownPrivate.length > 0) {
      lines.push(
        '# LAN-only server: its own address is the one private peer TURN may relay to (the videobridge).',
        ...ownPrivate.map((address) => `allowed-peer-ip=${address}`),
      );
    }
    lines.push(
      '',
      '# Log to a file (the directory is created by the apply step); coturn falls back to /var/tmp.',
      `log-file=${TURN_LOG_DIR}/turnserver.log`,
      'simple-log',
      '# No pidfile here: the systemd unit passes --pidfile= and the init script names its own.',
      '',
    );
    const files: GeneratedFile[] = [
      // Holds the TURN secret; coturn runs as its own user and reads it.
      { path: coturn.config, content: lines.join('\n'), mode: 0o640, owner: `root:${coturn.group}` },
    ];
    if (coturn.initDefaults) {
      files.push({ path: coturn.initDefaults, content: initDefaultsText(coturn.config), mode: 0o644, owner: 'root:root' });
    }
    return {
      files,
      services: [
        {
          name: coturn.service[facts.init],
          reads: [coturn.config, ...(coturn.initDefaults ? [coturn.initDefaults] : []), tls.cert, tls.key, `group:${coturn.user}`],
        },
      ],
      // coturn runs as its own user and cannot create its log directory (turnserver.conf `log-file`) itself.
      directories: [{ path: TURN_LOG_DIR, owner: `${coturn.user}:${coturn.group}`, mode: 0o750 }],
      keyReaders: [coturn.user],
    };
  },
};

/**
 * The environment file of the distribution's init script (`initDefaults`; Debian's
 * /etc/default/coturn), read by that script only (the systemd unit ignores it). coturn runs as turnserver,
 * which cannot write the script's default pidfile /var/run/turnserver.pid; it then writes
 * /var/tmp/turnserver.pid instead, the script cannot find the daemon, and every stop waits
 * out its 30-second retry before a KILL. A pidfile in a directory the script creates and
 * hands to turnserver makes stop and restart immediate.
 */
const COTURN_PID_DIR = '/run/turnserver';
function initDefaultsText(configFile: string): string {
  return [
    '# Written by jitsi-meet-config: the init script starts coturn only when this is set.',
    'TURNSERVER_ENABLED=1',
    '# The init script creates this directory and hands it to the turnserver user.',
    `PIDFILE_DIR=${COTURN_PID_DIR}`,
    `PIDFILE=${COTURN_PID_DIR}/turnserver.pid`,
    `DAEMON_ARGS="-c ${configFile} -o -v --pidfile ${COTURN_PID_DIR}/turnserver.pid"`,
    '',
  ].join('\n');
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.toLowerCase().startsWith('::ffff:127.');
}
