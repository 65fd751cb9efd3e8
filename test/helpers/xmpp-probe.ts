/**
 * XMPP client for the live-service test, run as its own process inside the test's network
 * namespace (`ip netns exec NS node --import tsx xmpp-probe.ts '<plan JSON>'`), because a
 * process cannot enter another network namespace by itself. It opens the planned sessions in
 * order, keeps them all online while later ones act (a MUC room lives while someone is in it),
 * and prints one JSON line with the outcome of every step.
 *
 * TLS trust comes from NODE_EXTRA_CA_CERTS (the test's self-signed certificates); names
 * resolve through the namespace's /etc/hosts (`ip netns exec` binds /etc/netns/NS/hosts).
 */
import WebSocket from 'ws';

// @xmpp/client ships no type declarations; a computed specifier keeps tsc from demanding them.
const XMPP_CLIENT: string = '@xmpp/client';
const { client, xml } = (await import(XMPP_CLIENT)) as { client: (options: object) => any; xml: (...args: any[]) => any };

interface SessionPlan {
  label: string;
  /** `xmpp://127.0.0.1:5222` (c2s with STARTTLS) or `wss://<H>/xmpp-websocket`. */
  service: string;
  domain: string;
  username?: string;
  password?: string;
  /** Full room JIDs with nickname (`room@conference.<H>/nick`) to join, in order. */
  join?: string[];
  /** Ask the server for its STUN/TURN services and credentials (XEP-0215). */
  externalServices?: boolean;
  /** Chat messages to send: `count` of `size` characters each to `to`; the error replies are reported. */
  messages?: Array<{ to: string; count: number; size: number }>;
}

export interface StepResult {
  label: string;
  /** `online` or the error text of the login. */
  login: string;
  jid?: string;
  /** Per room: `joined` or the MUC error condition (`not-allowed`, `registration-required`...). */
  joins: Record<string, string>;
  /** Attributes of each <service/> the server announced, or the error text. */
  services?: Array<Record<string, string>> | string;
  /** Per recipient: the error condition of each bounced message (none when the server stored or delivered them). */
  messages?: Record<string, string[]>;
  /** Milliseconds from sending the first message to the last bounce (or to giving up). */
  messagesMs?: number;
}

// Node 20 has no global WebSocket; @xmpp/websocket uses the global one.
(globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;

const TIMEOUT_MS = 30_000;
/** Long enough for a few kilobytes through prosody's 10 kB/s client limit on a loaded machine. */
const MESSAGE_WAIT_MS = 30_000;

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timeout: ${what}`)), TIMEOUT_MS)),
  ]);
}

async function join(xmpp: any, roomJid: string): Promise<string> {
  const bare = roomJid.split('/')[0]!;
  const answer = new Promise<string>((resolve) => {
    const onStanza = (stanza: any) => {
      // prosody nodepreps the room name (JvbBrewery becomes jvbbrewery): compare case-folded.
      if (!stanza.is('presence') || String(stanza.attrs.from ?? '').toLowerCase() !== roomJid.toLowerCase()) return;
      xmpp.removeListener('stanza', onStanza);
      if (stanza.attrs.type === 'error') {
        const error = stanza.getChild('error');
        const condition = error?.children?.find((child: any) => typeof child === 'object' && child.attrs?.xmlns === 'urn:ietf:params:xml:ns:xmpp-stanzas');
        resolve(condition?.name ?? 'error');
      } else {
        resolve('joined');
      }
    };
    xmpp.on('stanza', onStanza);
  });
  // On a timeout, say what did arrive: the stanzas tell why the expected presence never came.
  const seen: string[] = [];
  const record = (stanza: any) => seen.push(String(stanza).slice(0, 300));
  xmpp.on('stanza', record);
  try {
    await xmpp.send(xml('presence', { to: roomJid }, xml('x', { xmlns: 'http://jabber.org/protocol/muc' })));
    return await withTimeout(answer, `joining ${bare}`);
  } catch (error) {
    throw new Error(`${(error as Error).message}; received meanwhile: ${seen.join(' ') || 'nothing'}`);
  } finally {
    xmpp.removeListener('stanza', record);
  }
}

/**
 * @xmpp/client 0.14 reports "online" before it has processed prosody's <enabled/> for stream
 * management; it then resets its received-stanza counter under stanzas already counted, acks
 * fewer than before, and prosody rightly drops the stream. Waiting until the client has
 * processed <enabled/> avoids that client race (prosody's smacks stays as generated).
 */
async function streamManagementSettled(xmpp: any): Promise<void> {
  const deadline = Date.now() + 3000;
  while (xmpp.streamManagement && !xmpp.streamManagement.enabled && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function errorCondition(stanza: any): string {
  const error = stanza.getChild('error');
  const condition = error?.children?.find((child: any) => typeof child === 'object' && child.attrs?.xmlns === 'urn:ietf:params:xml:ns:xmpp-stanzas');
  return condition?.name ?? 'error';
}

/** Sends the messages and collects the bounces until every message is answered or MESSAGE_WAIT_MS pass. */
async function sendMessages(xmpp: any, messages: NonNullable<SessionPlan['messages']>): Promise<{ bounced: Record<string, string[]>; ms: number }> {
  const bounced: Record<string, string[]> = Object.fromEntries(messages.map((m) => [m.to, []]));
  const expected = messages.reduce((sum, m) => sum + m.count, 0);
  let received = 0;
  let done: () => void = () => {};
  const allAnswered = new Promise<void>((resolve) => (done = resolve));
  const onStanza = (stanza: any) => {
    if (!stanza.is('message') || stanza.attrs.type !== 'error') return;
    const from = String(stanza.attrs.from ?? '');
    if (!(from in bounced)) return;
    bounced[from]!.push(errorCondition(stanza));
    received += 1;
    if (received >= expected) done();
  };
  xmpp.on('stanza', onStanza);
  const started = Date.now();
  try {
    for (const { to, count, size } of messages) {
      for (let i = 0; i < count; i++) {
        await xmpp.send(xml('message', { to, type: 'chat', id: `m${i}` }, xml('body', {}, `${i} ${'x'.repeat(size)}`)));
      }
    }
    await Promise.race([allAnswered, new Promise((resolve) => setTimeout(resolve, MESSAGE_WAIT_MS))]);
  } finally {
    xmpp.removeListener('stanza', onStanza);
  }
  return { bounced, ms: Date.now() - started };
}

async function main(): Promise<void> {
  const plan = JSON.parse(process.argv[2] ?? '[]') as SessionPlan[];
  const results: StepResult[] = [];
  const online: Array<any> = [];
  try {
    for (const session of plan) {
      const result: StepResult = { label: session.label, login: '', joins: {} };
      results.push(result);
      const xmpp = client({
        service: session.service,
        domain: session.domain,
        resource: session.label,
        // The library waits 2 s for each protocol step by default; a loaded 2-core CI machine
        // (TLS handshakes, SCRAM hashing) can take longer than that without anything being wrong.
        timeout: 20_000,
        ...(session.username ? { username: session.username, password: session.password } : {}),
      });
      xmpp.on('error', () => {});
      // One login attempt: a failure is a result to report, not something to retry.
      (xmpp as any).reconnect?.stop?.();
      try {
        const address = await withTimeout(xmpp.start(), `login ${session.label}`);
        result.login = 'online';
        result.jid = String(address);
        await streamManagementSettled(xmpp);
        online.push(xmpp);
      } catch (error) {
        result.login = (error as Error).message || String(error);
        await xmpp.stop().catch(() => {});
        continue;
      }
      if (session.externalServices) {
        try {
          const reply = await withTimeout(
            xmpp.iqCaller.request(xml('iq', { type: 'get', to: session.domain }, xml('services', { xmlns: 'urn:xmpp:extdisco:2' }))),
            'external services',
          );
          const list = (reply as any).getChild('services', 'urn:xmpp:extdisco:2');
          result.services = list.getChildren('service').map((service: any) => ({ ...service.attrs }));
        } catch (error) {
          result.services = (error as Error).message || String(error);
        }
      }
      if (session.messages) {
        const { bounced, ms } = await sendMessages(xmpp, session.messages);
        result.messages = bounced;
        result.messagesMs = ms;
      }
      for (const room of session.join ?? []) {
        try {
          result.joins[room] = await join(xmpp, room);
        } catch (error) {
          result.joins[room] = (error as Error).message;
        }
      }
    }
  } finally {
    for (const xmpp of online.reverse()) await xmpp.stop().catch(() => {});
  }
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
