import test from 'ava';
import { coturnComponent } from '../../../src/configurator/components/coturn/index.js';
import { webTls } from '../../../src/configurator/paths.js';
import { fileAt, FIXTURES, loadFixture, parseTurnserverConf, single } from '../../helpers/generated-files.js';
import { DEBIAN } from '../../../src/configurator/distribution.js';

/** Debian's coturn files. */
const TURNSERVER_CONF = '/etc/turnserver.conf';
const COTURN_DEFAULTS = '/etc/default/coturn';

/** Whether a denied-peer-ip value (single address or a-b range) covers an IPv4 address. */
function deniesV4(values: string[], address: string): boolean {
  const number = (ip: string) => ip.split('.').reduce((sum, part) => sum * 256 + Number(part), 0);
  const target = number(address);
  return values.some((value) => {
    const [low, high = low] = value.split('-');
    return !low!.includes(':') && number(low!) <= target && target <= number(high!);
  });
}

for (const fixture of FIXTURES) {
  test(`${fixture}: shared-secret auth, realm, ports and the web certificate (not swapped)`, async (t) => {
    const config = await loadFixture(fixture);
    const files = coturnComponent.plan(config, { distribution: DEBIAN, init: 'systemd' }).files;
    const conf = parseTurnserverConf(fileAt(files, TURNSERVER_CONF).content);
    t.true(conf.has('use-auth-secret'));
    t.is(single(conf, 'static-auth-secret'), config.secrets.turn_secret);
    t.is(single(conf, 'realm'), config.hostname);
    t.is(single(conf, 'listening-port'), '3478');
    t.is(single(conf, 'tls-listening-port'), '5349');
    t.is(single(conf, 'cert'), webTls(config.hostname).cert);
    t.is(single(conf, 'pkey'), webTls(config.hostname).key);
    for (const flag of ['fingerprint', 'no-cli', 'no-multicast-peers']) t.true(conf.has(flag), flag);
    t.false(conf.has('lt-cred-mech'), 'no static accounts next to the shared secret');
    const defaults = fileAt(files, COTURN_DEFAULTS).content;
    t.is(defaults.match(/^TURNSERVER_ENABLED=(.*)$/m)?.[1], '1');
    // The init script must find the pidfile coturn writes, in a directory it hands to turnserver.
    const pidDir = defaults.match(/^PIDFILE_DIR=(.*)$/m)?.[1];
    const pidFile = defaults.match(/^PIDFILE=(.*)$/m)?.[1];
    t.truthy(pidDir && pidFile?.startsWith(`${pidDir}/`), defaults);
    t.is(defaults.match(/^DAEMON_ARGS=".*--pidfile (\S+)"$/m)?.[1], pidFile);
  });
}

test('relaying to private, loopback and link-local peers is denied', async (t) => {
  const conf = parseTurnserverConf(fileAt(coturnComponent.plan(await loadFixture('public-nat'), { distribution: DEBIAN, init: 'systemd' }).files, TURNSERVER_CONF).content);
  const denied = conf.get('denied-peer-ip') ?? [];
  for (const address of ['10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.7.7', '127.0.0.1', '169.254.1.1', '100.64.0.1', '0.0.0.0']) {
    t.true(deniesV4(denied, address), `${address} denied`);
  }
  // Documentation and transition ranges: never a real peer, and 6to4/relay ranges can reach anywhere.
  for (const address of ['192.0.2.1', '198.51.100.200', '203.0.113.99', '192.88.99.1']) t.true(deniesV4(denied, address), `${address} denied`);
  for (const address of ['8.8.8.8', '172.32.0.1', '198.52.0.1', '192.88.100.1']) t.false(deniesV4(denied, address), `${address} allowed`);
  for (const v6 of [
    '::1',
    'fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    'fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    '2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff',
    '2002::-2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    '100::-100::ffff:ffff:ffff:ffff',
  ]) {
    t.true(denied.includes(v6), `${v6} denied`);
  }
});

test('only UDP relays, no DTLS listener, no undocumented RFC 5780 alternate ports (3479, 5350)', async (t) => {
  for (const fixture of FIXTURES) {
    const conf = parseTurnserverConf(fileAt(coturnComponent.plan(await loadFixture(fixture), { distribution: DEBIAN, init: 'systemd' }).files, TURNSERVER_CONF).content);
    for (const flag of ['no-tcp-relay', 'no-dtls', 'no-rfc5780']) t.true(conf.has(flag), `${fixture}: ${flag}`);
  }
});

test('behind NAT: external-ip maps public to internal; the internal address stays denied', async (t) => {
  const conf = parseTurnserverConf(fileAt(coturnComponent.plan(await loadFixture('public-nat'), { distribution: DEBIAN, init: 'systemd' }).files, TURNSERVER_CONF).content);
  t.is(single(conf, 'external-ip'), '203.0.113.7/10.0.0.5');
  t.false(conf.has('allowed-peer-ip'));
});

test('LAN-only: the server\'s own private address is the one allowed peer; loopback never is', async (t) => {
  const lan = parseTurnserverConf(fileAt(coturnComponent.plan(await loadFixture('own-cert'), { distribution: DEBIAN, init: 'systemd' }).files, TURNSERVER_CONF).content);
  t.deepEqual(lan.get('allowed-peer-ip'), ['192.168.1.20']);
  t.false(lan.has('external-ip'));
  const local = parseTurnserverConf(fileAt(coturnComponent.plan(await loadFixture('localhost'), { distribution: DEBIAN, init: 'systemd' }).files, TURNSERVER_CONF).content);
  t.false(local.has('allowed-peer-ip'));
});

test('the secret file is readable by coturn\'s group only', async (t) => {
  const conf = fileAt(coturnComponent.plan(await loadFixture('localhost'), { distribution: DEBIAN, init: 'systemd' }).files, TURNSERVER_CONF);
  t.is(conf.mode, 0o640);
  t.is(conf.owner, 'root:turnserver');
});
