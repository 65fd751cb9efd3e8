/**
 * Raw XMPP-over-websocket client (RFC 7395) for the live-service test's login checks, run like
 * xmpp-probe.ts as its own process inside the test's network namespace
 * (`ip netns exec NS node --import tsx login-flood.ts '<plan JSON>'`). A library client hides
 * what this test is about (it retries, reconnects, picks mechanisms), so this one speaks the
 * protocol itself: open a stream, send SASL PLAIN <auth/>, read the one reply.
 *
 * Steps, in order:
 * - `flood`: failed logins as fast as the server answers, reconnecting whenever it closes the
 *   stream; bounded: stops after `maxAttempts`, after `stopAfterRefusals` refusals
 *   (temporary-auth-failure) in a row, or after `maxMs`;
 * - `login`: one login with the given password;
 * - `stream`: open a stream to a host and report whether prosody serves it;
 * - `sleep`.
 * `localAddress` picks the client's source address, which nginx passes on to prosody in
 * X-Forwarded-For. TLS trust comes from NODE_EXTRA_CA_CERTS, names from the namespace's hosts file.
 */
import WebSocket from 'ws';

type Step =
  | { kind: 'flood'; label: string; url: string; to: string; username: string; password: string; localAddress?: string; maxAttempts: number; stopAfterRefusals: number; maxMs: number }
  | { kind: 'login'; label: string; url: string; to: string; username: string; password: string; localAddress?: string }
  | { kind: 'stream'; label: string; url: string; to: string; localAddress?: string }
  | { kind: 'sleep'; label: string; ms: number };

interface Attempt {
  /** Which connection (1, 2, ...) the attempt was made on. */
  connection: number;
  /** `success`, the SASL failure condition, or `closed:<stream error>` when the server closed the stream instead. */
  reply: string;
  ms: number;
}

const STEP_TIMEOUT_MS = 20_000;

/** One websocket carrying one XMPP stream; `next()` yields the server's frames in order. */
class Stream {
  private frames: string[] = [];
  private waiting: Array<(frame: string | null) => void> = [];
  private closed = false;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => this.push(String(data)));
    socket.on('close', () => this.end());
    socket.on('error', () => this.end());
  }

  static open(url: string, localAddress?: string): Promise<Stream> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, 'xmpp', localAddress ? { localAddress } : {});
      const stream = new Stream(socket);
      socket.once('open', () => resolve(stream));
      socket.once('error', reject);
    });
  }

  private push(frame: string): void {
    const waiter = this.waiting.shift();
    if (waiter) waiter(frame);
    else this.frames.push(frame);
  }

  private end(): void {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter(null);
  }

  /** The next frame, or null once the connection is closed. */
  next(): Promise<string | null> {
    const frame = this.frames.shift();
    if (frame !== undefined) return Promise.resolve(frame);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timeout waiting for the server')), STEP_TIMEOUT_MS);
      this.waiting.push((value) => {
        clearTimeout(timer);
        resolve(value);
      });
    });
  }

  send(text: string): void {
    this.socket.send(text);
  }

  close(): void {
    this.socket.terminate();
  }

  /** Opens the XMPP stream; resolves with the features frame, or `closed:<error>` when refused. */
  async start(to: string): Promise<string> {
    this.send(`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="${to}" version="1.0"/>`);
    for (;;) {
      const frame = await this.next();
      if (frame === null) return 'closed:no-reason';
      if (frame.includes('stream:error') || frame.includes('<error')) return `closed:${streamError(frame)}`;
      if (frame.includes('features')) return frame;
    }
  }

  /** One SASL PLAIN attempt; the reply condition, `success`, or `closed:<error>`. */
  async plain(username: string, password: string): Promise<string> {
    const credentials = Buffer.from(`\0${username}\0${password}`).toString('base64');
    this.send(`<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">${credentials}</auth>`);
    for (;;) {
      const frame = await this.next();
      if (frame === null) return 'closed:no-reason';
      if (/<success\b/.test(frame)) return 'success';
      const failure = /<failure\b[^>]*>\s*<([a-z-]+)/.exec(frame);
      if (failure) return failure[1]!;
      if (frame.includes('error')) return `closed:${streamError(frame)}`;
    }
  }
}

function streamError(frame: string): string {
  return /<([a-z-]+)[^>]*xmlns=['"]urn:ietf:params:xml:ns:xmpp-streams['"]/.exec(frame)?.[1] ?? 'unknown';
}

async function flood(step: Extract<Step, { kind: 'flood' }>): Promise<{ attempts: Attempt[]; stoppedBy: string }> {
  const attempts: Attempt[] = [];
  const started = Date.now();
  let connection = 0;
  let refusalsInARow = 0;
  while (attempts.length < step.maxAttempts) {
    if (Date.now() - started > step.maxMs) return { attempts, stoppedBy: 'time' };
    connection += 1;
    const stream = await Stream.open(step.url, step.localAddress);
    try {
      const features = await stream.start(step.to);
      if (features.startsWith('closed:')) {
        attempts.push({ connection, reply: features, ms: 0 });
        continue;
      }
      while (attempts.length < step.maxAttempts && Date.now() - started <= step.maxMs) {
        const sent = Date.now();
        const reply = await stream.plain(step.username, step.password);
        attempts.push({ connection, reply, ms: Date.now() - sent });
        refusalsInARow = reply === 'temporary-auth-failure' ? refusalsInARow + 1 : 0;
        if (refusalsInARow >= step.stopAfterRefusals) return { attempts, stoppedBy: 'refusals' };
        if (reply.startsWith('closed:') || reply === 'success') break;
      }
    } finally {
      stream.close();
    }
  }
  return { attempts, stoppedBy: attempts.length >= step.maxAttempts ? 'attempts' : 'time' };
}

async function main(): Promise<void> {
  const plan = JSON.parse(process.argv[2] ?? '[]') as Step[];
  const results: Record<string, unknown> = {};
  for (const step of plan) {
    if (step.kind === 'sleep') {
      await new Promise((resolve) => setTimeout(resolve, step.ms));
      results[step.label] = 'slept';
    } else if (step.kind === 'flood') {
      results[step.label] = await flood(step);
    } else {
      const stream = await Stream.open(step.url, step.localAddress);
      try {
        const features = await stream.start(step.to);
        if (step.kind === 'stream') results[step.label] = features.startsWith('closed:') ? features : 'features';
        else results[step.label] = features.startsWith('closed:') ? features : await stream.plain(step.username, step.password);
      } finally {
        stream.close();
      }
    }
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
