import test from 'ava';
import { JVB_CONF, JVB_ENV, JVB_KERNEL_SETTINGS, videobridgeComponent } from '../../../src/configurator/components/videobridge/index.js';
import type { MasterConfig } from '../../../src/configurator/master-config.js';
import { fileAt, FIXTURES, loadFixture, parseHocon, unknownHoconKeys } from '../../helpers/generated-files.js';
import { VIDEOBRIDGE_REFERENCE_KEYS } from '../../fixtures/jitsi-reference-keys.js';
import { DEBIAN } from '../../../src/configurator/distribution.js';

for (const fixture of FIXTURES) {
  test(`${fixture}: jvb.conf is HOCON with the jvb login on loopback and the brewery`, async (t) => {
    const config = await loadFixture(fixture);
    const H = config.hostname;
    const conf = await parseHocon(fileAt(videobridgeComponent.plan(config, { distribution: DEBIAN, init: 'systemd' }).files, JVB_CONF).content);
    const shards = conf.videobridge.apis['xmpp-client'].configs;
    t.deepEqual(Object.keys(shards), ['shard']);
    t.like(shards.shard, {
      HOSTNAME: '127.0.0.1',
      PORT: '5222',
      DOMAIN: `auth.${H}`,
      USERNAME: 'jvb',
      PASSWORD: config.secrets.jvb_password,
      MUC_JIDS: `JvbBrewery@internal.auth.${H}`,
      DISABLE_CERTIFICATE_VERIFICATION: true,
    });
    t.truthy(shards.shard.MUC_NICKNAME);
    t.is(conf.videobridge.ice.udp.port, 10000);
    t.deepEqual(conf.videobridge.websockets, { enabled: true, domains: [`${H}:443`], tls: true, 'server-id': 'default-id' });
    t.deepEqual(conf.videobridge['http-servers'].public, { host: '127.0.0.1', port: 9090 });
    // LAN-only hosts must not wait for outside STUN servers or cloud metadata.
    t.deepEqual(conf.ice4j.harvest.mapping.stun.addresses, []);
    t.is(conf.ice4j.harvest.mapping.aws.enabled, false);
  });
}

test('behind NAT the bridge maps the internal address to the external one', async (t) => {
  const config = await loadFixture('public-nat');
  const conf = await parseHocon(fileAt(videobridgeComponent.plan(config, { distribution: DEBIAN, init: 'systemd' }).files, JVB_CONF).content);
  t.deepEqual(conf.ice4j.harvest.mapping['static-mappings'], [
    { name: 'master-config-nat', 'local-address': '10.0.0.5', 'public-address': '203.0.113.7' },
  ]);
});

test('without NAT (same address inside and out) there is no static mapping', async (t) => {
  for (const fixture of ['localhost', 'own-cert', 'letsencrypt'] as const) {
    const conf = await parseHocon(fileAt(videobridgeComponent.plan(await loadFixture(fixture), { distribution: DEBIAN, init: 'systemd' }).files, JVB_CONF).content);
    t.false('static-mappings' in conf.ice4j.harvest.mapping, fixture);
  }
});

test('the service environment carries the memory limit, points at jvb.conf and is kept by the package (JVB_HOSTNAME, JVB_SECRET)', async (t) => {
  const config = await loadFixture('public-nat');
  const files = videobridgeComponent.plan(config, { distribution: DEBIAN, init: 'systemd' }).files;
  const env = fileAt(files, JVB_ENV).content;
  t.regex(env, /^VIDEOBRIDGE_MAX_MEMORY=2g$/m);
  t.regex(env, /^JAVA_SYS_PROPS=".*-Dconfig\.file=\/etc\/jitsi\/videobridge\/jvb\.conf[ "]/m);
  // jitsi-videobridge2's postinst keeps a config that defines both.
  t.regex(env, /^JVB_HOSTNAME=meet\.example\.org$/m);
  t.true(env.split('\n').includes(`JVB_SECRET=${config.secrets.jvb_password}`));
  t.notRegex(env, /--apis=[^"]*rest/i, 'no --apis=rest, which the postinst would move into jvb.conf');
});

test('jvb.conf and the environment are readable by the bridge (jvb:jitsi 0640), its directory 0750', (t) => {
  return loadFixture('public-nat').then((config) => {
    const plan = videobridgeComponent.plan(config, { distribution: DEBIAN, init: 'systemd' });
    for (const path of [JVB_CONF, JVB_ENV]) t.like(fileAt(plan.files, path), { owner: 'jvb:jitsi', mode: 0o640 }, path);
    t.deepEqual(plan.directories, [{ path: '/etc/jitsi/videobridge', owner: 'jvb:jitsi', mode: 0o750 }]);
    t.is(plan.services?.[0]?.program, '/usr/share/jitsi-videobridge/jvb.sh');
  });
});

async function requireValidAddress(config: MasterConfig): Promise<unknown> {
  const conf = await parseHocon(fileAt(videobridgeComponent.plan(config, { distribution: DEBIAN, init: 'systemd' }).files, JVB_CONF).content);
  return conf.videobridge.health['require-valid-address'];
}

test('the health check asks for a valid (public) address only when the server has one', async (t) => {
  // LAN-only (private address), localhost: the bridge has no public address and would report itself unhealthy.
  t.is(await requireValidAddress(await loadFixture('lan-live')), false, 'LAN-only');
  t.is(await requireValidAddress(await loadFixture('own-cert')), false, 'private address');
  t.is(await requireValidAddress(await loadFixture('localhost')), false, 'localhost');
  // Public external address, with or without NAT.
  t.is(await requireValidAddress(await loadFixture('public-nat')), true, 'public behind NAT');
  t.is(await requireValidAddress(await loadFixture('letsencrypt')), true, 'public IPv6');
  const lanHostnamePublicIp = { ...(await loadFixture('public-nat')), hostname: 'localhost' };
  t.is(await requireValidAddress(lanHostnamePublicIp), false, 'a localhost server is never public');
});

test("the bridge asks for upstream's UDP buffer settings, to be checked on the host", (t) => {
  return loadFixture('lan-live').then((config) => {
    const wanted = videobridgeComponent.plan(config, { distribution: DEBIAN, init: 'systemd' }).kernelSettings ?? [];
    t.deepEqual(
      wanted.map(({ name, minimum }) => [name, minimum]),
      [
        ['net.core.rmem_max', 10485760],
        ['net.core.netdev_max_backlog', 100000],
      ],
    );
    t.is(wanted.length, JVB_KERNEL_SETTINGS.length);
  });
});

test("every key of jvb.conf is one of the bridge's (upstream's reference.conf, ice4j's and jicoco's)", async (t) => {
  for (const fixture of FIXTURES) {
    const conf = await parseHocon(fileAt(videobridgeComponent.plan(await loadFixture(fixture), { distribution: DEBIAN, init: 'systemd' }).files, JVB_CONF).content);
    t.deepEqual(unknownHoconKeys(conf, VIDEOBRIDGE_REFERENCE_KEYS), [], fixture);
  }
  // The bridge's XMPP connections are free-form; a key beside them is not.
  t.deepEqual(unknownHoconKeys({ videobridge: { apis: { 'xmpp-client': { configs: { any: { X: 1 } } } }, websockets: { domain: 'x' } } }, VIDEOBRIDGE_REFERENCE_KEYS), [
    'videobridge.websockets.domain',
  ]);
});
