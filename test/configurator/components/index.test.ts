import test from 'ava';
import { COMPONENTS, generateAll, planServer } from '../../../src/configurator/components/index.js';
import type { Component, GeneratedFile, PlannedService } from '../../../src/configurator/components/types.js';
import { FACT_VARIANTS, FIXTURES, loadFixture, PLUGINS_DIR } from '../../helpers/generated-files.js';
import { DEBIAN } from '../../../src/configurator/distribution.js';

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

for (const fixture of FIXTURES) {
  for (const [index, { label, facts }] of FACT_VARIANTS.entries()) {
    // One snapshot per fixture (the variant with Jitsi's plugins, which writes the most): the
    // tests of each component say what the files mean; the snapshot shows a change at a glance.
    const snapshotted = index === FACT_VARIANTS.length - 1;
    test(`${fixture}, ${label}: every file, sorted, once${snapshotted ? ' (snapshot)' : ''}`, async (t) => {
      const config = deepFreeze(await loadFixture(fixture));
      const files = generateAll(config, facts);
      const paths = files.map((file) => file.path);
      t.deepEqual(paths, [...paths].sort(), 'sorted by path');
      t.is(new Set(paths).size, paths.length, 'no path twice');
      t.true(paths.every((path) => path.startsWith('/')), 'absolute paths');
      if (snapshotted) t.snapshot(files);
    });
  }
}

test('pure: the same input gives the same bytes, and the config is not modified', async (t) => {
  const config = await loadFixture('public-nat');
  const before = structuredClone(config);
  const first = JSON.stringify(generateAll(config, FACT_VARIANTS[1]!.facts));
  const second = JSON.stringify(generateAll(structuredClone(config), { ...FACT_VARIANTS[1]!.facts }));
  t.is(first, second);
  t.deepEqual(config, before);
});

test('the list registers each component once, each producing at least one file', async (t) => {
  const config = await loadFixture('localhost');
  const names = COMPONENTS.map((component) => component.name);
  t.deepEqual([...names].sort(), ['coturn', 'hosts', 'jicofo', 'nginx', 'prosody', 'tls', 'videobridge', 'web']);
  for (const component of COMPONENTS) t.true(component.plan(config, { distribution: DEBIAN, init: 'systemd' }).files.length > 0, component.name);
});

const only = (name: string, files: GeneratedFile[], services: PlannedService[] = []): Component => ({
  name,
  packages: [],
  plan: () => ({ files, services }),
});

test('two components claiming one path or one service is an error naming both', async (t) => {
  const config = await loadFixture('localhost');
  const first = only('first', [{ path: '/etc/same', content: 'a' }]);
  const second = only('second', [{ path: '/etc/same', content: 'b' }]);
  const error = t.throws(() => planServer(config, { distribution: DEBIAN, init: 'systemd' }, [first, second]));
  t.is(error?.message, 'components first and second both produce /etc/same');
  const relative = only('rel', [{ path: 'etc/x', content: '' }]);
  t.throws(() => planServer(config, { distribution: DEBIAN, init: 'systemd' }, [relative]), { message: /relative path: etc\/x/ });
  const service = [{ name: 'same', reads: [] }];
  const twice = t.throws(() => planServer(config, { distribution: DEBIAN, init: 'systemd' }, [only('a', [], service), only('b', [], service)]));
  t.is(twice?.message, 'components a and b both run service same');
});

test('the plan carries each component\'s services, accounts, directories and key readers', async (t) => {
  const config = await loadFixture('public-nat');
  const plan = planServer(config, { distribution: DEBIAN, init: 'systemd' });
  t.deepEqual(plan.services.map((service) => service.name), ['prosody', 'jicofo', 'jitsi-videobridge2', 'nginx', 'coturn']);
  t.deepEqual(plan.accounts.map((account) => `${account.username}@${account.host}`).sort(), [
    `${config.convener.username}@${config.hostname}`,
    `focus@auth.${config.hostname}`,
    `jvb@auth.${config.hostname}`,
  ].sort());
  t.deepEqual(plan.accountStore, { config: '/etc/prosody/prosody.cfg.lua', dataDir: '/var/lib/prosody' });
  t.deepEqual(plan.directories.map((directory) => directory.path).sort(), [
    '/etc/jitsi/jicofo',
    '/etc/jitsi/videobridge',
    '/var/lib/jitsi-meet-config/acme',
    '/var/log/turnserver',
  ]);
  t.deepEqual(plan.keyReaders, ['prosody', 'turnserver']);
  t.deepEqual(plan.rosterSubscriptions, [], "no roster subscription without Jitsi's plugins (mod_roster_command)");
  t.deepEqual(plan.kernelSettings.map((setting) => setting.name), ['net.core.rmem_max', 'net.core.netdev_max_backlog']);
  const withPlugins = planServer(config, FACT_VARIANTS[1]!.facts);
  t.deepEqual(withPlugins.rosterSubscriptions, [
    { account: `focus@auth.${config.hostname}`, contact: `focus.${config.hostname}`, rosterCommandModule: `${PLUGINS_DIR}/mod_roster_command.lua` },
  ]);
});

test('files holding a secret are never world-readable and say who reads them', async (t) => {
  for (const fixture of FIXTURES) {
    const config = await loadFixture(fixture);
    const secrets = Object.values(config.secrets);
    for (const file of generateAll(config, FACT_VARIANTS[1]!.facts)) {
      const holds = secrets.filter((value) => file.content.includes(value));
      if (holds.length === 0) continue;
      t.truthy(file.mode, `${file.path} has an explicit mode`);
      t.is((file.mode ?? 0o644) & 0o007, 0, `${file.path} (mode ${file.mode?.toString(8)}) is not world-readable`);
      t.truthy(file.owner, `${file.path} has an explicit owner`);
    }
    // The convener's password belongs to the prosody account only, never to a file.
    t.false(
      generateAll(config, FACT_VARIANTS[1]!.facts).some((file) => file.content.includes(config.convener.password)),
      `${fixture}: convener password in no file`,
    );
  }
});

test('a secret that a config format could misread is refused, naming its key', async (t) => {
  const config = await loadFixture('localhost');
  for (const bad of ['has space in it 12345', 'quote"inside-0123456789', 'short', 'dollar${x}-0123456789']) {
    const broken = { ...config, secrets: { ...config.secrets, turn_secret: bad } };
    const error = t.throws(() => generateAll(broken, { distribution: DEBIAN, init: 'systemd' }));
    t.regex(error?.message ?? '', /^secrets\.turn_secret in the master config .*--rotate-secrets/);
  }
});

test('removal entries carry no content', async (t) => {
  const files = generateAll(await loadFixture('localhost'), { distribution: DEBIAN, init: 'systemd' });
  const removed = files.filter((file) => file.remove);
  // Outside Let's Encrypt mode, the certbot deploy hook goes too.
  t.deepEqual(removed.map((file) => file.path), ['/etc/letsencrypt/renewal-hooks/deploy/jitsi-meet-server', '/etc/nginx/sites-enabled/default']);
  t.true(removed.every((file) => file.content === '' && !file.linkTo));
});
