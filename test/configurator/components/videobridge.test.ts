import test from 'ava';
import { JVB_CONF, JVB_ENV, videobridgeComponent } from '../../../src/configurator/components/videobridge/index.js';
import { fileAt, FIXTURES, loadFixture, parseHocon } from '../../helpers/generated-files.js';

for (const fixture of FIXTURES) {
  test(`${fixture}: jvb.conf is HOCON with the jvb login on loopback and the brewery`, async (t) => {
    const config = await loadFixture(fixture);
    const H = config.hostname;
    const conf = await parseHocon(fileAt(videobridgeComponent.plan(config, { init: 'systemd' }).files, JVB_CONF).content);
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
    t.deepEqual(conf.videobridge.websockets, { enabled: true, domain: `${H}:443`, tls: true, 'server-id': 'default-id' });
    t.deepEqual(conf.videobridge['http-servers'].public, { host: '127.0.0.1', port: 9090 });
    // LAN-only hosts must not wait for outside STUN servers or cloud metadata.
    t.deepEqual(conf.ice4j.harvest.mapping.stun.addresses, []);
    t.is(conf.ice4j.harvest.mapping.aws.enabled, false);
  });
}

test('behind NAT the bridge maps the internal address to the external one', async (t) => {
  const config = await loadFixture('public-nat');
  const conf = await parseHocon(fileAt(videobridgeComponent.plan(config, { init: 'systemd' }).files, JVB_CONF).content);
  t.deepEqual(conf.ice4j.harvest.mapping['static-mappings'], [
    { name: 'master-config-nat', 'local-address': '10.0.0.5', 'public-address': '203.0.113.7' },
  ]);
});

test('without NAT (same address inside and out) there is no static mapping', async (t) => {
  for (const fixture of ['localhost', 'own-cert', 'letsencrypt'] as const) {
    const conf = await parseHocon(fileAt(videobridgeComponent.plan(await loadFixture(fixture), { init: 'systemd' }).files, JVB_CONF).content);
    t.false('static-mappings' in conf.ice4j.harvest.mapping, fixture);
  }
});

test('the service environment carries the memory limit and points at jvb.conf', async (t) => {
  const files = videobridgeComponent.plan(await loadFixture('public-nat'), { init: 'systemd' }).files;
  const env = fileAt(files, JVB_ENV).content;
  t.regex(env, /^VIDEOBRIDGE_MAX_MEMORY=2g$/m);
  t.regex(env, /^JAVA_SYS_PROPS=".*-Dconfig\.file=\/etc\/jitsi\/videobridge\/jvb\.conf[ "]/m);
  const conf = fileAt(files, JVB_CONF);
  t.is(conf.mode, 0o600);
});
