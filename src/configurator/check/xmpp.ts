/**
 * A minimal XMPP client for `--check`, on Node's built-ins only (the configurator ships as one
 * bundle with nothing else): c2s on loopback, STARTTLS, SASL PLAIN inside TLS, resource
 * binding, then a roster query or a MUC join. It reads the stream with patterns on whole
 * elements, which is enough for prosody's answers to these few requests and nothing more; it
 * is not a general XMPP parser.
 *
 * The TLS certificate is not verified: the connection goes to our own prosody on 127.0.0.1,
 * whose auth.<H> certificate is self-signed (the TLS check looks at certificates).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export interface XmppTarget {
  host: string;
  port: number;
  /** The XMPP domain the account lives on (auth.<H> for focus and jvb). */
  domain: string;
  username: string;
  password: string;
  timeoutMs: number;
}

/** Thrown with a message fit for one line of the report. */
export class XmppError extends Error {
  constructor(
    message: string,
    /** `not-authorized`, `no-connection`, `protocol`, `timeout`. */
    readonly kind: 'not-authorized' | 'no-connection' | 'protocol' | 'timeout',
  ) {
    super(message);
  }
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}

export function unescapeXml(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&apos;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}

/** Attribute `name` of the first element in `xml`, unescaped. */
export function attribute(xml: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}=(?:'([^']*)'|"([^"]*)")`).exec(xml);
  return match ? unescapeXml(match[1] ?? match[2] ?? '') : undefined;
}

/** The items of a roster result: `jid` and `subscription` of each `<item>`. */
export function rosterItems(xml: string): Array<{ jid: string; subscription: string }> {
  const items: Array<{ jid: string; subscription: string }> = [];
  for (const match of xml.matchAll(/<item\b[^>]*>/g)) {
    const jid = attribute(match[0], 'jid');
    if (jid) items.push({ jid, subscription: attribute(match[0], 'subscription') ?? 'none' });
  }
  return items;
}

/**
 * The occupant nickname of a presence from `room`, or undefined when it comes from elsewhere.
 * Prosody answers with the room's JID as it stores it (the localpart lower-cased: `jvbbrewery@`
 * for `JvbBrewery@`), so the bare JIDs compare case-insensitively; nicknames are exact.
 */
export function occupantNick(from: string, room: string): string | undefined {
  const slash = from.indexOf('/');
  if (slash === -1 || from.slice(0, slash).toLowerCase() !== room.toLowerCase()) return undefined;
  return from.slice(slash + 1);
}

/** A logged-in session. Always `close()` it. */
export class XmppSession {
  private buffer = '';
  private waiter?: () => void;
  private ended?: XmppError;
  /** The server's TLS certificate (DER), once STARTTLS is done: a bridge compares it with the pinned one. */
  certificate?: Uint8Array;

  private constructor(
    private socket: Socket | TLSSocket,
    private readonly deadline: number,
  ) {
    this.attach(socket);
  }

  private attach(socket: Socket | TLSSocket): void {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.waiter?.();
    });
    socket.on('error', (error) => {
      this.ended ??= new XmppError(`connection error: ${error.message}`, 'no-connection');
      this.waiter?.();
    });
    socket.on('close', () => {
      this.ended ??= new XmppError('prosody closed the connection', 'protocol');
      this.waiter?.();
    });
  }

  private send(xml: string): void {
    this.socket.write(xml);
  }

  /** Waits until `pattern` matches the unread input; returns the match and consumes up to its end. */
  private async expect(pattern: RegExp, what: string): Promise<RegExpExecArray> {
    for (;;) {
      const match = pattern.exec(this.buffer);
      if (match) {
        this.buffer = this.buffer.slice(match.index + match[0].length);
        return match;
      }
      const failure = /<stream:error>([\s\S]*?)<\/stream:error>/.exec(this.buffer);
      if (failure) throw new XmppError(`stream error while waiting for ${what}: ${/<([a-z-]+)\s+xmlns='urn:ietf:params:xml:ns:xmpp-streams'/.exec(failure[1])?.[1] ?? failure[1]}`, 'protocol');
      if (this.ended) throw this.ended;
      const left = this.deadline - Date.now();
      if (left <= 0) throw new XmppError(`no answer from prosody within the time limit (waiting for ${what})`, 'timeout');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }

  private openStream(domain: string): void {
    this.send(`<?xml version='1.0'?><stream:stream to='${escapeXml(domain)}' version='1.0' xml:lang='en' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`);
  }

  private async features(): Promise<string> {
    return (await this.expect(/<stream:features\b[^>]*(?:\/>|>([\s\S]*?)<\/stream:features>)/, 'stream features'))[0];
  }

  /**
   * The TLS certificate prosody presents for `domain` (DER), after STARTTLS and before any login.
   * Not verified here: the caller compares it with the fingerprint it was given.
   */
  static async serverCertificate(target: Omit<XmppTarget, 'username' | 'password'>): Promise<Uint8Array> {
    const session = await XmppSession.secured(target);
    session.close();
    return session.certificate!;
  }

  static async login(target: XmppTarget, resource: string): Promise<XmppSession> {
    const session = await XmppSession.secured(target);
    try {
      const tlsFeatures = await session.features();
      if (!/<mechanism>PLAIN<\/mechanism>/.test(tlsFeatures)) throw new XmppError('prosody offers no PLAIN login inside TLS', 'protocol');
      const token = Buffer.from(`\0${target.username}\0${target.password}`, 'utf8').toString('base64');
      session.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${token}</auth>`);
      const answer = await session.expect(/<success\b[^>]*\/>|<success\b[^>]*>[\s\S]*?<\/success>|<failure\b[^>]*>([\s\S]*?)<\/failure>/, 'the login result');
      if (!answer[0].startsWith('<success')) {
        const condition = /<([a-z-]+)\s*\/>/.exec(answer[1] ?? '')?.[1] ?? 'failure';
        throw new XmppError(`login refused (${condition})`, condition === 'not-authorized' ? 'not-authorized' : 'protocol');
      }
      session.buffer = '';
      session.openStream(target.domain);
      await session.features();
      session.send(`<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${escapeXml(resource)}</resource></bind></iq>`);
      const bound = await session.expect(/<iq\b[^>]*id=['"]bind1['"][^>]*>[\s\S]*?<\/iq>/, 'resource binding');
      if (attribute(bound[0], 'type') !== 'result') throw new XmppError('prosody refused to bind a resource', 'protocol');
      return session;
    } catch (error) {
      session.close();
      throw error;
    }
  }

  /** Connected, STARTTLS done and the stream re-opened: the next thing to read is the features inside TLS. */
  private static async secured(target: Omit<XmppTarget, 'username' | 'password'>): Promise<XmppSession> {
    const deadline = Date.now() + target.timeoutMs;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const raw = netConnect({ host: target.host, port: target.port });
      const timer = setTimeout(() => {
        raw.destroy();
        reject(new XmppError(`no connection to ${target.host}:${target.port} within ${target.timeoutMs} ms`, 'timeout'));
      }, target.timeoutMs);
      raw.once('connect', () => {
        clearTimeout(timer);
        resolve(raw);
      });
      raw.once('error', (error) => {
        clearTimeout(timer);
        reject(new XmppError(`cannot connect to ${target.host}:${target.port}: ${error.message}`, 'no-connection'));
      });
    });
    const session = new XmppSession(socket, deadline);
    try {
      session.openStream(target.domain);
      const plainFeatures = await session.features();
      if (!/<starttls\b/.test(plainFeatures)) throw new XmppError('prosody offers no STARTTLS on c2s', 'protocol');
      session.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
      await session.expect(/<proceed\b[^>]*\/>|<proceed\b[^>]*>\s*<\/proceed>/, 'STARTTLS proceed');
      socket.removeAllListeners('data').removeAllListeners('error').removeAllListeners('close');
      const secure = await new Promise<TLSSocket>((resolve, reject) => {
        const wrapped = tlsConnect({ socket, servername: target.domain, rejectUnauthorized: false }, () => resolve(wrapped));
        wrapped.once('error', (error) => reject(new XmppError(`TLS handshake failed: ${error.message}`, 'protocol')));
      });
      session.buffer = '';
      session.ended = undefined;
      session.attach(secure);
      session.certificate = secure.getPeerCertificate().raw;
      session.openStream(target.domain);
      return session;
    } catch (error) {
      session.close();
      throw error;
    }
  }

  /** focus's (or any account's) roster. */
  async roster(): Promise<Array<{ jid: string; subscription: string }>> {
    this.send("<iq type='get' id='roster1'><query xmlns='jabber:iq:roster'/></iq>");
    const answer = await this.expect(/<iq\b[^>]*id=['"]roster1['"][^>]*(?:\/>|>[\s\S]*?<\/iq>)/, 'the roster');
    if (attribute(answer[0], 'type') !== 'result') throw new XmppError('prosody refused the roster query', 'protocol');
    return rosterItems(answer[0]);
  }

  /**
   * Joins `room` as `nick` and returns the nicknames of the other occupants (the room sends
   * their presences before ours), then leaves (unless `stay`).
   */
  async occupants(room: string, nick: string, stay = false): Promise<string[]> {
    const own = `${room}/${nick}`;
    this.send(`<presence to='${escapeXml(own)}'><x xmlns='http://jabber.org/protocol/muc'/></presence>`);
    const others: string[] = [];
    for (;;) {
      const presence = await this.expect(/<presence\b[^>]*(?:\/>|>[\s\S]*?<\/presence>)/, `presences of ${room}`);
      const from = attribute(presence[0], 'from') ?? '';
      if (attribute(presence[0], 'type') === 'error') {
        const condition = /<([a-z-]+)\s+xmlns=['"]urn:ietf:params:xml:ns:xmpp-stanzas['"]/.exec(presence[0])?.[1] ?? 'error';
        throw new XmppError(`cannot join ${room} (${condition})`, 'protocol');
      }
      const occupant = occupantNick(from, room);
      if (occupant === nick || /<status\s+code=['"]110['"]/.test(presence[0])) break;
      if (occupant !== undefined) others.push(occupant);
    }
    if (!stay) this.send(`<presence type='unavailable' to='${escapeXml(own)}'/>`);
    return others;
  }

  close(): void {
    try {
      this.socket.end('</stream:stream>');
    } catch {
      // already gone
    }
    this.socket.destroy();
  }
}
