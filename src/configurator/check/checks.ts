/**
 * The checks of `jitsi-meet-config --check`, in ONE table (`CHECKS`, at the end). A check is a
 * row: its name, what it checks, the checks it needs, the fix, when it does not apply, and
 * `run`, which reads what it needs (facts.ts, the XMPP and TURN probes) and hands it to a pure
 * `decide*` function exported here for the tests. Adding a check: a `decide*` function, a row,
 * a unit test of the function; the runner and the report need nothing.
 *
 * Nothing here writes a file, changes a service or talks to anything but this machine (the
 * DNS check asks the resolver, as any program here would).
 */
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { lookup, resolve4, resolve6 } from 'node:dns/promises';
import { access, stat, statfs } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { isPublicAddress, isPublicHostname } from '../addresses.js';
import { isInstalled, TARGET } from '../apply/services.js';
import { planServer } from '../components/index.js';
import { JICOFO_CONF } from '../components/jicofo/index.js';
import { LOOPBACK, PORTS, xmppNames } from '../components/names.js';
import { PROSODY_PLUGINS_DIR } from '../components/prosody/index.js';
import { JVB_CONF } from '../components/videobridge/index.js';
import { DEBIAN, prosodyHostFiles, type DistributionLayout } from '../distribution.js';
import type { MasterConfig } from '../master-config.js';
import { MASTER_CONFIG_PATH, webTls } from '../paths.js';
import { hoconString, jvbMappings, listeners, luaString, parsePasswd, processes, readText, run, initSaysRunning, turnserverValue, type Listener, type ProcessInfo } from './facts.js';
import { probeTurn, type TurnProbeResult } from './turn.js';
import { XmppError, XmppSession } from './xmpp.js';
import type { InitSystem } from '../../lib/init-systems.js';
import type { Check, CheckContext, Verdict } from './types.js';

export const pass = (detail: string): Verdict => ({ status: 'pass', detail });
const warn = (detail: string, fix?: string): Verdict => ({ status: 'warn', detail, fix });
export const fail = (detail: string, fix?: string): Verdict => ({ status: 'fail', detail, fix });

export const REAPPLY = 'run `jitsi-meet-config --reapply`';

// ---------------------------------------------------------------- services and sockets

/** The videobridge's private HTTP server (health) keeps its default port; jvb.conf sets only its host. */
export const JVB_PRIVATE_HTTP_PORT = 8080;

export interface PortSpec {
  protocol: 'tcp' | 'udp';
  port: number;
  /** Must listen on loopback only (prosody, the bridge's and jicofo's HTTP servers). */
  loopbackOnly: boolean;
  what: string;
}

export interface ServiceSpec {
  /** The check's name (`service:<key>`), the same on every distribution: the service's Debian name. */
  key: string;
  /** systemd unit base name or init script name, whichever the init uses. */
  service: string;
  /** The user its processes run as (nginx: its workers; the master runs as root). */
  user: string;
  /** Whether a process belongs to it. */
  isOurs(process: Pick<ProcessInfo, 'comm' | 'cmdline'>): boolean;
  /** The program name `ss -p` shows for its sockets. */
  socketOwner: RegExp;
  ports: PortSpec[];
}

/**
 * The server's services (the ones `jitsi-meet-server` starts) on a distribution under an init,
 * their users and the sockets the master config implies; always in this order.
 */
export function servicesFor(layout: DistributionLayout, init: InitSystem): ServiceSpec[] {
  return [
    {
      key: 'prosody',
      service: 'prosody',
      user: layout.prosody.user,
      isOurs: (p) => /(^|\/)prosody( |$)/.test(p.cmdline) && !/prosodyctl/.test(p.cmdline),
      socketOwner: /^(lua|prosody)/,
      ports: [
        { protocol: 'tcp', port: PORTS.xmppClient, loopbackOnly: true, what: "prosody's c2s" },
        { protocol: 'tcp', port: PORTS.prosodyHttp, loopbackOnly: true, what: "prosody's HTTP (BOSH, websocket)" },
      ],
    },
    {
      key: 'nginx',
      service: 'nginx',
      user: layout.nginx.workerUser,
      isOurs: (p) => p.comm === 'nginx',
      socketOwner: /^nginx$/,
      ports: [
        { protocol: 'tcp', port: PORTS.http, loopbackOnly: false, what: 'HTTP' },
        { protocol: 'tcp', port: PORTS.https, loopbackOnly: false, what: 'HTTPS' },
      ],
    },
    {
      key: 'coturn',
      service: layout.coturn.service[init],
      user: layout.coturn.user,
      isOurs: (p) => p.comm === 'turnserver',
      socketOwner: /^turnserver$/,
      ports: [
        { protocol: 'udp', port: PORTS.turn, loopbackOnly: false, what: 'STUN/TURN' },
        { protocol: 'tcp', port: PORTS.turn, loopbackOnly: false, what: 'STUN/TURN over TCP' },
        { protocol: 'tcp', port: PORTS.turns, loopbackOnly: false, what: 'TURN over TLS' },
      ],
    },
    {
      key: 'jicofo',
      service: 'jicofo',
      user: 'jicofo',
      isOurs: (p) => p.comm === 'java' && /jicofo/.test(p.cmdline),
      socketOwner: /^java$/,
      ports: [{ protocol: 'tcp', port: PORTS.jicofoRest, loopbackOnly: true, what: "jicofo's REST (health)" }],
    },
    {
      key: 'jitsi-videobridge2',
      service: 'jitsi-videobridge2',
      user: 'jvb',
      isOurs: (p) => p.comm === 'java' && /videobridge/.test(p.cmdline),
      socketOwner: /^java$/,
      ports: [
        { protocol: 'tcp', port: PORTS.jvbHttp, loopbackOnly: true, what: "the bridge's public HTTP (colibri websockets)" },
        { protocol: 'tcp', port: JVB_PRIVATE_HTTP_PORT, loopbackOnly: true, what: "the bridge's private HTTP (health, stats)" },
        { protocol: 'udp', port: PORTS.jvbMedia, loopbackOnly: false, what: 'media' },
      ],
    },
  ];
}

/** The services with Debian's names (on systemd), which name the checks and the sockets' owners everywhere. */
export const SERVICES: readonly ServiceSpec[] = servicesFor(DEBIAN, 'systemd');

/** The spec of `SERVICES[index]` on the machine being checked: its service and user names are its distribution's. */
function onThisMachine(ctx: CheckContext, index: number): ServiceSpec {
  return servicesFor(ctx.distribution, ctx.init)[index]!;
}


export function serviceSpec(name: string): ServiceSpec {
  const spec = SERVICES.find((s) => s.service === name);
  if (!spec) throw new Error(`no service ${name} in SERVICES`);
  return spec;
}

export function startFix(init: InitSystem, service: string): string {
  return init === 'systemd'
    ? `systemctl restart ${service}; if it stops again, read journalctl -u ${service}`
    : `rc-service ${service} restart; if it stops again, read rc-service ${service} status and /var/log/`;
}

export interface ServiceFacts {
  initRunning: boolean;
  /** Processes of the service with their users' names. */
  processes: Array<{ pid: number; ppid: number; user: string }>;
}

export function decideService(spec: ServiceSpec, init: InitSystem, facts: ServiceFacts): Verdict {
  const { service } = spec;
  if (facts.processes.length === 0) {
    return fail(
      facts.initRunning ? `${service}: ${init} counts it as started, but no ${service} process runs (it crashed)` : `${service} is not running`,
      startFix(init, service),
    );
  }
  const pids = new Set(facts.processes.map((p) => p.pid));
  // nginx's master runs as root and its workers as their own user: only the workers must be that user.
  const workers = spec.key === 'nginx' ? facts.processes.filter((p) => pids.has(p.ppid)) : facts.processes;
  if (workers.length === 0) return fail(`${service} has no worker processes`, startFix(init, service));
  const wrong = workers.filter((p) => p.user !== spec.user);
  if (wrong.length > 0) {
    return fail(
      `${service} runs as ${[...new Set(wrong.map((p) => p.user))].join(', ')} (pid ${wrong.map((p) => p.pid).join(', ')}), not as ${spec.user}`,
      `start it through the init system only (${init === 'systemd' ? `systemctl restart ${service}` : `rc-service ${service} restart`}), which runs it as ${spec.user}`,
    );
  }
  const main = facts.processes.find((p) => !pids.has(p.ppid)) ?? facts.processes[0];
  if (!facts.initRunning) {
    return warn(`${service} runs (pid ${main.pid}) but not under ${init}: it will not be restarted or stopped with the server`, `stop that process and ${startFix(init, service)}`);
  }
  return pass(`${service} runs as ${spec.user} (pid ${main.pid})`);
}

async function serviceFacts(ctx: CheckContext, spec: ServiceSpec): Promise<ServiceFacts> {
  const [all, passwd, initRunning] = await Promise.all([
    ctx.once('processes', () => processes(ctx.root)),
    ctx.once('passwd', async () => parsePasswd((await readText(ctx.root, '/etc/passwd')) ?? '')),
    initSaysRunning(ctx.init, spec.service),
  ]);
  const ours = all.filter((p) => p.pid !== process.pid && spec.isOurs(p));
  return { initRunning, processes: ours.map((p) => ({ pid: p.pid, ppid: p.ppid, user: passwd.get(p.uid) ?? String(p.uid) })) };
}

/**
 * Whether the service is installed, as the apply step decides it: its unit or init script and
 * the program its component plans (the systemd images carry our jicofo unit even without jicofo).
 */
async function installed(ctx: CheckContext, service: string): Promise<boolean> {
  return ctx.once(`installed:${service}`, async () => {
    const planned = planServer(ctx.config, { distribution: ctx.distribution, init: ctx.init }).services.find((s) => s.name === service);
    return isInstalled(ctx.root, ctx.init, service, planned?.program);
  });
}

async function notInstalled(ctx: CheckContext, service: string): Promise<string | undefined> {
  return (await installed(ctx, service)) ? undefined : `${service} is not installed on this server (nothing to check)`;
}

export function isLoopbackAddress(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.toLowerCase().startsWith('::ffff:127.');
}

/** Whether a socket bound to `address` takes connections to 127.0.0.1 (loopback itself or a wildcard). */
function reachableOnLoopback(address: string): boolean {
  return isLoopbackAddress(address) || address === '0.0.0.0' || address === '::';
}

/**
 * The sockets of one service against the ports the master config implies: each port is
 * listened on (a loopback-only one where 127.0.0.1 reaches it). Whether a loopback-only port is
 * also reachable from outside is `loopback-only`'s question, not this one's.
 */
export function decideListeners(spec: ServiceSpec, found: readonly Listener[]): Verdict {
  const problems: string[] = [];
  const seen: string[] = [];
  for (const port of spec.ports) {
    const matching = found.filter((l) => l.protocol === port.protocol && l.port === port.port);
    if (matching.length === 0) {
      problems.push(`nothing listens on ${port.port}/${port.protocol} (${port.what})`);
      continue;
    }
    if (port.loopbackOnly && !matching.some((l) => reachableOnLoopback(l.address))) {
      problems.push(`${port.what} listens on ${matching.map((l) => l.address).join(', ')} only, not on ${LOOPBACK} where the other services look for it`);
      continue;
    }
    seen.push(`${port.loopbackOnly ? `${LOOPBACK}:` : ''}${port.port}/${port.protocol}`);
  }
  if (problems.length > 0) return fail(problems.join('; '), `${REAPPLY} to rewrite ${spec.service}'s configuration, then read its log`);
  return pass(`${spec.service} listens on ${seen.join(', ')}`);
}

/**
 * Nothing that must stay on loopback (prosody, the bridge's and jicofo's HTTP servers) listens on
 * another address; `bridgeAddress`: with bridges on other hosts, prosody's c2s also listens there.
 */
export function decideLoopbackOnly(found: readonly Listener[], bridgeAddress?: string): Verdict {
  const problems: string[] = [];
  const services = new Set<string>();
  for (const spec of SERVICES) {
    for (const port of spec.ports.filter((p) => p.loopbackOnly)) {
      const expected = (l: Listener) => bridgeAddress !== undefined && port.port === PORTS.xmppClient && l.address === bridgeAddress;
      const exposed = found.filter((l) => l.protocol === port.protocol && l.port === port.port && !isLoopbackAddress(l.address) && !expected(l));
      if (exposed.length === 0) continue;
      const where = exposed.map((l) => (l.address === '0.0.0.0' || l.address === '::' ? `${l.address} (every address)` : l.address)).join(', ');
      problems.push(`${port.what} (${port.port}/${port.protocol}) listens on ${where}`);
      services.add(spec.service);
    }
  }
  if (problems.length > 0) {
    return fail(
      `${problems.join('; ')}: it must be reachable on ${LOOPBACK} only`,
      `${REAPPLY}: it writes ${[...services].join(' and ')}'s configuration back with ${LOOPBACK} only and restarts ${services.size > 1 ? 'them' : 'it'}`,
    );
  }
  return pass(`prosody's c2s and HTTP, the bridge's and jicofo's HTTP listen on ${LOOPBACK} only`);
}

/** No other program holds a port one of the server's services needs. */
export function decidePortsFree(found: readonly Listener[]): Verdict {
  const problems: string[] = [];
  for (const spec of SERVICES) {
    for (const port of spec.ports) {
      for (const listener of found.filter((l) => l.protocol === port.protocol && l.port === port.port)) {
        const strangers = listener.processes.filter((p) => !spec.socketOwner.test(p.name));
        if (strangers.length > 0) {
          problems.push(`${port.port}/${port.protocol} (${spec.service}'s ${port.what}) is held by ${strangers.map((p) => `${p.name} (pid ${p.pid})`).join(', ')}`);
        }
      }
    }
  }
  if (problems.length > 0) {
    return fail(problems.join('; '), 'stop the program that holds the port (or move it to another port), then restart the server');
  }
  return pass("no other program holds one of the server's ports");
}

export function decideBoot(init: InitSystem, enabled: boolean, masked: readonly string[]): Verdict {
  if (!enabled) {
    return fail(
      `${TARGET} is not enabled at boot: after a restart of the container the server stays down`,
      init === 'systemd' ? `systemctl enable ${TARGET}.target` : `rc-update add ${TARGET} default`,
    );
  }
  if (masked.length > 0) return fail(`masked (never started): ${masked.join(', ')}`, `systemctl unmask ${masked.join(' ')}`);
  return pass(`${TARGET} starts the server at boot`);
}

// ---------------------------------------------------------------- XMPP

function prosodyLogOf(ctx: CheckContext): string {
  return `${ctx.distribution.prosody.logDir}/prosody.log`;
}

/** `prosodyLog`: where prosody logs on this distribution, for the fix of a failure other than a wrong password. */
export function decideLogin(account: string, file: string, outcome: { ok: true } | { ok: false; error: XmppError | Error } | { missing: true }, prosodyLog: string): Verdict {
  if ('missing' in outcome) return fail(`${file} holds no password for ${account}`, REAPPLY);
  if (outcome.ok) return pass(`${account} logs in with the password in ${file}`);
  const error = outcome.error;
  if (error instanceof XmppError && error.kind === 'not-authorized') {
    return fail(
      `${account} cannot log in with the password in ${file} (not-authorized)`,
      `${REAPPLY}: it writes the master config's password to ${file} and prosody's account, and restarts the service`,
    );
  }
  return fail(`${account} cannot log in: ${error.message}`, `read prosody's log (${prosodyLog}), then ${REAPPLY}`);
}

export function decideRoster(hostname: string, items: ReadonlyArray<{ jid: string; subscription: string }>): Verdict {
  const names = xmppNames(hostname);
  const item = items.find((i) => i.jid === names.focusComponent);
  const fix = `${REAPPLY} (it subscribes focus's roster), or: prosodyctl mod_roster_command subscribe ${names.focusComponent} ${names.focusJid}`;
  if (!item) return fail(`${names.focusJid}'s roster does not hold ${names.focusComponent}: clients cannot reach jicofo`, fix);
  if (item.subscription !== 'both') return fail(`${names.focusJid}'s roster holds ${names.focusComponent} with subscription "${item.subscription}", not "both"`, fix);
  return pass(`${names.focusJid}'s roster holds ${names.focusComponent} (subscription both)`);
}

export function decideBrewery(brewery: string, bridgeNick: string | undefined, occupants: readonly string[], init: InitSystem): Verdict {
  const bridges = occupants.filter((nick) => (bridgeNick ? nick === bridgeNick : !/^focus/.test(nick)));
  if (bridges.length === 0) {
    return fail(
      `no bridge${bridgeNick ? ` (${bridgeNick})` : ''} in ${brewery}; occupants: ${occupants.join(', ') || 'none'}`,
      `read the videobridge's log (${init === 'systemd' ? 'journalctl -u jitsi-videobridge2 and ' : ''}/var/log/jitsi/jvb.log); ${REAPPLY} rewrites jvb.conf and its account`,
    );
  }
  return pass(`the bridge ${bridges.join(', ')} is in ${brewery}`);
}

export function decideHealth(what: string, url: string, answer: { status?: number; body?: string; error?: string }, logHint: string): Verdict {
  if (answer.status !== undefined && answer.status >= 200 && answer.status < 300) return pass(`${what} is healthy (${url} answered ${answer.status})`);
  const said = answer.error ?? `HTTP ${answer.status}${answer.body ? `: ${answer.body.trim().slice(0, 120)}` : ''}`;
  return fail(`${what} is not healthy (${url}: ${said})`, `read ${logHint}`);
}

export function httpStatus(url: string, timeoutMs: number): Promise<{ status?: number; body?: string; error?: string }> {
  return new Promise((resolve) => {
    const request = httpGet(url, { timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        if (body.length < 1000) body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode, body }));
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (error) => resolve({ error: error.message }));
  });
}

async function credentials(ctx: CheckContext, who: 'focus' | 'jvb'): Promise<string | undefined> {
  const text = await readText(ctx.root, who === 'focus' ? JICOFO_CONF : JVB_CONF);
  if (!text) return undefined;
  return who === 'focus' ? hoconString(text, 'password') : hoconString(text, 'PASSWORD');
}

/**
 * A resource of its own for every session: the checks run at the same time, and two sessions
 * of one account with one resource make prosody close the first (a `conflict`).
 */
function checkResource(purpose: string): string {
  return `jitsi-meet-config-check-${purpose}-${randomBytes(4).toString('hex')}`;
}

async function focusSession(ctx: CheckContext, purpose: string): Promise<XmppSession> {
  const names = xmppNames(ctx.config.hostname);
  const password = (await credentials(ctx, 'focus')) ?? '';
  return XmppSession.login(
    { host: LOOPBACK, port: PORTS.xmppClient, domain: names.authDomain, username: names.focusUser, password, timeoutMs: ctx.timeoutMs },
    checkResource(purpose),
  );
}

function loginCheck(who: 'focus' | 'jvb'): Check {
  const file = who === 'focus' ? JICOFO_CONF : JVB_CONF;
  return {
    name: `xmpp:${who}-login`,
    what: `${who} logs in to prosody`,
    needs: ['listen:prosody'],
    fix: REAPPLY,
    async run(ctx) {
      const names = xmppNames(ctx.config.hostname);
      const account = who === 'focus' ? names.focusJid : names.jvbJid;
      const password = await credentials(ctx, who);
      if (password === undefined) return decideLogin(account, file, { missing: true }, prosodyLogOf(ctx));
      try {
        const session = await XmppSession.login(
          { host: LOOPBACK, port: PORTS.xmppClient, domain: names.authDomain, username: who === 'focus' ? names.focusUser : names.jvbUser, password, timeoutMs: ctx.timeoutMs },
          checkResource('login'),
        );
        session.close();
        return decideLogin(account, file, { ok: true }, prosodyLogOf(ctx));
      } catch (error) {
        return decideLogin(account, file, { ok: false, error: error as Error }, prosodyLogOf(ctx));
      }
    },
  };
}

// ---------------------------------------------------------------- TLS

export interface CertificateFacts {
  certPem?: string;
  keyPem?: string;
  now: Date;
}

export function certificateFix(config: MasterConfig): string {
  switch (config.tls.mode) {
    case 'own':
      return `put a valid certificate for ${config.hostname} and its key at ${config.tls.cert} and ${config.tls.key}, then ${REAPPLY}`;
    case 'letsencrypt':
      return 'certbot renew, then read /var/log/letsencrypt/letsencrypt.log if it fails';
    default:
      return `${REAPPLY}: it makes a new self-signed certificate`;
  }
}

export const WARN_DAYS = 14;

export function decideCertificate(config: MasterConfig, facts: CertificateFacts): Verdict {
  const paths = webTls(config.hostname);
  const fix = certificateFix(config);
  if (!facts.certPem || !facts.keyPem) return fail(`${!facts.certPem ? paths.cert : paths.key} is missing`, fix);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(facts.certPem);
  } catch (error) {
    return fail(`${paths.cert} is not a PEM certificate: ${(error as Error).message}`, fix);
  }
  const problems: string[] = [];
  if (!cert.checkHost(config.hostname)) problems.push(`it is not valid for ${config.hostname} (it names ${cert.subjectAltName ?? cert.subject})`);
  try {
    if (!cert.checkPrivateKey(createPrivateKey(facts.keyPem))) problems.push(`${paths.key} is not its key`);
  } catch (error) {
    problems.push(`${paths.key} is not a usable private key: ${(error as Error).message}`);
  }
  const notAfter = new Date(cert.validTo);
  const notBefore = new Date(cert.validFrom);
  const days = Math.floor((notAfter.getTime() - facts.now.getTime()) / 86_400_000);
  if (notAfter.getTime() <= facts.now.getTime()) problems.push(`it expired on ${notAfter.toISOString().slice(0, 10)}`);
  if (notBefore.getTime() > facts.now.getTime()) problems.push(`it is not valid before ${notBefore.toISOString()} (is the clock right?)`);
  if (problems.length > 0) return fail(`${paths.cert}: ${problems.join('; ')}`, fix);
  if (days < WARN_DAYS) return warn(`${paths.cert} expires in ${days} day(s), on ${notAfter.toISOString().slice(0, 10)}`, fix);
  return pass(`${paths.cert} is valid for ${config.hostname}, matches its key, ${days} days left`);
}

export function isSelfSigned(certPem: string): boolean {
  const cert = new X509Certificate(certPem);
  return cert.issuer === cert.subject && cert.verify(cert.publicKey);
}

export function decideTrusted(config: MasterConfig, selfSigned: boolean): Verdict {
  if (!selfSigned) return pass('the certificate is issued by a CA, not self-signed');
  const fix = isPublicHostname(config.hostname) && isPublicAddress(config.external_ip)
    ? 'use Let\'s Encrypt (tls.mode letsencrypt) or your own CA-issued certificate (tls.mode own), then run jitsi-meet-config'
    : 'give the server a public name and address and use Let\'s Encrypt, or install a certificate of a CA the clients trust (tls.mode own)';
  return warn('the certificate is self-signed: browsers warn and the Jitsi mobile apps refuse to connect', fix);
}

export function decideServed(file: string, fileFingerprint: string, served: { fingerprint?: string; error?: string }): Verdict {
  if (served.error) return fail(`no TLS on ${LOOPBACK}:${PORTS.https}: ${served.error}`, 'nginx -t, then systemctl reload nginx (or rc-service nginx reload)');
  if (served.fingerprint !== fileFingerprint) {
    return fail(`nginx serves another certificate than ${file}`, 'reload nginx (systemctl reload nginx or rc-service nginx reload), then check again');
  }
  return pass(`nginx serves ${file} on port ${PORTS.https}`);
}

function servedFingerprint(hostname: string, timeoutMs: number): Promise<{ fingerprint?: string; error?: string }> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: LOOPBACK, port: PORTS.https, servername: hostname, rejectUnauthorized: false, timeout: timeoutMs }, () => {
      const fingerprint = socket.getPeerX509Certificate()?.fingerprint256;
      socket.end();
      resolve({ fingerprint });
    });
    socket.on('timeout', () => socket.destroy(new Error(`no TLS handshake within ${timeoutMs} ms`)));
    socket.on('error', (error) => resolve({ error: error.message }));
  });
}

// ---------------------------------------------------------------- Let's Encrypt

export interface RenewalFacts {
  /** systemd: certbot's timer enabled and active; OpenRC: its cron file present and cron started at boot and running. */
  scheduled: boolean;
  scheduleProblem?: string;
  /** Text of certbot's newest log. */
  log?: string;
}

/**
 * The outcome of the last renewal run in certbot's log, if there is one: the summary lines of
 * certbot's renewal (certbot/_internal/renewal.py, 2.x). "no renewal failures" is certbot's
 * debug line after a run without failures, so it must not read as a failure.
 */
export function lastRenewal(log: string): 'succeeded' | 'not-due' | 'failed' | undefined {
  let last: 'succeeded' | 'not-due' | 'failed' | undefined;
  for (const line of log.split('\n')) {
    if (/no renewal failures|all (simulated )?renewals succeeded/i.test(line)) last = 'succeeded';
    else if (/All (simulated )?renewals failed|following (simulated )?renewals failed|\d+ renew failure\(s\)/.test(line)) last = 'failed';
    else if (/not (yet )?due for renewal|No (simulated )?renewals were attempted/.test(line)) last = 'not-due';
  }
  return last;
}

/** `renewal`: the distribution's names of certbot's timer, its cron file and the cron service. */
export function decideLetsEncrypt(init: InitSystem, facts: RenewalFacts, renewal: DistributionLayout['certbotRenewal']): Verdict {
  if (!facts.scheduled) {
    return fail(
      `no renewal is scheduled: ${facts.scheduleProblem ?? 'unknown'}`,
      init === 'systemd'
        ? `systemctl enable --now ${renewal.timer}`
        : `rc-update add ${renewal.cronService} default && rc-service ${renewal.cronService} start (${renewal.cronFile} renews)`,
    );
  }
  const last = facts.log ? lastRenewal(facts.log) : undefined;
  if (last === 'failed') {
    return fail('the last renewal attempt failed', 'read /var/log/letsencrypt/letsencrypt.log; the hostname must resolve to this server and port 80 must reach it; then certbot renew');
  }
  const when = { succeeded: 'the last attempt succeeded', 'not-due': 'the last attempt found nothing due', none: 'no renewal attempted yet' }[last ?? 'none'];
  return pass(`renewal is scheduled (${init === 'systemd' ? renewal.timer : `${renewal.cronService}, ${renewal.cronFile}`}); ${when}`);
}

// ---------------------------------------------------------------- DNS, NAT

export function decideDns(config: MasterConfig, local: readonly string[], publicDns?: { addresses: string[]; error?: string }): Verdict {
  const host = config.hostname;
  if (local.length === 0) return fail(`${host} does not resolve on this server`, `add an A record for ${host} pointing at ${config.external_ip} (and the localhost alias: localhost_alias: true)`);
  const acceptable = new Set([config.external_ip, config.internal_ip]);
  const foreign = local.filter((address) => !acceptable.has(address) && !(config.localhost_alias && isLoopbackAddress(address)));
  if (foreign.length > 0) {
    return fail(
      `${host} resolves to ${foreign.join(', ')} here, not to ${config.external_ip}`,
      `remove the entries for ${host} that name ${foreign.join(', ')} from /etc/hosts, or fix its DNS record to point at ${config.external_ip}`,
    );
  }
  if (isPublicHostname(host) && isPublicAddress(config.external_ip) && publicDns) {
    if (publicDns.error) return fail(`${host} has no DNS record (${publicDns.error})`, `add an A record for ${host} pointing at ${config.external_ip}`);
    if (!publicDns.addresses.includes(config.external_ip)) {
      return fail(`${host}'s DNS record points at ${publicDns.addresses.join(', ')}, not at ${config.external_ip}`, `change the DNS record of ${host} to ${config.external_ip}`);
    }
  }
  return pass(`${host} resolves to ${local.join(', ')}`);
}

export interface NatFacts {
  /** Addresses of this machine's interfaces. */
  interfaceAddresses: string[];
  /** jvb.conf's static mappings, undefined without jvb.conf. */
  jvbMappings?: Array<{ local: string; public: string }>;
  /** coturn's external-ip line, undefined when it has none. */
  turnExternal?: string;
}

export function decideNat(config: MasterConfig, facts: NatFacts): Verdict {
  const { external_ip: external, internal_ip: internal } = config;
  const fix = `${REAPPLY} (it writes the mappings from the master config); if the addresses themselves are wrong, run jitsi-meet-config and answer the address questions again`;
  if (!facts.interfaceAddresses.includes(internal)) {
    return fail(`the internal address ${internal} is on no interface of this machine (it has ${facts.interfaceAddresses.join(', ') || 'none'})`, 'run jitsi-meet-config and give this machine\'s address as the internal address');
  }
  const mappings = facts.jvbMappings ?? [];
  if (external === internal) {
    const wrong = mappings.filter((m) => m.public !== external);
    if (wrong.length > 0) return fail(`the bridge announces ${wrong.map((m) => m.public).join(', ')} (jvb.conf static mapping), not ${external}`, fix);
    if (facts.turnExternal) return fail(`coturn announces external-ip=${facts.turnExternal} though ${external} is on this machine`, fix);
    return pass(`the external address ${external} is on an interface; the bridge announces it`);
  }
  if (facts.jvbMappings !== undefined) {
    const right = mappings.some((m) => m.local === internal && m.public === external);
    if (!right) {
      return fail(`behind NAT (${internal} -> ${external}), but jvb.conf maps ${mappings.map((m) => `${m.local} -> ${m.public}`).join(', ') || 'nothing'}: the bridge announces an address clients cannot reach`, fix);
    }
  }
  if (facts.turnExternal !== `${external}/${internal}`) {
    return fail(`behind NAT (${internal} -> ${external}), but coturn's external-ip is ${facts.turnExternal ?? 'not set'}`, fix);
  }
  return pass(`behind NAT: ${internal} is mapped to ${external} for the bridge and coturn (forward UDP ${PORTS.jvbMedia} and the TURN ports to ${internal})`);
}

// ---------------------------------------------------------------- TURN

export function decideTurnAllocation(result: TurnProbeResult, server: string): Verdict {
  if (result.relayed) return pass(`coturn on ${server}:${PORTS.turn}/udp allocated a relay (${result.relayed}) with credentials from prosody's shared secret`);
  const mismatch = /^401\b/.test(result.allocateError ?? '');
  return fail(
    `coturn on ${server}:${PORTS.turn}/udp refused an allocation: ${result.allocateError}${mismatch ? " (prosody's external_service_secret and coturn's static-auth-secret differ)" : ''}`,
    mismatch ? `${REAPPLY}: it writes the same secret to both and restarts them` : `read coturn's log (/var/log/turnserver/), then ${REAPPLY}`,
  );
}

export function decideTurnLoopback(result: TurnProbeResult): Verdict {
  if (result.loopbackPeer === 'granted') {
    return fail('coturn relays to 127.0.0.1: anyone with TURN credentials reaches this machine\'s loopback-only services', `${REAPPLY}: turnserver.conf gets its denied-peer-ip lines back`);
  }
  if (result.loopbackPeer?.startsWith('refused (403')) return pass('coturn refuses to relay to a peer on 127.0.0.1');
  return fail(`coturn answered a permission for 127.0.0.1 with: ${result.loopbackPeer ?? 'nothing'}`, `read coturn's log (/var/log/turnserver/)`);
}

// ---------------------------------------------------------------- host

/** What the videobridge package asks of the kernel (its /etc/sysctl.d/20-jvb-udp-buffers.conf). */
export const UDP_SETTINGS = { 'net.core.rmem_max': 10_485_760, 'net.core.netdev_max_backlog': 100_000 } as const;

export function decideUdpBuffers(values: Record<string, number | undefined>): Verdict {
  // A container on its own network namespace cannot read some of them (they belong to the host's).
  const readable = Object.entries(UDP_SETTINGS).filter(([key]) => values[key] !== undefined);
  const unreadable = Object.keys(UDP_SETTINGS).filter((key) => values[key] === undefined);
  const low = readable.filter(([key, want]) => (values[key] as number) < want);
  const notSeen = unreadable.length > 0 ? ` (${unreadable.join(', ')}: not visible in the container)` : '';
  if (low.length > 0) {
    const lines = Object.entries(UDP_SETTINGS).map(([key, want]) => `${key} = ${want}`);
    return warn(
      `${low.map(([key, want]) => `${key} is ${values[key]} (the videobridge wants ${want})`).join('; ')}; only the host can raise it${notSeen}`,
      `on the HOST: printf '${lines.join('\\n')}\\n' > /etc/sysctl.d/20-jvb-udp-buffers.conf && sysctl --system`,
    );
  }
  if (readable.length === 0) return warn(`cannot read ${unreadable.join(', ')} in the container`, `on the HOST: sysctl ${unreadable.join(' ')} must show at least ${Object.values(UDP_SETTINGS).join(' and ')}`);
  return pass(`UDP buffers: ${readable.map(([key]) => `${key} = ${values[key]}`).join(', ')}${notSeen}`);
}

/** No release of this configurator was made before this: a clock earlier than it is wrong. */
export const CLOCK_FLOOR = Date.UTC(2026, 0, 1);

export function decideClock(now: Date, masterConfigWritten?: Date): Verdict {
  const fix = 'the container uses the host\'s clock: set it right on the host (timedatectl set-ntp true, or chrony); TURN credentials and TLS certificates depend on it';
  if (now.getTime() < CLOCK_FLOOR) return fail(`the clock says ${now.toISOString()}, before this configurator was released`, fix);
  if (masterConfigWritten && masterConfigWritten.getTime() - now.getTime() > 300_000) {
    return fail(`the clock says ${now.toISOString()}, but ${MASTER_CONFIG_PATH} was written at ${masterConfigWritten.toISOString()}: the clock went back`, fix);
  }
  return pass(`the clock says ${now.toISOString()}`);
}

export const DISK_FAIL_BYTES = 200 * 1024 * 1024;
export const DISK_WARN_BYTES = 1024 * 1024 * 1024;

export function decideDisk(free: ReadonlyArray<{ path: string; bytes: number }>): Verdict {
  const mib = (bytes: number) => `${Math.floor(bytes / 1024 / 1024)} MiB`;
  const fix = 'free space on the host\'s file system that holds the container (old logs: journalctl --vacuum-size=200M; old backups under /var/backups/jitsi-meet-config/)';
  const short = free.filter((f) => f.bytes < DISK_FAIL_BYTES);
  if (short.length > 0) return fail(`${short.map((f) => `${f.path}: ${mib(f.bytes)} free`).join(', ')}: logs and prosody's storage fail soon`, fix);
  const low = free.filter((f) => f.bytes < DISK_WARN_BYTES);
  if (low.length > 0) return warn(`${low.map((f) => `${f.path}: ${mib(f.bytes)} free`).join(', ')}`, fix);
  return pass(`free space: ${free.map((f) => `${f.path} ${mib(f.bytes)}`).join(', ')}`);
}

// ---------------------------------------------------------------- the table

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

const serviceChecks: Check[] = SERVICES.map((key, index) => ({
  name: `service:${key.key}`,
  what: `${key.key} runs as its user`,
  needs: [],
  fix: `start ${key.key} and read its log`,
  notApplicable: (ctx) => notInstalled(ctx, onThisMachine(ctx, index).service),
  async run(ctx) {
    const spec = onThisMachine(ctx, index);
    return decideService(spec, ctx.init, await serviceFacts(ctx, spec));
  },
}));

const listenChecks: Check[] = SERVICES.map((key, index) => ({
  name: `listen:${key.key === 'jitsi-videobridge2' ? 'videobridge' : key.key}`,
  what: `${key.key}'s sockets`,
  needs: [`service:${key.key}`],
  fix: REAPPLY,
  notApplicable: (ctx) => notInstalled(ctx, onThisMachine(ctx, index).service),
  async run(ctx) {
    const spec = onThisMachine(ctx, index);
    const all = await ctx.once('listeners', listeners);
    const [procs] = await Promise.all([serviceFacts(ctx, spec)]);
    const pids = new Set(procs.processes.map((p) => p.pid));
    // The service's own sockets: held by one of its processes (all, when ss names none).
    const own = all.filter((l) => l.processes.length === 0 || l.processes.some((p) => pids.has(p.pid)));
    return decideListeners(spec, own);
  },
}));

const turnProbe = (ctx: CheckContext) =>
  ctx.once('turn', async () => {
    const hostConfig = (await readText(ctx.root, prosodyHostFiles(ctx.distribution, ctx.config.hostname).available)) ?? '';
    const secret = luaString(hostConfig, 'external_service_secret');
    if (!secret) return { allocateError: "prosody's host config has no external_service_secret" } as TurnProbeResult;
    return probeTurn(ctx.config.internal_ip, PORTS.turn, secret, ctx.timeoutMs);
  });

/** THE table: every check, in report order. A check's needs come before it. */
export const CHECKS: readonly Check[] = [
  ...serviceChecks,
  {
    name: 'boot',
    what: 'the server starts at boot',
    needs: [],
    fix: `enable ${TARGET}`,
    async run(ctx) {
      if (ctx.init === 'systemd') {
        const enabled = (await run('systemctl', ['is-enabled', `${TARGET}.target`])).stdout.trim() === 'enabled';
        const masked: string[] = [];
        for (const spec of servicesFor(ctx.distribution, ctx.init)) {
          if (!(await installed(ctx, spec.service))) continue;
          if ((await run('systemctl', ['is-enabled', `${spec.service}.service`])).stdout.trim().startsWith('masked')) masked.push(spec.service);
        }
        return decideBoot('systemd', enabled, masked);
      }
      return decideBoot(ctx.init, await exists(join(ctx.root, 'etc/runlevels/default', TARGET)), []);
    },
  },
  ...listenChecks,
  {
    name: 'loopback-only',
    what: 'internal ports are not public',
    needs: [],
    fix: REAPPLY,
    async run(ctx) {
      const bridgeAddress = (ctx.config.bridges ?? []).length > 0 ? ctx.config.internal_ip : undefined;
      return decideLoopbackOnly(await ctx.once('listeners', listeners), bridgeAddress);
    },
  },
  {
    name: 'ports-free',
    what: "the server's ports are its own",
    needs: [],
    fix: 'stop the program that holds the port',
    async run(ctx) {
      return decidePortsFree(await ctx.once('listeners', listeners));
    },
  },
  loginCheck('focus'),
  loginCheck('jvb'),
  {
    name: 'xmpp:focus-roster',
    what: `focus's roster holds the focus component`,
    needs: ['xmpp:focus-login'],
    fix: REAPPLY,
    async notApplicable(ctx) {
      return (await exists(join(ctx.root, PROSODY_PLUGINS_DIR))) ? undefined : 'jitsi-meet-prosody is not installed (no focus component to subscribe to)';
    },
    async run(ctx) {
      const session = await focusSession(ctx, 'roster');
      try {
        return decideRoster(ctx.config.hostname, await session.roster());
      } finally {
        session.close();
      }
    },
  },
  {
    name: 'xmpp:brewery',
    what: 'the bridge is in the brewery',
    needs: ['xmpp:focus-login', 'xmpp:jvb-login', 'service:jitsi-videobridge2'],
    fix: REAPPLY,
    notApplicable: (ctx) => notInstalled(ctx, 'jitsi-videobridge2'),
    async run(ctx) {
      const names = xmppNames(ctx.config.hostname);
      const nick = hoconString((await readText(ctx.root, JVB_CONF)) ?? '', 'MUC_NICKNAME');
      const session = await focusSession(ctx, 'brewery');
      try {
        const occupants = await session.occupants(names.breweryJid, checkResource('brewery'));
        return decideBrewery(names.breweryJid, nick, occupants, ctx.init);
      } finally {
        session.close();
      }
    },
  },
  {
    name: 'health:videobridge',
    what: "the bridge's health",
    // Its own probe of the health port: a missing media or colibri port does not keep it from answering.
    needs: ['service:jitsi-videobridge2'],
    fix: 'read the videobridge\'s log',
    notApplicable: (ctx) => notInstalled(ctx, 'jitsi-videobridge2'),
    async run(ctx) {
      const url = `http://${LOOPBACK}:${JVB_PRIVATE_HTTP_PORT}/about/health`;
      return decideHealth('the bridge', url, await httpStatus(url, ctx.timeoutMs), ctx.init === 'systemd' ? 'journalctl -u jitsi-videobridge2 and /var/log/jitsi/jvb.log' : '/var/log/jitsi/jvb.log');
    },
  },
  {
    name: 'health:jicofo',
    what: "jicofo's health",
    needs: ['service:jicofo', 'xmpp:brewery'],
    fix: "read jicofo's log",
    notApplicable: (ctx) => notInstalled(ctx, 'jicofo'),
    async run(ctx) {
      const url = `http://${LOOPBACK}:${PORTS.jicofoRest}/about/health`;
      return decideHealth('jicofo', url, await httpStatus(url, ctx.timeoutMs), '/var/log/jitsi/jicofo.log');
    },
  },
  {
    name: 'tls:certificate',
    what: 'the web certificate',
    needs: [],
    fix: 'see tls.mode in the master config',
    async run(ctx) {
      const paths = webTls(ctx.config.hostname);
      return decideCertificate(ctx.config, { certPem: await readText(ctx.root, paths.cert), keyPem: await readText(ctx.root, paths.key), now: new Date() });
    },
  },
  {
    name: 'tls:trusted',
    what: 'clients trust the certificate',
    needs: ['tls:certificate'],
    fix: 'use a CA-issued certificate',
    async run(ctx) {
      return decideTrusted(ctx.config, isSelfSigned((await readText(ctx.root, webTls(ctx.config.hostname).cert)) ?? ''));
    },
  },
  {
    name: 'tls:served',
    what: 'nginx serves the certificate',
    needs: ['tls:certificate', 'listen:nginx'],
    fix: 'reload nginx',
    async run(ctx) {
      const file = webTls(ctx.config.hostname).cert;
      const fingerprint = new X509Certificate((await readText(ctx.root, file)) ?? '').fingerprint256;
      return decideServed(file, fingerprint, await servedFingerprint(ctx.config.hostname, ctx.timeoutMs));
    },
  },
  {
    name: 'letsencrypt',
    what: "Let's Encrypt renewal",
    needs: [],
    fix: 'certbot renew',
    async notApplicable(ctx) {
      return ctx.config.tls.mode === 'letsencrypt' ? undefined : `not used (tls.mode is ${ctx.config.tls.mode})`;
    },
    async run(ctx) {
      let facts: RenewalFacts;
      const renewal = ctx.distribution.certbotRenewal;
      if (ctx.init === 'systemd') {
        const enabled = (await run('systemctl', ['is-enabled', renewal.timer])).stdout.trim();
        const active = (await run('systemctl', ['is-active', renewal.timer])).stdout.trim();
        facts = { scheduled: enabled === 'enabled' && active === 'active', scheduleProblem: `${renewal.timer} is ${enabled}, ${active}` };
      } else {
        const cron = await exists(join(ctx.root, renewal.cronFile));
        const atBoot = await exists(join(ctx.root, 'etc/runlevels/default', renewal.cronService));
        const running = (await run('rc-service', [renewal.cronService, 'status'])).exitCode === 0;
        facts = {
          scheduled: cron && atBoot && running,
          scheduleProblem: !cron ? `${renewal.cronFile} is missing` : !atBoot ? `${renewal.cronService} is not in the default runlevel` : `${renewal.cronService} is not running`,
        };
      }
      facts.log = await readText(ctx.root, '/var/log/letsencrypt/letsencrypt.log');
      return decideLetsEncrypt(ctx.init, facts, renewal);
    },
  },
  {
    name: 'dns',
    what: 'the hostname resolves to this server',
    needs: [],
    fix: 'fix the DNS record',
    async run(ctx) {
      const host = ctx.config.hostname;
      const local = await lookup(host, { all: true }).then(
        (entries) => [...new Set(entries.map((e) => e.address))],
        () => [] as string[],
      );
      let publicDns: { addresses: string[]; error?: string } | undefined;
      if (isPublicHostname(host) && isPublicAddress(ctx.config.external_ip)) {
        const resolver = isIP(ctx.config.external_ip) === 6 ? resolve6 : resolve4;
        publicDns = await resolver(host).then(
          (addresses) => ({ addresses }),
          (error: NodeJS.ErrnoException) => ({ addresses: [], error: error.code ?? error.message }),
        );
      }
      return decideDns(ctx.config, local, publicDns);
    },
  },
  {
    name: 'nat',
    what: 'the addresses the bridge and coturn announce',
    needs: [],
    fix: REAPPLY,
    async run(ctx) {
      const interfaceAddresses = Object.values(networkInterfaces()).flatMap((entries) => (entries ?? []).map((e) => e.address));
      const jvb = await readText(ctx.root, JVB_CONF);
      const turn = (await readText(ctx.root, ctx.distribution.coturn.config)) ?? '';
      return decideNat(ctx.config, { interfaceAddresses, jvbMappings: jvb === undefined ? undefined : jvbMappings(jvb), turnExternal: turnserverValue(turn, 'external-ip') });
    },
  },
  {
    name: 'turn:allocation',
    what: 'a TURN allocation on coturn',
    needs: ['listen:coturn'],
    fix: REAPPLY,
    async run(ctx) {
      return decideTurnAllocation(await turnProbe(ctx), ctx.config.internal_ip);
    },
  },
  {
    name: 'turn:loopback-refused',
    what: 'coturn refuses loopback peers',
    needs: ['turn:allocation'],
    fix: REAPPLY,
    async run(ctx) {
      return decideTurnLoopback(await turnProbe(ctx));
    },
  },
  {
    name: 'host:udp-buffers',
    what: "the host's UDP buffers for the bridge",
    needs: [],
    fix: 'raise them on the host',
    async run(ctx) {
      const values: Record<string, number | undefined> = {};
      for (const key of Object.keys(UDP_SETTINGS)) {
        const text = await readText(ctx.root, `/proc/sys/${key.replace(/\./g, '/')}`);
        values[key] = text === undefined ? undefined : Number(text.trim());
      }
      return decideUdpBuffers(values);
    },
  },
  {
    name: 'clock',
    what: 'the clock',
    needs: [],
    fix: "set the host's clock",
    async run(ctx) {
      const written = await stat(join(ctx.root, MASTER_CONFIG_PATH)).then(
        (info) => info.mtime,
        () => undefined,
      );
      return decideClock(new Date(), written);
    },
  },
  {
    name: 'disk',
    what: 'free disk space',
    needs: [],
    fix: 'free disk space',
    async run(ctx) {
      const free: Array<{ path: string; bytes: number }> = [];
      for (const path of ['/var/log', ctx.distribution.prosody.dataDir]) {
        const info = await statfs(join(ctx.root, path)).catch(() => undefined);
        if (info) free.push({ path, bytes: info.bavail * info.bsize });
      }
      return decideDisk(free);
    },
  },
];
