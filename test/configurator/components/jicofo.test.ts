import test from 'ava';
import { JICOFO_CONF, JICOFO_ENV, jicofoComponent } from '../../../src/configurator/components/jicofo/index.js';
import { fileAt, FIXTURES, loadFixture, parseHocon } from '../../helpers/generated-files.js';

for (const fixture of FIXTURES) {
  test(`${fixture}: jicofo.conf is HOCON with the focus login, brewery, proxy and secure domain`, async (t) => {
    const config = await loadFixture(fixture);
    const H = config.hostname;
    const files = jicofoComponent.plan(config, { init: 'systemd' }).files;
    const conf = await parseHocon(fileAt(files, JICOFO_CONF).content);
    t.deepEqual(conf.jicofo.xmpp.client, {
      hostname: '127.0.0.1',
      port: 5222,
      domain: `auth.${H}`,
      'xmpp-domain': H,
      username: 'focus',
      password: config.secrets.focus_password,
      'conference-muc-jid': `conference.${H}`,
      'client-proxy': `focus.${H}`,
      'use-tls': true,
      'disable-certificate-verification': true,
    });
    t.is(conf.jicofo.bridge['brewery-jid'], `JvbBrewery@internal.auth.${H}`);
    t.deepEqual(conf.jicofo.authentication, { enabled: true, type: 'XMPP', 'login-url': H });
    t.deepEqual(conf.jicofo.rest, { host: '127.0.0.1', port: 8888 });
  });
}

test('the service environment points jicofo at jicofo.conf; the password file is root-only', async (t) => {
  const files = jicofoComponent.plan(await loadFixture('public-nat'), { init: 'systemd' }).files;
  const env = fileAt(files, JICOFO_ENV).content;
  t.regex(env, /^JAVA_SYS_PROPS=".*-Dconfig\.file=\/etc\/jitsi\/jicofo\/jicofo\.conf[ "]/m);
  t.regex(env, /^JICOFO_HOSTNAME=meet\.example\.org$/m);
  t.false(env.includes('bmF0LWZvY3Vz'), 'no password in the environment file');
  const conf = fileAt(files, JICOFO_CONF);
  t.is(conf.mode, 0o600);
  t.is(conf.owner, 'root:root');
});
