/**
 * The generated files, run for real: Debian's prosody, nginx and coturn on this host, each
 * started with the generated config inside a network namespace this test creates (so nothing
 * collides with other tests or the host's ports), and real clients talking to them:
 * - focus and jvb log in over c2s STARTTLS on loopback and join the brewery; a guest cannot;
 * - the convener opens a room over the websocket through nginx, an anonymous guest joins it,
 *   and a guest cannot open a room of its own;
 * - BOSH through nginx creates a session; /config.js, the app, ACME and the redirect answer;
 * - coturn relays for credentials derived from the shared secret and refuses a wrong one;
 * - messages to accounts that are not online are refused, not stored (no offline storage);
 * - a flood of failed logins through nginx is cut short (mod_login_throttle) while other
 *   addresses and the components still log in; Debian's VirtualHost "localhost" is not served.
 *
 * The only changes to the generated files are path prefixes (the test's root directory in
 * front of /etc/jitsi, /run/prosody, ...), prosody's data_path (so nothing touches the host)
 * and a login-throttle window of seconds instead of minutes (so the test can wait it out).
 * Requires root (namespaces, setpriv) and the packages of scripts/install-host-deps.sh.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { appendFile, chmod, chown, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { generateAll } from '../../../src/configurator/components/index.js';
import { ACME_WEBROOT, authTls, webTls } from '../../../src/configurator/paths.js';
import { PROSODY_MODULES_DIR } from '../../../src/configurator/components/prosody/index.js';
import { LOGIN_THROTTLE } from '../../../src/configurator/components/prosody/login-throttle.js';
import type { GeneratedFile } from '../../../src/configurator/components/types.js';
import { evaluateWebConfig, fileAt, loadFixture, materialize, parseHocon, registerAccounts, rooted, selfSignedPair } from '../../helpers/generated-files.js';
import type { StepResult } from '../../helpers/xmpp-probe.js';
import { withScratchDir } from '../../helpers/scratch.js';
import { DEBIAN } from '../../../src/configurator/distribution.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '../../..');
const PROBE = join(repoRoot, 'test/helpers/xmpp-probe.ts');
const FLOOD = join(repoRoot, 'test/helpers/login-flood.ts');
/** The test's login-throttle window (the generated one is minutes long). */
const THROTTLE_WINDOW_S = 15;
const LAN_ADDRESS = '10.77.0.1';
const PEER_PORT = 3480;

interface Running {
  name: string;
  process: ResultPromise;
}

async function inNamespace(ns: string, command: string, args: string[], options: Record<string, unknown> = {}) {
  return execa('ip', ['netns', 'exec', ns, command, ...args], { reject: false, all: true, ...options });
}

async function listeningPorts(ns: string, protocol: 'tcp' | 'udp'): Promise<Set<number>> {
  const result = await inNamespace(ns, 'ss', ['-Hln', protocol === 'tcp' ? '-t' : '-u']);
  const ports = new Set<number>();
  for (const line of (result.stdout as string).split('\n')) {
    const local = line.trim().split(/\s+/)[3];
    const port = Number(local?.slice(local.lastIndexOf(':') + 1));
    if (Number.isInteger(port)) ports.add(port);
  }
  return ports;
}

async function waitForPorts(ns: string, protocol: 'tcp' | 'udp', ports: number[], running: Running[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const open = await listeningPorts(ns, protocol);
    if (ports.every((port) => open.has(port))) return;
    for (const service of running) {
      if (service.process.exitCode !== null) throw new Error(`${service.name} exited early: ${(await service.process.catch((e) => e)).all ?? ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`ports ${ports.join(', ')}/${protocol} not listening after 60 s`);
}

async function rewrite(root: string, file: GeneratedFile, prefixes: readonly string[]): Promise<void> {
  await writeFile(join(root, file.path), rooted(file.content, root, prefixes));
}

test('prosody, nginx and coturn run with the generated files and serve real clients', async (t) => {
  const config = await loadFixture('lan-live');
  const H = config.hostname;
  const files = generateAll(config, { distribution: DEBIAN, init: 'systemd' });
  const ns = `jmc-gen-${process.pid}-${randomBytes(3).toString('hex')}`;
  const netnsEtc = `/etc/netns/${ns}`;
  const running: Running[] = [];

  await withScratchDir('generated-services-', async (root) => {
    try {
      await chmod(root, 0o755);
      await materialize(files, root);
      const prosodyDirs = ['/var/lib/prosody', '/var/log/prosody', '/run/prosody'].map((dir) => join(root, dir));
      for (const dir of prosodyDirs) await mkdir(dir, { recursive: true });
      const { uid: prosodyUid, gid: prosodyGid } = await ids('prosody');
      for (const dir of prosodyDirs) await chown(dir, prosodyUid, prosodyGid);

      // TLS material at the canonical paths (the apply step's job in the image).
      const tlsDir = dirname(join(root, webTls(H).cert));
      await mkdir(tlsDir, { recursive: true });
      await selfSignedPair(tlsDir, H);
      await selfSignedPair(tlsDir, `auth.${H}`);
      for (const path of [webTls(H).key, authTls(H).key]) await chmod(join(root, path), 0o644);
      const caBundle = join(root, 'ca-bundle.pem');
      await writeFile(caBundle, (await readFile(join(root, webTls(H).cert), 'utf8')) + (await readFile(join(root, authTls(H).cert), 'utf8')));

      // The web app and an ACME token.
      await mkdir(join(root, '/usr/share/jitsi-meet'), { recursive: true });
      await writeFile(join(root, '/usr/share/jitsi-meet/index.html'), '<!-- jitsi meet app stand-in -->\n');
      await mkdir(join(root, ACME_WEBROOT, '.well-known/acme-challenge'), { recursive: true });
      await writeFile(join(root, ACME_WEBROOT, '.well-known/acme-challenge/token-123'), 'token-123.thumbprint');

      // prosody: generated files with rooted paths, plus a data directory under the root.
      const prosodyPrefixes = ['/etc/jitsi/tls/', '/var/log/prosody/', '/run/prosody/', PROSODY_MODULES_DIR];
      await rewrite(root, fileAt(files, '/etc/prosody/prosody.cfg.lua'), prosodyPrefixes);
      await rewrite(root, fileAt(files, `/etc/prosody/conf.avail/${H}.cfg.lua`), prosodyPrefixes);
      const prosodyConfig = join(root, '/etc/prosody/prosody.cfg.lua');
      const windowLine = `login_throttle_window = ${LOGIN_THROTTLE.windowSeconds}\n`;
      const mainText = await readFile(prosodyConfig, 'utf8');
      t.true(mainText.includes(windowLine), 'the generated window is where the test shortens it');
      await writeFile(prosodyConfig, mainText.replace(windowLine, `login_throttle_window = ${THROTTLE_WINDOW_S}\n`));
      // Debian's package enables VirtualHost "localhost" with a link in conf.d/, as on a fresh install.
      await writeFile(join(root, '/etc/prosody/conf.avail/localhost.cfg.lua'), '-- Section for localhost (Debian)\nVirtualHost "localhost"\n');
      await symlink('../conf.avail/localhost.cfg.lua', join(root, '/etc/prosody/conf.d/localhost.cfg.lua'));
      await appendFile(prosodyConfig, `\n-- test only: keep accounts out of the host's /var/lib/prosody\ndata_path = "${root}/var/lib/prosody"\n`);
      // Accounts as the apply step makes them, from the master config; the clients below log in
      // with the passwords read back from the generated jicofo.conf and jvb.conf.
      for (const registered of await registerAccounts(prosodyConfig, config)) t.is(registered.exitCode, 0, `${registered.account}: ${registered.all}`);

      // nginx: the generated site, rooted, in a minimal main config.
      await rewrite(root, fileAt(files, `/etc/nginx/sites-available/${H}.conf`), ['/etc/jitsi/', '/usr/share/jitsi-meet', ACME_WEBROOT]);
      const nginxPrefix = join(root, 'nginx');
      await mkdir(nginxPrefix, { recursive: true });
      const nginxConfig = join(nginxPrefix, 'nginx.conf');
      await writeFile(
        nginxConfig,
        [
          'daemon off;',
          `pid ${nginxPrefix}/nginx.pid;`,
          `error_log ${nginxPrefix}/error.log;`,
          'events {}',
          'http {',
          '    include /etc/nginx/mime.types;',
          `    access_log ${nginxPrefix}/access.log;`,
          `    include ${root}/etc/nginx/sites-enabled/*.conf;`,
          '}',
          '',
        ].join('\n'),
      );

      // coturn: rooted certificate paths and log file.
      await rewrite(root, fileAt(files, '/etc/turnserver.conf'), ['/etc/jitsi/tls/', '/var/log/turnserver/']);
      await mkdir(join(root, '/var/log/turnserver'), { recursive: true });

      // The namespace: loopback plus the server's LAN address; names from the generated /etc/hosts.
      await execa('ip', ['netns', 'add', ns]);
      await execa('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      // coturn relays only from non-loopback interfaces: a veth pair (both ends inside) is the "LAN".
      await execa('ip', ['-n', ns, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan1']);
      await execa('ip', ['-n', ns, 'addr', 'add', `${LAN_ADDRESS}/24`, 'dev', 'lan0']);
      await execa('ip', ['-n', ns, 'link', 'set', 'lan0', 'up']);
      await execa('ip', ['-n', ns, 'link', 'set', 'lan1', 'up']);
      await mkdir(netnsEtc, { recursive: true });
      await writeFile(join(netnsEtc, 'hosts'), fileAt(files, '/etc/hosts').content);

      const start = (name: string, command: string, args: string[]) => {
        const process = execa('ip', ['netns', 'exec', ns, command, ...args], { all: true, reject: false });
        running.push({ name, process });
      };
      start('prosody', 'setpriv', ['--reuid=prosody', '--regid=prosody', '--init-groups', 'prosody', '--config', prosodyConfig, '-F']);
      start('nginx', 'nginx', ['-p', `${nginxPrefix}/`, '-c', nginxConfig]);
      start('coturn', 'turnserver', ['-c', join(root, '/etc/turnserver.conf'), '--pidfile', join(root, 'turnserver.pid')]);
      start('turn peer', 'turnutils_peer', ['-L', LAN_ADDRESS, '-p', String(PEER_PORT)]);
      await waitForPorts(ns, 'tcp', [5222, 5280, 80, 443, 3478, 5349], running);
      await waitForPorts(ns, 'udp', [3478, PEER_PORT], running);
      // Loopback only: nothing of prosody's is bound to the LAN address.
      const prosodyListeners = await inNamespace(ns, 'ss', ['-Hltn', 'sport = :5222 or sport = :5280']);
      t.notRegex(prosodyListeners.stdout as string, new RegExp(LAN_ADDRESS.replace(/\./g, '\\.')));
      t.notRegex(prosodyListeners.stdout as string, /\*:5222|0\.0\.0\.0:5222/);

      const probe = async (plan: object[]): Promise<StepResult[]> => {
        const result = await inNamespace(ns, process.execPath, ['--import', 'tsx', PROBE, JSON.stringify(plan)], {
          cwd: repoRoot,
          env: { NODE_EXTRA_CA_CERTS: caBundle },
          timeout: 90_000,
        });
        if (result.exitCode !== 0) throw new Error(`probe failed: ${result.all}`);
        return JSON.parse((result.stdout as string).trim().split('\n').at(-1)!) as StepResult[];
      };

      // --- XMPP: components on c2s, guests and the convener through nginx's websocket.
      const jicofo = (await parseHocon(fileAt(files, '/etc/jitsi/jicofo/jicofo.conf').content)).jicofo;
      const jicofoClient = jicofo.xmpp.client;
      const jvbShard = (await parseHocon(fileAt(files, '/etc/jitsi/videobridge/jvb.conf').content)).videobridge.apis['xmpp-client'].configs.shard;
      const c2s = `xmpp://${jicofoClient.hostname}:${jicofoClient.port}`;
      const web = evaluateWebConfig(fileAt(files, `/etc/jitsi/meet/${H}-config.js`).content);
      const websocket: string = web.websocket;
      const brewery: string = jicofo.bridge['brewery-jid'];
      const room = `standup@${web.hosts.muc}`;

      // --- Offline storage: a guest writes to the convener and to focus while neither is online.
      const dataPath = join(root, 'var/lib/prosody');
      const before = await treeSizes(dataPath);
      const absent = [`${config.convener.username}@${H}`, jicofoClient.username + '@' + jicofoClient.domain];
      const [offline] = await probe([
        { label: 'guest-writer', service: websocket, domain: web.hosts.anonymousdomain, messages: absent.map((to) => ({ to, count: 3, size: 8000 })) },
      ]);
      t.is(offline?.login, 'online', JSON.stringify(offline));
      for (const to of absent) t.deepEqual(offline?.messages?.[to], ['service-unavailable', 'service-unavailable', 'service-unavailable'], `refused, not stored: ${JSON.stringify(offline)}`);
      // mod_limits: prosody reads a guest's 48 kB at about 10 kB/s, so the last bounce cannot come
      // sooner than a few seconds (a lower bound: a slow machine only makes it later).
      t.true((offline?.messagesMs ?? 0) >= 2500, `a guest's stream is rate-limited: ${offline?.messagesMs} ms for 48 kB`);
      const after = await treeSizes(dataPath);
      t.deepEqual([...after.keys()].filter((path) => /(^|\/)offline(\/|$)/.test(path)), [], 'no offline store');
      t.true(sum(after) - sum(before) < 4096, `prosody's data grew by ${sum(after) - sum(before)} bytes: ${JSON.stringify([...after])}`);

      const results = await probe([
        { label: 'focus', service: c2s, domain: jicofoClient.domain, username: jicofoClient.username, password: jicofoClient.password, join: [`${brewery}/focus`] },
        { label: 'jvb', service: `xmpp://${jvbShard.HOSTNAME}:${jvbShard.PORT}`, domain: jvbShard.DOMAIN, username: jvbShard.USERNAME, password: jvbShard.PASSWORD, join: [`${jvbShard.MUC_JIDS}/jvb-1`] },
        { label: 'wrong', service: c2s, domain: `auth.${H}`, username: 'jvb', password: 'not-the-password' },
        { label: 'convener', service: websocket, domain: web.hosts.domain, username: config.convener.username, password: config.convener.password, join: [`${room}/convener`] },
        { label: 'guest', service: websocket, domain: web.hosts.anonymousdomain, externalServices: true, join: [`${room}/guest`, `guestroom@conference.${H}/guest`, `${brewery}/fake-bridge`] },
      ]);
      const all = JSON.stringify(results);
      const byLabel = Object.fromEntries(results.map((result) => [result.label, result]));
      t.is(byLabel.focus?.login, 'online', JSON.stringify(byLabel.focus));
      t.is(byLabel.focus?.joins[`${brewery}/focus`], 'joined', all);
      t.is(byLabel.jvb?.login, 'online', JSON.stringify(byLabel.jvb));
      t.is(byLabel.jvb?.joins[`${jvbShard.MUC_JIDS}/jvb-1`], 'joined', all);
      t.not(byLabel.wrong?.login, 'online', 'a wrong password is refused');
      t.is(byLabel.convener?.login, 'online', JSON.stringify(byLabel.convener));
      t.is(byLabel.convener?.joins[`${room}/convener`], 'joined', `the convener opens a room: ${all}`);
      t.is(byLabel.guest?.login, 'online', JSON.stringify(byLabel.guest));
      t.regex(byLabel.guest?.jid ?? '', new RegExp(`@guest\\.${H.replace(/\./g, '\\.')}/`), 'guests are anonymous users of guest.<H>');
      t.is(byLabel.guest?.joins[`${room}/guest`], 'joined', `a guest joins the open room: ${all}`);
      t.is(byLabel.guest?.joins[`guestroom@conference.${H}/guest`], 'not-allowed', `a guest cannot open a room: ${all}`);
      t.is(byLabel.guest?.joins[`${brewery}/fake-bridge`], 'registration-required', `a guest cannot enter the members-only brewery: ${all}`);

      // --- Failed logins: a flood from one address through nginx is cut short; that address is
      // refused (even with the right password) until the window passes, other addresses are not,
      // and the components' own logins (direct c2s) are not affected.
      const flood = async (plan: object[]): Promise<Record<string, any>> => {
        const result = await inNamespace(ns, process.execPath, ['--import', 'tsx', FLOOD, JSON.stringify(plan)], {
          cwd: repoRoot,
          env: { NODE_EXTRA_CA_CERTS: caBundle },
          timeout: 120_000,
        });
        if (result.exitCode !== 0) throw new Error(`login flood failed: ${result.all}`);
        return JSON.parse((result.stdout as string).trim().split('\n').at(-1)!) as Record<string, any>;
      };
      const convenerLogin = { url: websocket, to: H, username: config.convener.username };
      const floodStarted = Date.now();
      const first = await flood([
        { kind: 'stream', label: 'debian-localhost', url: websocket, to: 'localhost' },
        { kind: 'flood', label: 'flood', ...convenerLogin, password: 'not-the-password', maxAttempts: 50, stopAfterRefusals: 5, maxMs: 30_000 },
        { kind: 'login', label: 'same-address', ...convenerLogin, password: config.convener.password },
        { kind: 'login', label: 'other-address', ...convenerLogin, password: config.convener.password, localAddress: LAN_ADDRESS },
      ]);
      const floodSeconds = (Date.now() - floodStarted) / 1000;
      const firstAll = JSON.stringify(first);
      t.is(first['debian-localhost'], 'closed:host-unknown', `Debian's VirtualHost "localhost" is not loaded: ${firstAll}`);
      const attempts = first.flood.attempts as Array<{ connection: number; reply: string; ms: number }>;
      t.is(first.flood.stoppedBy, 'refusals', `the server stopped the flood, not the client's bounds: ${firstAll}`);
      const tally: Record<string, number> = {};
      for (const a of attempts) tally[a.reply] = (tally[a.reply] ?? 0) + 1;
      t.log(`login flood: ${attempts.length} attempts on ${attempts.at(-1)?.connection} connections in ${floodSeconds} s: ${JSON.stringify(tally)}`);
      const hashed = attempts.filter((a) => a.reply === 'not-authorized');
      t.true(hashed.length > 0 && hashed.length <= LOGIN_THROTTLE.addressFailures, `at most ${LOGIN_THROTTLE.addressFailures} passwords checked: ${firstAll}`);
      const perConnection = new Map<number, number>();
      for (const a of hashed) perConnection.set(a.connection, (perConnection.get(a.connection) ?? 0) + 1);
      t.true([...perConnection.values()].every((n) => n <= LOGIN_THROTTLE.sessionFailures), `per connection: ${JSON.stringify([...perConnection])}`);
      t.true(attempts.some((a) => a.reply === 'closed:policy-violation'), `a connection that keeps failing is closed: ${firstAll}`);
      const afterLimit = attempts.slice(attempts.indexOf(hashed.at(-1)!) + 1);
      t.true(afterLimit.length > 0 && afterLimit.every((a) => a.reply === 'temporary-auth-failure' || a.reply === 'closed:policy-violation'), firstAll);
      t.true(afterLimit.every((a) => a.ms < 2000), `refusals are answered at once: ${firstAll}`);
      t.true(floodSeconds < THROTTLE_WINDOW_S, `the flood ended within the window (${floodSeconds} s); otherwise the next checks mean nothing`);
      t.is(first['same-address'], 'temporary-auth-failure', `the flooding address is refused during the window: ${firstAll}`);
      t.is(first['other-address'], 'success', `another address logs in: ${firstAll}`);

      const components = await probe([
        { label: 'focus', service: c2s, domain: jicofoClient.domain, username: jicofoClient.username, password: jicofoClient.password, join: [`${brewery}/focus`] },
        { label: 'jvb', service: `xmpp://${jvbShard.HOSTNAME}:${jvbShard.PORT}`, domain: jvbShard.DOMAIN, username: jvbShard.USERNAME, password: jvbShard.PASSWORD, join: [`${jvbShard.MUC_JIDS}/jvb-1`] },
      ]);
      t.deepEqual(
        components.map((c) => [c.label, c.login, Object.values(c.joins)]),
        [['focus', 'online', ['joined']], ['jvb', 'online', ['joined']]],
        `focus and jvb log in and join the brewery during the window: ${JSON.stringify(components)}`,
      );

      const later = await flood([
        { kind: 'sleep', label: 'window', ms: THROTTLE_WINDOW_S * 1000 + 500 },
        { kind: 'login', label: 'same-address', ...convenerLogin, password: config.convener.password },
      ]);
      t.is(later['same-address'], 'success', `the address logs in again once the window has passed: ${JSON.stringify(later)}`);

      // --- HTTP through nginx (node's fetch inside the namespace, trusting the test certificate).
      const http = await inNamespace(
        ns,
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `
          const H = ${JSON.stringify(H)};
          const out = {};
          const get = async (url, init) => { const r = await fetch(url, { redirect: 'manual', ...init }); return { status: r.status, location: r.headers.get('location'), body: await r.text() }; };
          out.redirect = await get('http://' + H + '/some/page?x=1');
          out.acme = await get('http://' + H + '/.well-known/acme-challenge/token-123');
          out.config = await get('https://' + H + '/config.js');
          out.room = await get('https://' + H + '/SomeRoom');
          out.bosh = await get('https://' + H + '/http-bind', { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8' },
            body: "<body rid='1000' to='guest." + H + "' xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh' xmpp:version='1.0' ver='1.6' wait='10' hold='1' content='text/xml; charset=utf-8'/>" });
          console.log(JSON.stringify(out));
          `,
        ],
        { env: { NODE_EXTRA_CA_CERTS: caBundle }, timeout: 60_000 },
      );
      t.is(http.exitCode, 0, http.all);
      const answers = JSON.parse((http.stdout as string).trim()) as Record<string, { status: number; location: string | null; body: string }>;
      t.is(answers.redirect?.status, 301);
      t.is(answers.redirect?.location, `https://${H}/some/page?x=1`);
      t.is(answers.acme?.status, 200);
      t.is(answers.acme?.body, 'token-123.thumbprint');
      t.is(answers.config?.status, 200);
      t.true(answers.config?.body.includes(`anonymousdomain": "guest.${H}"`));
      t.is(answers.room?.status, 200);
      t.regex(answers.room?.body ?? '', /jitsi meet app stand-in/);
      t.is(answers.bosh?.status, 200);
      t.regex(answers.bosh?.body ?? '', /<body[^>]*\bsid=['"][^'"]+['"]/, 'BOSH session created');

      // --- TURN: credentials from the shared secret work; a wrong secret does not.
      const turnClient = (secret: string, peer = LAN_ADDRESS) =>
        inNamespace(ns, 'turnutils_uclient', ['-W', secret, '-u', 'guest', '-e', peer, '-r', String(PEER_PORT), '-n', '3', '-m', '1', '-c', LAN_ADDRESS], {
          timeout: 30_000,
        });
      const good = await turnClient(config.secrets.turn_secret);
      t.regex(good.all as string, /Total lost packets 0 \(0\.000000%\)/, good.all as string);
      // The credentials prosody hands a guest (XEP-0215, derived from its copy of the secret) are
      // accepted by coturn (its copy): the two halves of the shared secret really agree.
      const services = byLabel.guest?.services;
      t.true(Array.isArray(services), `external services: ${JSON.stringify(services)}`);
      const turnUdp = (services as Array<Record<string, string>>).find((s) => s.type === 'turn' && s.transport === 'udp');
      t.truthy(turnUdp?.username && turnUdp?.password, JSON.stringify(services));
      const announced = await inNamespace(
        ns,
        'turnutils_uclient',
        ['-u', turnUdp!.username!, '-w', turnUdp!.password!, '-e', LAN_ADDRESS, '-r', String(PEER_PORT), '-n', '3', '-m', '1', '-c', LAN_ADDRESS],
        { timeout: 30_000 },
      );
      t.regex(announced.all as string, /Total lost packets 0 \(0\.000000%\)/, announced.all as string);
      const bad = await turnClient('0'.repeat(40));
      t.notRegex(bad.all as string, /Total lost packets 0 \(0\.000000%\)/);
      t.regex(bad.all as string, /401|Unauthori[sz]ed|cannot complete Allocation/i, bad.all as string);
      // Valid credentials, but a loopback peer: the relay must refuse (TURN cannot reach loopback services).
      const loopbackPeer = await turnClient(config.secrets.turn_secret, '127.0.0.1');
      t.notRegex(loopbackPeer.all as string, /Total lost packets 0 \(0\.000000%\)/);
      t.regex(loopbackPeer.all as string, /403|Forbidden/i, loopbackPeer.all as string);
    } finally {
      for (const service of running.reverse()) {
        service.process.kill('SIGTERM');
        const stopped = await Promise.race([service.process.then(() => true), new Promise((r) => setTimeout(() => r(false), 5000))]);
        if (!stopped) service.process.kill('SIGKILL');
        await service.process.catch(() => {});
      }
      await execa('ip', ['netns', 'del', ns], { reject: false });
      await rm(netnsEtc, { recursive: true, force: true });
    }
  });
});

/** Every file under `dir` with its size, by path relative to `dir`. */
async function treeSizes(dir: string): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const entry of await readdir(dir, { recursive: true })) {
    const info = await stat(join(dir, entry));
    if (info.isFile()) sizes.set(entry, info.size);
  }
  return sizes;
}

function sum(sizes: Map<string, number>): number {
  return [...sizes.values()].reduce((a, b) => a + b, 0);
}

async function ids(user: string): Promise<{ uid: number; gid: number }> {
  const uid = Number((await execa('id', ['-u', user])).stdout);
  const gid = Number((await execa('id', ['-g', user])).stdout);
  return { uid, gid };
}
