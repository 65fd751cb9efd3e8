/**
 * A minimal STUN/TURN client for `--check` (RFC 5389/5766 over UDP, Node's dgram and crypto
 * only): an Allocate with the long-term credential that a client gets from prosody (TURN REST
 * scheme: user `<expiry>:<name>`, password base64(HMAC-SHA1(shared secret, user))), a
 * CreatePermission towards a loopback peer (which coturn must refuse), and a Refresh with
 * lifetime 0 that gives the allocation back.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIPv4 } from 'node:net';

const MAGIC = 0x2112a442;
export const STUN = {
  allocate: 0x0003,
  refresh: 0x0004,
  createPermission: 0x0008,
} as const;
const SUCCESS = 0x0100;
const ERROR = 0x0110;
const ATTR = {
  username: 0x0006,
  messageIntegrity: 0x0008,
  errorCode: 0x0009,
  xorPeerAddress: 0x0012,
  lifetime: 0x000d,
  realm: 0x0014,
  nonce: 0x0015,
  xorRelayedAddress: 0x0016,
  requestedTransport: 0x0019,
} as const;

export interface StunAttribute {
  type: number;
  value: Buffer;
}

export interface StunMessage {
  type: number;
  transaction: Buffer;
  attributes: StunAttribute[];
}

/** Credentials a client gets from prosody's external_services for the TURN REST scheme. */
export function turnRestCredentials(secret: string, name: string, nowSeconds: number, ttlSeconds = 300): { username: string; password: string } {
  const username = `${nowSeconds + ttlSeconds}:${name}`;
  return { username, password: createHmac('sha1', secret).update(username).digest('base64') };
}

function attribute(type: number, value: Buffer): Buffer {
  const padded = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4);
  padded.writeUInt16BE(type, 0);
  padded.writeUInt16BE(value.length, 2);
  value.copy(padded, 4);
  return padded;
}

/** Encodes a request; with `key`, appends MESSAGE-INTEGRITY (HMAC-SHA1 over the message so far). */
export function encodeStun(type: number, transaction: Buffer, attributes: StunAttribute[], key?: Buffer): Buffer {
  const body = Buffer.concat(attributes.map((a) => attribute(a.type, a.value)));
  const header = Buffer.alloc(20);
  header.writeUInt16BE(type, 0);
  header.writeUInt32BE(MAGIC, 4);
  transaction.copy(header, 8);
  if (!key) {
    header.writeUInt16BE(body.length, 2);
    return Buffer.concat([header, body]);
  }
  header.writeUInt16BE(body.length + 24, 2);
  const mac = createHmac('sha1', key).update(Buffer.concat([header, body])).digest();
  return Buffer.concat([header, body, attribute(ATTR.messageIntegrity, mac)]);
}

export function decodeStun(packet: Buffer): StunMessage | undefined {
  if (packet.length < 20 || packet.readUInt32BE(4) !== MAGIC) return undefined;
  const length = packet.readUInt16BE(2);
  const attributes: StunAttribute[] = [];
  let offset = 20;
  while (offset + 4 <= 20 + length && offset + 4 <= packet.length) {
    const type = packet.readUInt16BE(offset);
    const size = packet.readUInt16BE(offset + 2);
    attributes.push({ type, value: packet.subarray(offset + 4, offset + 4 + size) });
    offset += 4 + Math.ceil(size / 4) * 4;
  }
  return { type: packet.readUInt16BE(0), transaction: packet.subarray(8, 20), attributes };
}

export function errorCode(message: StunMessage): { code: number; reason: string } | undefined {
  const value = message.attributes.find((a) => a.type === ATTR.errorCode)?.value;
  if (!value || value.length < 4) return undefined;
  return { code: (value[2] & 0x7) * 100 + value[3], reason: value.subarray(4).toString('utf8') };
}

/** XOR-*-ADDRESS value for an IPv4 address. */
export function xorAddress(address: string, port: number): Buffer {
  if (!isIPv4(address)) throw new Error(`only IPv4 peers are supported here: ${address}`);
  const value = Buffer.alloc(8);
  value[1] = 0x01;
  value.writeUInt16BE(port ^ (MAGIC >>> 16), 2);
  const raw = Buffer.from(address.split('.').map(Number));
  value.writeUInt32BE((raw.readUInt32BE(0) ^ MAGIC) >>> 0, 4);
  return value;
}

export function readXorAddress(value: Buffer): string | undefined {
  if (value.length < 8 || value[1] !== 0x01) return undefined;
  const port = value.readUInt16BE(2) ^ (MAGIC >>> 16);
  const raw = Buffer.alloc(4);
  raw.writeUInt32BE((value.readUInt32BE(4) ^ MAGIC) >>> 0, 0);
  return `${[...raw].join('.')}:${port}`;
}

export interface TurnProbeResult {
  /** The allocation succeeded: the relayed address coturn gave. */
  relayed?: string;
  /** Why it did not: an error response (`401 Unauthorized`) or no answer. */
  allocateError?: string;
  /** The answer to a permission for the loopback peer: `refused (403 Forbidden)` or `granted`. */
  loopbackPeer?: 'granted' | string;
}

/**
 * Allocates on coturn at `server:port` with credentials derived from `secret`, asks for a
 * permission to the loopback peer, and releases the allocation. Never throws for what the
 * server answers; it throws only for local problems.
 */
export async function probeTurn(server: string, port: number, secret: string, timeoutMs: number): Promise<TurnProbeResult> {
  const socket = createSocket(isIPv4(server) ? 'udp4' : 'udp6');
  const pending = new Map<string, (message: StunMessage) => void>();
  socket.on('message', (packet) => {
    const message = decodeStun(packet);
    if (message) pending.get(message.transaction.toString('hex'))?.(message);
  });
  socket.on('error', () => undefined);
  const deadline = Date.now() + timeoutMs;
  const request = (packet: Buffer, transaction: Buffer): Promise<StunMessage | undefined> =>
    new Promise((resolve) => {
      const key = transaction.toString('hex');
      // UDP: resend a few times within the time limit.
      const resend = setInterval(() => socket.send(packet, port, server), 500);
      const timer = setTimeout(() => finish(undefined), Math.max(0, deadline - Date.now()));
      const finish = (message: StunMessage | undefined) => {
        clearInterval(resend);
        clearTimeout(timer);
        pending.delete(key);
        resolve(message);
      };
      pending.set(key, finish);
      socket.send(packet, port, server);
    });
  try {
    const transport = { type: ATTR.requestedTransport, value: Buffer.from([17, 0, 0, 0]) };
    let transaction = randomBytes(12);
    const challenge = await request(encodeStun(STUN.allocate, transaction, [transport]), transaction);
    if (!challenge) return { allocateError: `no answer from ${server}:${port}/udp` };
    const challengeError = errorCode(challenge);
    if (challenge.type === (STUN.allocate | SUCCESS)) return { allocateError: 'coturn allocated without credentials (use-auth-secret is not in effect)' };
    const realm = challenge.attributes.find((a) => a.type === ATTR.realm)?.value;
    const nonce = challenge.attributes.find((a) => a.type === ATTR.nonce)?.value;
    if (challengeError?.code !== 401 || !realm || !nonce) {
      return { allocateError: `unexpected answer to an unauthenticated Allocate: ${challengeError ? `${challengeError.code} ${challengeError.reason}` : challenge.type.toString(16)}` };
    }
    const { username, password } = turnRestCredentials(secret, 'jitsi-meet-config-check', Math.floor(Date.now() / 1000));
    const key = createHash('md5').update(`${username}:${realm.toString('utf8')}:${password}`).digest();
    const auth = [
      { type: ATTR.username, value: Buffer.from(username) },
      { type: ATTR.realm, value: realm },
      { type: ATTR.nonce, value: nonce },
    ];
    transaction = randomBytes(12);
    const allocated = await request(encodeStun(STUN.allocate, transaction, [transport, ...auth], key), transaction);
    if (!allocated) return { allocateError: `no answer to the authenticated Allocate from ${server}:${port}/udp` };
    if (allocated.type !== (STUN.allocate | SUCCESS)) {
      const error = errorCode(allocated);
      return { allocateError: error ? `${error.code} ${error.reason}`.trim() : `answer type ${allocated.type.toString(16)}` };
    }
    const relayedValue = allocated.attributes.find((a) => a.type === ATTR.xorRelayedAddress)?.value;
    const result: TurnProbeResult = { relayed: (relayedValue && readXorAddress(relayedValue)) ?? 'unknown address' };
    transaction = randomBytes(12);
    const permission = await request(
      encodeStun(STUN.createPermission, transaction, [{ type: ATTR.xorPeerAddress, value: xorAddress('127.0.0.1', 9) }, ...auth], key),
      transaction,
    );
    if (!permission) result.loopbackPeer = 'no answer';
    else if (permission.type === (STUN.createPermission | SUCCESS)) result.loopbackPeer = 'granted';
    else {
      const error = errorCode(permission);
      result.loopbackPeer = `refused (${error ? `${error.code} ${error.reason}`.trim() : permission.type.toString(16)})`;
    }
    transaction = randomBytes(12);
    await request(encodeStun(STUN.refresh, transaction, [{ type: ATTR.lifetime, value: Buffer.from([0, 0, 0, 0]) }, ...auth], key), transaction);
    return result;
  } finally {
    socket.close();
  }
}

export const STUN_CLASSES = { SUCCESS, ERROR };
