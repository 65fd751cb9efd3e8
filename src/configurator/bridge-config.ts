/**
 * An additional videobridge: a machine that runs only jitsi-videobridge2 and logs in to a main
 * server elsewhere (`jitsi-meet-config --role bridge`). Its master config is a format of its
 * own, told apart by `role: bridge`: this table is its one schema (validation, defaults, docs).
 *
 * The join token is how the main server hands a bridge what it needs, in one line the admin
 * copies: `jitsi-meet-config --add-bridge NAME` on the main server prints it. It holds the
 * bridge's password, so it is shown once and asked for (never taken on a command line).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { integer, object, oneOf, string, type Infer } from '../lib/schema.js';
import { checkSecret } from './master-config.js';
import { checkBridgeName, checkHostname, checkIp, checkMemory } from './validators.js';

const SHA256 = /^[0-9A-F]{2}(?::[0-9A-F]{2}){31}$/;

export const bridgeConfigSchema = object(
  {
    role: oneOf(['bridge'] as const, { doc: 'This machine is an additional videobridge of a main server elsewhere.' }),
    main: object(
      {
        hostname: string({ doc: 'Hostname (XMPP domain) of the main server.', check: checkHostname }),
        address: string({ doc: 'Address the bridge reaches the main server\'s prosody at.', check: checkIp }),
        port: integer({ doc: 'prosody\'s client port on the main server.', default: 5222, min: 1, max: 65535 }),
        brewery: string({ doc: 'The brewery room the bridge joins (JvbBrewery@internal.auth.<hostname>).' }),
        certificate_sha256: string({
          doc: 'SHA-256 fingerprint of the main server\'s auth.<hostname> certificate, from the join token.',
          check: (value) => (SHA256.test(value) ? undefined : 'not a SHA-256 fingerprint (32 hex bytes separated by colons)'),
        }),
        certificate: string({
          doc: 'That certificate (PEM), fetched from the main server and checked against the fingerprint; the bridge trusts it for its login.',
          check: (value) => (certificateProblem(value)),
        }),
      },
      { doc: 'The main server this bridge joins (from the join token).' },
    ),
    bridge: object(
      {
        name: string({ doc: 'Name of this bridge on the main server (its account is jvb-<name>).', check: checkBridgeName }),
        password: string({ doc: 'Password of the bridge\'s account, from the join token.', hidden: true, check: checkSecret }),
      },
      { doc: 'This bridge\'s account on the main server.' },
    ),
    external_ip: string({ doc: 'Address clients reach this bridge at (IPv4 or IPv6).', check: checkIp }),
    internal_ip: string({ doc: 'Address of this machine\'s interface; differs from external_ip behind NAT.', check: checkIp }),
    jvb_max_memory: string({ doc: 'Maximum Java heap of the videobridge: a number with k, m or g, at least 256m.', default: '1024m', check: checkMemory }),
  },
  { doc: 'Master config of an additional videobridge' },
);

export type BridgeConfig = Infer<typeof bridgeConfigSchema>;

function certificateProblem(pem: string): string | undefined {
  try {
    new X509Certificate(pem);
    return undefined;
  } catch {
    return 'not a PEM certificate';
  }
}

/** `AB:CD:...`, as openssl prints it. */
export function certificateSha256(pem: string): string {
  const der = new X509Certificate(pem).raw;
  return sha256Fingerprint(der);
}

export function sha256Fingerprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
}

/** What a join token carries. */
export interface JoinToken {
  hostname: string;
  address: string;
  port: number;
  name: string;
  password: string;
  brewery: string;
  certificateSha256: string;
}

const TOKEN_PREFIX = 'jitsi-bridge-1:';

export function encodeJoinToken(token: JoinToken): string {
  return TOKEN_PREFIX + Buffer.from(JSON.stringify(token), 'utf8').toString('base64url');
}

/** The token's contents, or a sentence saying what is wrong with it (never echoing it: it holds a password). */
export function decodeJoinToken(text: string): JoinToken | string {
  const trimmed = text.trim();
  if (!trimmed.startsWith(TOKEN_PREFIX)) {
    return `not a join token (it starts with "${TOKEN_PREFIX}"): run jitsi-meet-config --add-bridge NAME on the main server and copy the whole line it prints`;
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(trimmed.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    return 'the join token is damaged (cut short or mistyped?): copy the whole line again';
  }
  const token = value as Partial<JoinToken>;
  const problems = [
    typeof token.hostname === 'string' ? checkHostname(token.hostname) : 'no hostname',
    typeof token.address === 'string' ? checkIp(token.address) : 'no address',
    Number.isInteger(token.port) && token.port! > 0 && token.port! < 65536 ? undefined : 'no port',
    typeof token.name === 'string' ? checkBridgeName(token.name) : 'no bridge name',
    typeof token.password === 'string' ? (checkSecret(token.password) ? 'a bad password' : undefined) : 'no password',
    typeof token.brewery === 'string' && token.brewery.includes('@') ? undefined : 'no brewery',
    typeof token.certificateSha256 === 'string' && SHA256.test(token.certificateSha256) ? undefined : 'no certificate fingerprint',
  ].filter((problem): problem is string => problem !== undefined);
  if (problems.length > 0) return `the join token is damaged (${problems.join(', ')}): copy the whole line again`;
  return token as JoinToken;
}
