import test from 'ava';
import { execa } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CHECKS,
  CLOCK_FLOOR,
  decideBoot,
  decideBrewery,
  decideCertificate,
  decideClock,
  decideDisk,
  decideDns,
  decideHealth,
  decideLetsEncrypt,
  decideListeners,
  decideLoopbackOnly,
  decideLogin,
  decideNat,
  decidePortsFree,
  decideRoster,
  decideService,
  decideServed,
  decideTrusted,
  decideTurnAllocation,
  decideTurnLoopback,
  decideUdpBuffers,
  isSelfSigned,
  lastRenewal,
  serviceSpec,
  SERVICES,
} from '../../../src/configurator/check/checks.js';
import { hoconString, jvbMappings, luaString, parseSs, turnserverValue, parsePasswd } from '../../../src/configurator/check/facts.js';
import { XmppError } from '../../../src/configurator/check/xmpp.js';
import { planServer } from '../../../src/configurator/components/index.js';
import { PORTS } from '../../../src/configurator/components/names.js';
import { fileAt, generated, loadFixture, PLUGINS_DIR } from '../../helpers/generated-files.js';
import { scratchDir } from '../../helpers/scratch.js';
import { DEBIAN } from '../../../src/configurator/distribution.js';

test('the table: unique names, needs are earlier rows, every row says what it checks and how to fix it', (t) => {
  const seen = new Set<string>();
  for (const check of CHECKS) {
    t.false(seen.has(check.name), `${check.name} twice`);
    for (const need of check.needs) t.true(seen.has(need), `${check.name} needs ${need}, which is not an earlier row`);
    t.truthy(check.what, check.name);
    t.truthy(check.fix, check.name);
    seen.add(check.name);
  }
  for (const name of ['service:prosody', 'service:nginx', 'service:coturn', 'service:jicofo', 'service:jitsi-videobridge2', 'boot', 'listen:prosody', 'loopback-only', 'ports-free',
    'xmpp:focus-login', 'xmpp:jvb-login', 'xmpp:focus-roster', 'xmpp:brewery', 'health:videobridge', 'health:jicofo', 'tls:certificate', 'tls:trusted', 'tls:served',
    'letsencrypt', 'dns', 'nat', 'turn:allocation', 'turn:loopback-refused', 'host:udp-buffers', 'clock', 'disk']) {
    t.true(seen.has(name), `the issue asks for ${name}`);
  }
});

test('every service the components plan has a row in SERVICES (user, process, ports), and the ports are the components\' ports', async (t) => {
  const plan = planServer(await loadFixture('public-nat'), { distribution: DEBIAN, init: 'systemd', prosodyPluginsDir: PLUGINS_DIR });
  t.deepEqual(plan.services.map((s) => s.name).sort(), SERVICES.map((s) => s.service).sort());
  const loopbackOnly = SERVICES.flatMap((s) => s.ports.filter((p) => p.loopbackOnly).map((p) => p.port)).sort();
  t.deepEqual(loopbackOnly, [PORTS.xmppClient, PORTS.prosodyHttp, PORTS.jicofoRest, PORTS.jvbHttp, 8080].sort((a, b) => a - b));
  // What the generated files say about where those services listen.
  const files = plan.files;
  const prosody = fileAt(files, '/etc/prosody/prosody.cfg.lua').content;
  t.regex(prosody, /^c2s_interfaces = \{ "127\.0\.0\.1" \}/m);
  t.regex(prosody, /^http_interfaces = \{ "127\.0\.0\.1" \}/m);
  const jvb = fileAt(files, '/etc/jitsi/videobridge/jvb.conf').content;
  t.regex(jvb, /public = \{\s+host = "127\.0\.0\.1"\s+port = 9090/);
  t.regex(jvb, /private = \{\s+host = "127\.0\.0\.1"\s+\}/, 'the private server keeps its default port 8080');
});

test('service: not running, crashed under OpenRC, wrong user, nginx workers, running outside the init', (t) => {
  const prosody = serviceSpec('prosody');
  t.like(decideService(prosody, 'systemd', { initRunning: false, processes: [] }), { status: 'fail', detail: 'prosody is not running', fix: 'systemctl restart prosody; if it stops again, read journalctl -u prosody' });
  t.like(decideService(prosody, 'openrc', { initRunning: true, processes: [] }), { status: 'fail', detail: 'prosody: openrc counts it as started, but no prosody process runs (it crashed)' });
  t.like(decideService(prosody, 'systemd', { initRunning: true, processes: [{ pid: 10, ppid: 1, user: 'root' }] }), { status: 'fail', detail: 'prosody runs as root (pid 10), not as prosody' });
  t.like(decideService(prosody, 'systemd', { initRunning: true, processes: [{ pid: 10, ppid: 1, user: 'prosody' }] }), { status: 'pass', detail: 'prosody runs as prosody (pid 10)' });
  t.like(decideService(prosody, 'systemd', { initRunning: false, processes: [{ pid: 10, ppid: 1, user: 'prosody' }] }), { status: 'warn' });
  const nginx = serviceSpec('nginx');
  t.like(decideService(nginx, 'systemd', { initRunning: true, processes: [{ pid: 5, ppid: 1, user: 'root' }, { pid: 6, ppid: 5, user: 'www-data' }] }), { status: 'pass', detail: 'nginx runs as www-data (pid 5)' });
  t.like(decideService(nginx, 'systemd', { initRunning: true, processes: [{ pid: 5, ppid: 1, user: 'root' }, { pid: 6, ppid: 5, user: 'root' }] }), { status: 'fail', detail: 'nginx runs as root (pid 6), not as www-data' });
});

test('process patterns: prosody under lua, coturn, nginx, and the two Java daemons told apart', (t) => {
  t.true(serviceSpec('prosody').isOurs({ comm: 'lua5.4', cmdline: 'lua5.4 /usr/bin/prosody -F' }));
  t.false(serviceSpec('prosody').isOurs({ comm: 'lua5.4', cmdline: 'lua5.4 /usr/bin/prosodyctl register' }));
  t.true(serviceSpec('coturn').isOurs({ comm: 'turnserver', cmdline: '/usr/bin/turnserver -c /etc/turnserver.conf' }));
  const jvb = { comm: 'java', cmdline: 'java -Xmx512m -Dconfig.file=/etc/jitsi/videobridge/jvb.conf -jar /usr/share/jitsi-videobridge/jitsi-videobridge.jar' };
  const jicofo = { comm: 'java', cmdline: 'java -Xmx3072m -Dconfig.file=/etc/jitsi/jicofo/jicofo.conf -jar /usr/share/jicofo/jicofo.jar' };
  t.true(serviceSpec('jitsi-videobridge2').isOurs(jvb));
  t.false(serviceSpec('jicofo').isOurs(jvb));
  t.true(serviceSpec('jicofo').isOurs(jicofo));
  t.false(serviceSpec('jitsi-videobridge2').isOurs(jicofo));
});

const SS = [
  'tcp   LISTEN 0      4096       127.0.0.1:5222       0.0.0.0:*    users:(("lua5.4",pid=301,fd=8))',
  'tcp   LISTEN 0      4096         0.0.0.0:5280       0.0.0.0:*    users:(("lua5.4",pid=301,fd=9))',
  'tcp   LISTEN 0      511          0.0.0.0:443        0.0.0.0:*    users:(("nginx",pid=401,fd=6),("nginx",pid=400,fd=6))',
  'tcp   LISTEN 0      511             [::]:80            [::]:*    users:(("nginx",pid=401,fd=7))',
  'tcp   LISTEN 0      511          0.0.0.0:80         0.0.0.0:*    users:(("nginx",pid=401,fd=5))',
  'udp   UNCONN 0      0          10.0.0.5:3478       0.0.0.0:*    users:(("turnserver",pid=500,fd=15))',
  'tcp   LISTEN 0      5      127.0.0.1%lo:8888       0.0.0.0:*    users:(("python3",pid=777,fd=3))',
].join('\n');

test('ss output: protocol, address (brackets and zone dropped), port and holders', (t) => {
  const found = parseSs(SS);
  t.is(found.length, 7);
  t.deepEqual(found[2], { protocol: 'tcp', address: '0.0.0.0', port: 443, processes: [{ name: 'nginx', pid: 401 }, { name: 'nginx', pid: 400 }] });
  t.like(found[3], { address: '::', port: 80 });
  t.like(found[6], { address: '127.0.0.1', port: 8888 });
});

test('listen: a missing port fails; a loopback-only port must take connections on 127.0.0.1 (loopback or a wildcard)', (t) => {
  const found = parseSs(SS);
  t.like(decideListeners(serviceSpec('prosody'), found), { status: 'pass', detail: 'prosody listens on 127.0.0.1:5222/tcp, 127.0.0.1:5280/tcp' });
  t.like(decideListeners(serviceSpec('nginx'), found), { status: 'pass', detail: 'nginx listens on 80/tcp, 443/tcp' });
  t.like(decideListeners(serviceSpec('coturn'), found), { status: 'fail', detail: 'nothing listens on 3478/tcp (STUN/TURN over TCP); nothing listens on 5349/tcp (TURN over TLS)' });
  t.like(decideListeners(serviceSpec('prosody'), parseSs(SS.replace('127.0.0.1:5222', '10.0.0.5:5222'))), {
    status: 'fail',
    detail: "prosody's c2s listens on 10.0.0.5 only, not on 127.0.0.1 where the other services look for it",
  });
});

test('loopback-only: prosody, the bridge or jicofo on a public address fails naming port and address; loopback passes', (t) => {
  const verdict = decideLoopbackOnly(parseSs(SS));
  t.is(verdict.status, 'fail');
  t.is(verdict.detail, "prosody's HTTP (BOSH, websocket) (5280/tcp) listens on 0.0.0.0 (every address): it must be reachable on 127.0.0.1 only");
  t.is(verdict.fix, "run `jitsi-meet-config --reapply`: it writes prosody's configuration back with 127.0.0.1 only and restarts it");
  t.like(decideLoopbackOnly(parseSs(SS.replace('0.0.0.0:5280', '127.0.0.1:5280'))), { status: 'pass' });
  t.regex(decideLoopbackOnly(parseSs('tcp LISTEN 0 50 [::]:9090 [::]:* users:(("java",pid=9,fd=1))')).detail, /^the bridge's public HTTP \(colibri websockets\) \(9090\/tcp\) listens on :: \(every address\)/);
});

test('ports-free: another program on a server port fails naming program, pid and whose port it is', (t) => {
  const verdict = decidePortsFree(parseSs(SS));
  t.is(verdict.status, 'fail');
  t.is(verdict.detail, "8888/tcp (jicofo's jicofo's REST (health)) is held by python3 (pid 777)");
  t.like(decidePortsFree(parseSs(SS.split('\n').slice(0, 6).join('\n'))), { status: 'pass' });
});

test('boot: target not enabled or a masked service fails with the command that fixes it', (t) => {
  t.like(decideBoot('systemd', false, []), { status: 'fail', fix: 'systemctl enable jitsi-meet-server.target' });
  t.like(decideBoot('openrc', false, []), { status: 'fail', fix: 'rc-update add jitsi-meet-server default' });
  t.like(decideBoot('systemd', true, ['coturn']), { status: 'fail', detail: 'masked (never started): coturn', fix: 'systemctl unmask coturn' });
  t.like(decideBoot('systemd', true, []), { status: 'pass' });
});

test('XMPP decisions: a refused password names the file and the re-apply; roster needs focus.<H> with "both"; the bridge by its nickname', (t) => {
  t.like(decideLogin('jvb@auth.h.test', '/etc/jitsi/videobridge/jvb.conf', { ok: false, error: new XmppError('login refused (not-authorized)', 'not-authorized') }, '/var/log/prosody/prosody.log'), {
    status: 'fail',
    detail: 'jvb@auth.h.test cannot log in with the password in /etc/jitsi/videobridge/jvb.conf (not-authorized)',
  });
  t.like(decideLogin('focus@auth.h.test', 'f', { ok: true }, '/var/log/prosody/prosody.log'), { status: 'pass' });
  t.like(decideLogin('focus@auth.h.test', 'f', { missing: true }, '/var/log/prosody/prosody.log'), { status: 'fail' });
  t.like(decideRoster('h.test', []), { status: 'fail', detail: "focus@auth.h.test's roster does not hold focus.h.test: clients cannot reach jicofo" });
  t.regex(decideRoster('h.test', []).fix ?? '', /prosodyctl mod_roster_command subscribe focus\.h\.test focus@auth\.h\.test/);
  t.like(decideRoster('h.test', [{ jid: 'focus.h.test', subscription: 'to' }]), { status: 'fail' });
  t.like(decideRoster('h.test', [{ jid: 'focus.h.test', subscription: 'both' }]), { status: 'pass' });
  const brewery = 'JvbBrewery@internal.auth.h.test';
  t.like(decideBrewery(brewery, 'jvb-h.test', ['focus'], 'systemd'), { status: 'fail', detail: `no bridge (jvb-h.test) in ${brewery}; occupants: focus` });
  t.like(decideBrewery(brewery, 'jvb-h.test', ['focus', 'jvb-h.test'], 'systemd'), { status: 'pass' });
  t.like(decideHealth('the bridge', 'http://x', { status: 500, body: 'bad' }, 'log'), { status: 'fail', detail: 'the bridge is not healthy (http://x: HTTP 500: bad)' });
  t.like(decideHealth('the bridge', 'http://x', { error: 'connect ECONNREFUSED' }, 'log'), { status: 'fail' });
  t.like(decideHealth('the bridge', 'http://x', { status: 200 }, 'log'), { status: 'pass' });
});

test('values are read from the files the generators write: passwords, nickname, mappings, TURN secret and external-ip', async (t) => {
  const config = await loadFixture('public-nat');
  const files = generated(config, { distribution: DEBIAN, init: 'systemd', prosodyPluginsDir: PLUGINS_DIR });
  t.is(hoconString(fileAt(files, '/etc/jitsi/jicofo/jicofo.conf').content, 'password'), config.secrets.focus_password);
  const jvb = fileAt(files, '/etc/jitsi/videobridge/jvb.conf').content;
  t.is(hoconString(jvb, 'PASSWORD'), config.secrets.jvb_password);
  t.is(hoconString(jvb, 'MUC_NICKNAME'), 'jvb-meet.example.org');
  t.deepEqual(jvbMappings(jvb), [{ local: '10.0.0.5', public: '203.0.113.7' }]);
  t.is(turnserverValue(fileAt(files, '/etc/turnserver.conf').content, 'external-ip'), '203.0.113.7/10.0.0.5');
  t.is(luaString(fileAt(files, '/etc/prosody/conf.avail/meet.example.org.cfg.lua').content, 'external_service_secret'), config.secrets.turn_secret);
  t.deepEqual(parsePasswd('root:x:0:0::/root:/bin/sh\nprosody:x:101:102::/var/lib/prosody:/bin/false\n'), new Map([[0, 'root'], [101, 'prosody']]));
});

async function certificate(dir: string, name: string, args: string[]): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, ...args]);
  return { cert: await readFile(cert, 'utf8'), key: await readFile(key, 'utf8') };
}

/** A certificate valid from `start` to `end` (openssl ca: req -x509 cannot date backwards). */
async function datedCertificate(dir: string, host: string, start: string, end: string): Promise<{ cert: string; key: string }> {
  await execa('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${host}`, '-addext', `subjectAltName=DNS:${host}`, '-keyout', join(dir, 'd.key'), '-out', join(dir, 'd.csr')]);
  await writeFile(join(dir, 'index'), '');
  await writeFile(join(dir, 'serial'), '01\n');
  await writeFile(join(dir, 'ca.cnf'), `[ca]\ndefault_ca=c\n[c]\ndatabase=${dir}/index\nnew_certs_dir=${dir}\nserial=${dir}/serial\ndefault_md=sha256\npolicy=p\ncopy_extensions=copy\n[p]\ncommonName=supplied\n`);
  await execa('openssl', ['ca', '-batch', '-config', join(dir, 'ca.cnf'), '-selfsign', '-keyfile', join(dir, 'd.key'), '-in', join(dir, 'd.csr'), '-startdate', start, '-enddate', end, '-out', join(dir, 'd.crt'), '-notext']);
  return { cert: await readFile(join(dir, 'd.crt'), 'utf8'), key: await readFile(join(dir, 'd.key'), 'utf8') };
}

test('tls: valid, wrong name, other key, expired, expiring soon (warn), self-signed (warn with what to do)', async (t) => {
  const dir = await scratchDir('check-tls-');
  const config = await loadFixture('public-nat');
  const good = await certificate(dir, 'good', ['-days', '90', '-subj', '/CN=meet.example.org', '-addext', 'subjectAltName=DNS:meet.example.org']);
  const other = await certificate(dir, 'other', ['-days', '90', '-subj', '/CN=other.example.org', '-addext', 'subjectAltName=DNS:other.example.org']);
  const soon = await certificate(dir, 'soon', ['-days', '5', '-subj', '/CN=meet.example.org', '-addext', 'subjectAltName=DNS:meet.example.org']);
  const expired = await datedCertificate(dir, 'meet.example.org', '20250101000000Z', '20250201000000Z');
  // After making them: a certificate is valid from the second openssl made it, and under load
  // that second can come after a "now" taken before (the check then said "not yet valid").
  const now = new Date(Date.now() + 1000);
  t.like(decideCertificate(config, { certPem: good.cert, keyPem: good.key, now }), { status: 'pass' });
  t.regex(decideCertificate(config, { certPem: good.cert, keyPem: good.key, now }).detail, /89 days left|90 days left/);
  const wrongName = decideCertificate(config, { certPem: other.cert, keyPem: other.key, now });
  t.is(wrongName.status, 'fail');
  t.regex(wrongName.detail, /not valid for meet\.example\.org \(it names DNS:other\.example\.org\)/);
  t.regex(decideCertificate(config, { certPem: good.cert, keyPem: other.key, now }).detail, /\/etc\/jitsi\/tls\/meet\.example\.org\.key is not its key/);
  const old = decideCertificate(config, { certPem: expired.cert, keyPem: expired.key, now });
  t.is(old.status, 'fail');
  t.regex(old.detail, /it expired on 2025-02-01/);
  t.is(old.fix, 'run `jitsi-meet-config --reapply`: it makes a new self-signed certificate');
  t.like(decideCertificate({ ...config, tls: { mode: 'own', cert: '/root/c.pem', key: '/root/k.pem' } }, { certPem: expired.cert, keyPem: expired.key, now }), {
    fix: 'put a valid certificate for meet.example.org and its key at /root/c.pem and /root/k.pem, then run `jitsi-meet-config --reapply`',
  });
  t.like(decideCertificate(config, { certPem: soon.cert, keyPem: soon.key, now }), { status: 'warn' });
  t.like(decideCertificate(config, { keyPem: good.key, now }), { status: 'fail', detail: '/etc/jitsi/tls/meet.example.org.crt is missing' });
  t.true(isSelfSigned(good.cert));
  t.like(decideTrusted(config, true), { status: 'warn', detail: 'the certificate is self-signed: browsers warn and the Jitsi mobile apps refuse to connect' });
  t.like(decideTrusted(config, false), { status: 'pass' });
  t.like(decideServed('/f.crt', 'AA', { fingerprint: 'BB' }), { status: 'fail', detail: 'nginx serves another certificate than /f.crt' });
  t.like(decideServed('/f.crt', 'AA', { fingerprint: 'AA' }), { status: 'pass' });
});

test("Let's Encrypt: no timer or cron fails with the command; the last attempt is read from certbot's log", (t) => {
  t.like(decideLetsEncrypt('systemd', { scheduled: false, scheduleProblem: 'certbot.timer is disabled, inactive' }, DEBIAN.certbotRenewal), { status: 'fail', fix: 'systemctl enable --now certbot.timer' });
  t.like(decideLetsEncrypt('openrc', { scheduled: false, scheduleProblem: 'cron is not running' }, DEBIAN.certbotRenewal), { status: 'fail', detail: 'no renewal is scheduled: cron is not running' });
  const failedLog = '2026-11-01 ... Certificate not yet due for renewal\n2026-11-30 ... All renewals failed. The following certificates could not be renewed:\n';
  t.is(lastRenewal(failedLog), 'failed');
  t.is(lastRenewal(`${failedLog}2026-12-01 ... Congratulations, all renewals succeeded:\n`), 'succeeded');
  // certbot's own debug line after a successful run (a test against pebble read it as a failure).
  t.is(lastRenewal('2026-12-01 18:46:20,113:DEBUG:certbot._internal.renewal:no renewal failures\n'), 'succeeded');
  t.is(lastRenewal('Congratulations, all renewals succeeded:\nThe following renewals failed:\n'), 'failed');
  t.is(lastRenewal('certbot.errors.Error: 1 renew failure(s), 0 parse failure(s)\n'), 'failed');
  t.is(lastRenewal('No renewals were attempted.\n'), 'not-due');
  t.like(decideLetsEncrypt('systemd', { scheduled: true, log: failedLog }, DEBIAN.certbotRenewal), { status: 'fail', detail: 'the last renewal attempt failed' });
  t.like(decideLetsEncrypt('openrc', { scheduled: true, log: 'Certificate not yet due for renewal' }, DEBIAN.certbotRenewal), { status: 'pass', detail: 'renewal is scheduled (cron, /etc/cron.d/certbot); the last attempt found nothing due' });
});

test('dns: another address in /etc/hosts fails naming it; loopback alias passes; a public name must point at the external address', async (t) => {
  const lan = { ...(await loadFixture('public-nat')), hostname: 'meet.jitsi.test', external_ip: '10.77.0.2', internal_ip: '10.77.0.2' };
  t.like(decideDns(lan, ['127.0.0.1']), { status: 'pass' });
  t.like(decideDns(lan, ['10.9.9.9', '127.0.0.1']), { status: 'fail', detail: 'meet.jitsi.test resolves to 10.9.9.9 here, not to 10.77.0.2' });
  t.like(decideDns({ ...lan, localhost_alias: false }, ['127.0.0.1']), { status: 'fail' });
  t.like(decideDns(lan, []), { status: 'fail', detail: 'meet.jitsi.test does not resolve on this server' });
  const pub = { ...(await loadFixture('public-nat')), hostname: 'meet.example.com.au', external_ip: '198.51.200.7', internal_ip: '10.0.0.5' };
  t.like(decideDns(pub, ['127.0.0.1'], { addresses: ['198.51.200.8'] }), { status: 'fail', detail: "meet.example.com.au's DNS record points at 198.51.200.8, not at 198.51.200.7" });
  t.like(decideDns(pub, ['127.0.0.1'], { addresses: [], error: 'ENOTFOUND' }), { status: 'fail' });
  t.like(decideDns(pub, ['127.0.0.1'], { addresses: ['198.51.200.7'] }), { status: 'pass' });
});

test('nat: internal address not on this machine, missing or wrong mapping behind NAT, a stray mapping without NAT', async (t) => {
  const nat = await loadFixture('public-nat');
  const right = { interfaceAddresses: ['127.0.0.1', '10.0.0.5'], jvbMappings: [{ local: '10.0.0.5', public: '203.0.113.7' }], turnExternal: '203.0.113.7/10.0.0.5' };
  t.like(decideNat(nat, right), { status: 'pass' });
  t.like(decideNat(nat, { ...right, interfaceAddresses: ['127.0.0.1'] }), { status: 'fail', detail: 'the internal address 10.0.0.5 is on no interface of this machine (it has 127.0.0.1)' });
  t.like(decideNat(nat, { ...right, jvbMappings: [] }), { status: 'fail', detail: 'behind NAT (10.0.0.5 -> 203.0.113.7), but jvb.conf maps nothing: the bridge announces an address clients cannot reach' });
  t.like(decideNat(nat, { ...right, turnExternal: undefined }), { status: 'fail' });
  const flat = { ...nat, external_ip: '10.0.0.5' };
  t.like(decideNat(flat, { interfaceAddresses: ['10.0.0.5'], jvbMappings: [] }), { status: 'pass' });
  t.like(decideNat(flat, { interfaceAddresses: ['10.0.0.5'], jvbMappings: [{ local: '10.0.0.5', public: '192.0.2.9' }] }), {
    status: 'fail',
    detail: 'the bridge announces 192.0.2.9 (jvb.conf static mapping), not 10.0.0.5',
  });
});

test('turn: a 401 names the secret mismatch; a granted loopback permission fails; 403 passes', (t) => {
  const refused = decideTurnAllocation({ allocateError: '401 Unauthorized' }, '10.0.0.5');
  t.is(refused.status, 'fail');
  t.regex(refused.detail, /external_service_secret and coturn's static-auth-secret differ/);
  t.like(decideTurnAllocation({ relayed: '10.0.0.5:50000' }, '10.0.0.5'), { status: 'pass' });
  t.like(decideTurnLoopback({ relayed: 'x', loopbackPeer: 'granted' }), { status: 'fail' });
  t.like(decideTurnLoopback({ relayed: 'x', loopbackPeer: 'refused (403 Forbidden IP)' }), { status: 'pass' });
  t.like(decideTurnLoopback({ relayed: 'x', loopbackPeer: 'no answer' }), { status: 'fail' });
});

test('host: low UDP buffers warn with the host command; clock before release or behind the master config fails; disk thresholds', (t) => {
  const low = decideUdpBuffers({ 'net.core.rmem_max': 212992, 'net.core.netdev_max_backlog': 1000 });
  t.is(low.status, 'warn');
  t.regex(low.fix ?? '', /on the HOST: printf 'net\.core\.rmem_max = 10485760\\nnet\.core\.netdev_max_backlog = 100000\\n' > \/etc\/sysctl\.d\/20-jvb-udp-buffers\.conf && sysctl --system/);
  t.like(decideUdpBuffers({ 'net.core.rmem_max': 10485760, 'net.core.netdev_max_backlog': 100000 }), { status: 'pass' });
  // netdev_max_backlog is not visible in a container's own network namespace: not a warning by itself.
  t.like(decideUdpBuffers({ 'net.core.rmem_max': 10485760 }), { status: 'pass', detail: 'UDP buffers: net.core.rmem_max = 10485760 (net.core.netdev_max_backlog: not visible in the container)' });
  t.like(decideUdpBuffers({}), { status: 'warn' });
  t.like(decideClock(new Date(CLOCK_FLOOR - 1000)), { status: 'fail' });
  t.like(decideClock(new Date(CLOCK_FLOOR + 86_400_000), new Date(CLOCK_FLOOR + 3 * 86_400_000)), { status: 'fail' });
  t.like(decideClock(new Date(CLOCK_FLOOR + 86_400_000), new Date(CLOCK_FLOOR)), { status: 'pass' });
  t.like(decideDisk([{ path: '/var/log', bytes: 50 * 1024 * 1024 }]), { status: 'fail', detail: "/var/log: 50 MiB free: logs and prosody's storage fail soon" });
  t.like(decideDisk([{ path: '/var/log', bytes: 500 * 1024 * 1024 }]), { status: 'warn' });
  t.like(decideDisk([{ path: '/var/log', bytes: 5 * 1024 ** 3 }]), { status: 'pass' });
});

test('loopback-only with bridges on other hosts: c2s on the internal address is expected, anywhere else still fails', (t) => {
  const loopbackHttp = SS.replace('0.0.0.0:5280', '127.0.0.1:5280');
  const onInternal = `${loopbackHttp}\ntcp   LISTEN 0      128        10.0.0.5:5222       0.0.0.0:*    users:(("lua5.4",pid=300,fd=9))`;
  t.like(decideLoopbackOnly(parseSs(onInternal), '10.0.0.5'), { status: 'pass' });
  t.like(decideLoopbackOnly(parseSs(onInternal)), { status: 'fail' }, 'without bridges the same socket is a leak');
  const everywhere = `${loopbackHttp}\ntcp   LISTEN 0      128        0.0.0.0:5222       0.0.0.0:*    users:(("lua5.4",pid=300,fd=9))`;
  t.regex(decideLoopbackOnly(parseSs(everywhere), '10.0.0.5').detail, /^prosody's c2s \(5222\/tcp\) listens on 0\.0\.0\.0 \(every address\)/);
});
