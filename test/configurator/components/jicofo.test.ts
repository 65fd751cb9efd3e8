import test from 'ava';
import { execa } from 'execa';
import { JICOFO_CONF, JICOFO_ENV, jicofoComponent } from '../../../src/configurator/components/jicofo/index.js';
import { fileAt, FIXTURES, loadFixture, parseHocon, unknownHoconKeys } from '../../helpers/generated-files.js';
import { JICOFO_REFERENCE_KEYS } from '../../fixtures/jitsi-reference-keys.js';
import { DEBIAN } from '../../../src/configurator/distribution.js';

for (const fixture of FIXTURES) {
  test(`${fixture}: jicofo.conf is HOCON with the focus login, brewery, proxy and secure domain`, async (t) => {
    const config = await loadFixture(fixture);
    const H = config.hostname;
    const files = jicofoComponent.plan(config, { distribution: DEBIAN, init: 'systemd' }).files;
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

test('the service environment points jicofo at jicofo.conf, limits its heap and is kept by the package', async (t) => {
  const config = await loadFixture('public-nat');
  const files = jicofoComponent.plan(config, { distribution: DEBIAN, init: 'systemd' }).files;
  const env = fileAt(files, JICOFO_ENV).content;
  t.regex(env, /^JAVA_SYS_PROPS=".*-Dconfig\.file=\/etc\/jitsi\/jicofo\/jicofo\.conf[ "]/m);
  t.regex(env, /^JICOFO_MAX_MEMORY=2g$/m, 'the master config bounds the heap (the launcher would take 3 GiB)');
  // What jicofo's postinst checks before it keeps the file instead of writing its own.
  // The postinst sources the file with the shell; so does this (eval of the whole text is the same).
  const sourced = await execa('sh', ['-c', 'eval "$(cat)"; printf "%s\\n" "$JICOFO_HOSTNAME" "$JICOFO_AUTH_DOMAIN" "$JICOFO_AUTH_USER" "$JICOFO_AUTH_PASSWORD"'], { input: env });
  t.deepEqual(sourced.stdout.split('\n'), ['meet.example.org', 'auth.meet.example.org', 'focus', config.secrets.focus_password]);
});

test('jicofo.conf and the environment (both hold the focus password) are jicofo:jitsi 0640, the directory 0750', async (t) => {
  const plan = jicofoComponent.plan(await loadFixture('public-nat'), { distribution: DEBIAN, init: 'systemd' });
  for (const path of [JICOFO_CONF, JICOFO_ENV]) t.like(fileAt(plan.files, path), { owner: 'jicofo:jitsi', mode: 0o640 }, path);
  t.deepEqual(plan.directories, [{ path: '/etc/jitsi/jicofo', owner: 'jicofo:jitsi', mode: 0o750 }]);
  // A changed roster (focus subscribed to focus.<H>) needs a new jicofo session.
  t.true(plan.services?.[0]?.reads.includes('roster:focus@auth.meet.example.org'));
  t.is(plan.services?.[0]?.program, '/usr/share/jicofo/jicofo.sh');
});

test("every key of jicofo.conf is one of jicofo's (upstream's reference.conf)", async (t) => {
  for (const fixture of FIXTURES) {
    const conf = await parseHocon(fileAt(jicofoComponent.plan(await loadFixture(fixture), { distribution: DEBIAN, init: 'systemd' }).files, JICOFO_CONF).content);
    t.deepEqual(unknownHoconKeys(conf, JICOFO_REFERENCE_KEYS), [], fixture);
  }
  // The check itself: a misspelt key is found.
  t.deepEqual(unknownHoconKeys({ jicofo: { xmpp: { client: { 'client-proxi': 'x', hostname: 'y' } } } }, JICOFO_REFERENCE_KEYS), ['jicofo.xmpp.client.client-proxi']);
});
