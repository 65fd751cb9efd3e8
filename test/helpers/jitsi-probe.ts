/**
 * Talks to a configured Jitsi Meet server the way its clients do, from OUTSIDE the container:
 * run it inside the test's network namespace (`ip netns exec NS node --import tsx
 * test/helpers/jitsi-probe.ts`), with the request as JSON on stdin and NODE_EXTRA_CA_CERTS set
 * to the server's generated certificates. It prints one JSON report on stdout; every check
 * reports success or its error, so one failing check does not hide the others.
 *
 * The server's public name does not resolve here: every connection goes to `address`
 * (loopback of the namespace) while TLS and XMPP use the real names.
 */
import { request } from 'node:https';
import type { LookupFunction } from 'node:net';
import { client, xml } from '@xmpp/client';
import WebSocket from 'ws';

export interface XmppLogin {
  /** Name of the check in the report. */
  name: string;
  /** `xmpp://127.0.0.1:5222` (c2s with STARTTLS) or `wss://<H>/xmpp-websocket` (through nginx). */
  service: string;
  domain: string;
  /** Without username: anonymous login. */
  username?: string;
  password?: string;
  /** Rooms to join in order, as `room@muc/nick`. */
  join?: string[];
}

export interface ProbeRequest {
  /** Public name of the server (TLS SNI, HTTP Host, XMPP domains). */
  host: string;
  /** Where that name is reached from the namespace. */
  address: string;
  /** HTTPS GET of these paths on port 443. */
  get?: string[];
  /** Open a BOSH session on /http-bind for this XMPP domain. */
  boshDomain?: string;
  /** Logins run one after the other (so a room one of them opens exists for the next). */
  logins?: XmppLogin[];
}

export interface CheckResult {
  ok: boolean;
  error?: string;
}

export interface LoginResult extends CheckResult {
  jid?: string;
  /** Per room: true when joined (self-presence with status 110), else the error condition. */
  joined?: Record<string, true | string>;
}

export interface ProbeReport {
  get: Record<string, CheckResult & { status?: number; body?: string }>;
  bosh?: CheckResult & { status?: number; sid?: string; body?: string };
  logins: Record<string, LoginResult>;
}

const TIMEOUT_MS = 15_000;

function loopbackLookup(address: string): LookupFunction {
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address, family: 4 }]);
    else callback(null, address, 4);
  }) as unknown as LookupFunction;
}

function httpsRequest(req: ProbeRequest, method: 'GET' | 'POST', path: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: req.host,
        port: 443,
        path,
        method,
        lookup: loopbackLookup(req.address),
        servername: req.host,
        headers: body === undefined ? {} : { 'content-type': 'text/xml; charset=utf-8', 'content-length': Buffer.byteLength(body) },
        timeout: TIMEOUT_MS,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`${method} ${path}: no answer in ${TIMEOUT_MS} ms`)));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

function message(error: unknown): string {
  if (error instanceof Error) return `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}${(error as { condition?: string }).condition ? ` (${(error as { condition?: string }).condition})` : ''}`;
  return String(error);
}

async function boshSession(req: ProbeRequest, domain: string): Promise<ProbeReport['bosh']> {
  const rid = 1_000_000 + Math.floor(Math.random() * 1_000_000);
  const body =
    `<body content='text/xml; charset=utf-8' hold='1' rid='${rid}' to='${domain}' ver='1.6' wait='10' xml:lang='en' ` +
    `xmpp:version='1.0' xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh'/>`;
  const response = await httpsRequest(req, 'POST', '/http-bind', body);
  const sid = /\bsid=['"]([^'"]+)['"]/.exec(response.body)?.[1];
  return { ok: response.status === 200 && sid !== undefined, status: response.status, sid, body: response.body.slice(0, 2000) };
}

/** WebSocket for @xmpp/websocket (Node 20 has no global one) that connects to `address`. */
function installWebSocket(address: string): void {
  class LoopbackWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { lookup: loopbackLookup(address) });
    }
  }
  (globalThis as { WebSocket?: unknown }).WebSocket = LoopbackWebSocket;
}

type Stanza = ReturnType<typeof xml>;

async function joinRoom(xmpp: ReturnType<typeof client>, roomJid: string): Promise<true | string> {
  const bare = roomJid.split('/')[0]!;
  // Prosody answers from the case-folded room JID (JvbBrewery -> jvbbrewery); the nick keeps its case.
  const sameOccupant = (from: string | undefined) =>
    from !== undefined && from.split('/')[0]!.toLowerCase() === bare.toLowerCase() && from.split('/').slice(1).join('/') === roomJid.split('/').slice(1).join('/');
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish(`no answer from ${bare} in ${TIMEOUT_MS} ms`), TIMEOUT_MS);
    const onStanza = (stanza: Stanza) => {
      if (!stanza.is('presence') || !sameOccupant(stanza.attrs.from)) return;
      if (stanza.attrs.type === 'error') {
        const error = stanza.getChild('error');
        const condition = error?.children.find((child) => typeof child !== 'string') as Stanza | undefined;
        finish(condition?.name ?? 'error');
        return;
      }
      const status = stanza.getChild('x', 'http://jabber.org/protocol/muc#user')?.getChildren('status') ?? [];
      if (status.some((entry) => entry.attrs.code === '110')) finish(true);
    };
    const finish = (result: true | string) => {
      clearTimeout(timer);
      xmpp.removeListener('stanza', onStanza);
      resolve(result);
    };
    xmpp.on('stanza', onStanza);
    xmpp.send(xml('presence', { to: roomJid }, xml('x', { xmlns: 'http://jabber.org/protocol/muc' }))).catch((error: unknown) => finish(message(error)));
  });
}

async function login(spec: XmppLogin): Promise<{ result: LoginResult; stop: () => Promise<void> }> {
  const xmpp = client({
    service: spec.service,
    domain: spec.domain,
    ...(spec.username === undefined ? {} : { username: spec.username, password: spec.password }),
  });
  // Without a listener an 'error' event would end the process; the outcome comes from start().
  xmpp.on('error', () => {});
  const stop = async () => {
    await Promise.race([xmpp.stop().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 3000))]);
  };
  try {
    const address = await Promise.race([
      xmpp.start(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`login not finished in ${TIMEOUT_MS} ms`)), TIMEOUT_MS)),
    ]);
    const result: LoginResult = { ok: true, jid: String(address) };
    if (spec.join?.length) {
      result.joined = {};
      for (const room of spec.join) result.joined[room] = await joinRoom(xmpp, room);
    }
    return { result, stop };
  } catch (error) {
    await stop();
    return { result: { ok: false, error: message(error) }, stop: async () => {} };
  }
}

export async function probe(req: ProbeRequest): Promise<ProbeReport> {
  installWebSocket(req.address);
  const report: ProbeReport = { get: {}, logins: {} };
  for (const path of req.get ?? []) {
    try {
      const response = await httpsRequest(req, 'GET', path);
      report.get[path] = { ok: response.status === 200, status: response.status, body: response.body };
    } catch (error) {
      report.get[path] = { ok: false, error: message(error) };
    }
  }
  if (req.boshDomain) {
    try {
      report.bosh = await boshSession(req, req.boshDomain);
    } catch (error) {
      report.bosh = { ok: false, error: message(error) };
    }
  }
  // Everyone stays online until the end: a room lives as long as someone is in it.
  const stops: Array<() => Promise<void>> = [];
  for (const spec of req.logins ?? []) {
    const { result, stop } = await login(spec);
    report.logins[spec.name] = result;
    stops.push(stop);
  }
  for (const stop of stops.reverse()) await stop();
  return report;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const report = await probe(JSON.parse(await readStdin()) as ProbeRequest);
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exit(0);
}
