/**
 * XMPP client for the stand-in daemon tests, run as its own process inside the test's network
 * namespace (`ip netns exec NS node --import tsx xmpp-check.ts '<plan JSON>'`): a process cannot
 * enter another network namespace by itself. It runs the planned sessions one after the other,
 * keeps them online until the end, and prints one JSON line with what each saw:
 * - `join`: joins a room and lists the other occupants that answered within `listenMs`
 *   (with whether each presented itself as a bridge: colibri stats in its presence);
 * - `conferenceRequest`: sends jicofo's conference request to `to` (the client proxy
 *   focus.<H>) and reports the answer, which only comes if the proxy reached jicofo.
 * TLS trust comes from NODE_EXTRA_CA_CERTS.
 */
const XMPP_CLIENT: string = '@xmpp/client';
// @xmpp/client ships no type declarations; a computed specifier keeps tsc from demanding them.
const { client, xml } = (await import(XMPP_CLIENT)) as { client: (options: object) => any; xml: (...args: any[]) => any };

export interface CheckSession {
  label: string;
  service: string;
  domain: string;
  /** Without username: an anonymous login (SASL ANONYMOUS). */
  username?: string;
  password?: string;
  resource?: string;
  /** `room@muc/nick` */
  join?: string;
  listenMs?: number;
  conferenceRequest?: { to: string; room: string };
}

export interface CheckResult {
  label: string;
  login: string;
  joined?: string;
  occupants?: Array<{ nick: string; bridge: boolean }>;
  conference?: Record<string, string> | string;
}

const TIMEOUT_MS = 30_000;

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timeout: ${what}`)), TIMEOUT_MS))]);
}

/** @xmpp/client reports online before it has processed <enabled/> of stream management; wait for it. */
async function streamManagementSettled(xmpp: any): Promise<void> {
  const deadline = Date.now() + 3000;
  while (xmpp.streamManagement && !xmpp.streamManagement.enabled && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

async function run(session: CheckSession, online: any[]): Promise<CheckResult> {
  const result: CheckResult = { label: session.label, login: '' };
  const xmpp = client({
    service: session.service,
    domain: session.domain,
    resource: session.resource ?? session.label,
    ...(session.username ? { username: session.username, password: session.password } : {}),
    timeout: 20_000,
  });
  xmpp.on('error', () => {});
  (xmpp as any).reconnect?.stop?.();
  try {
    await withTimeout(xmpp.start(), `login ${session.label}`);
    result.login = 'online';
    await streamManagementSettled(xmpp);
    online.push(xmpp);
  } catch (error) {
    result.login = (error as Error).message || String(error);
    await xmpp.stop().catch(() => {});
    return result;
  }
  if (session.join) {
    const [bare, nick] = [session.join.split('/')[0]!, session.join.split('/').slice(1).join('/')];
    const occupants = new Map<string, boolean>();
    let joined: string | undefined;
    xmpp.on('stanza', (stanza: any) => {
      if (!stanza.is('presence')) return;
      const from = String(stanza.attrs.from ?? '');
      // prosody answers from the case-folded room JID (JvbBrewery -> jvbbrewery).
      if (from.split('/')[0]!.toLowerCase() !== bare.toLowerCase()) return;
      const occupant = from.split('/').slice(1).join('/');
      if (occupant === nick) {
        joined = stanza.attrs.type === 'error' ? (stanza.getChild('error')?.children?.find((c: any) => typeof c === 'object')?.name ?? 'error') : 'joined';
      } else if (stanza.attrs.type !== 'unavailable') {
        occupants.set(occupant, Boolean(stanza.getChild('stats', 'http://jitsi.org/protocol/colibri')));
      }
    });
    await xmpp.send(xml('presence', { to: session.join }, xml('x', { xmlns: 'http://jabber.org/protocol/muc' })));
    await new Promise((resolve) => setTimeout(resolve, session.listenMs ?? 3000));
    result.joined = joined ?? 'no answer';
    result.occupants = [...occupants].map(([occupantNick, bridge]) => ({ nick: occupantNick, bridge }));
  }
  if (session.conferenceRequest) {
    try {
      const reply = await withTimeout(
        xmpp.iqCaller.request(
          xml('iq', { type: 'set', to: session.conferenceRequest.to }, xml('conference', { xmlns: 'http://jitsi.org/protocol/focus', room: session.conferenceRequest.room })),
        ),
        'conference request',
      );
      result.conference = { from: String((reply as any).attrs.from), ...((reply as any).getChild('conference')?.attrs ?? {}) };
    } catch (error) {
      result.conference = `${(error as any).condition ?? ''} ${(error as Error).message}`.trim();
    }
  }
  return result;
}

async function main(): Promise<void> {
  const plan = JSON.parse(process.argv[2] ?? '[]') as CheckSession[];
  const online: any[] = [];
  const results: CheckResult[] = [];
  try {
    for (const session of plan) results.push(await run(session, online));
  } finally {
    for (const xmpp of online.reverse()) await xmpp.stop().catch(() => {});
  }
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

if (process.argv[1]?.endsWith('xmpp-check.ts')) {
  main().then(
    () => process.exit(0),
    (error) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
