import test from 'ava';
import { collectFiles, generateAll, GENERATORS } from '../../../src/configurator/components/index.js';
import type { Generator } from '../../../src/configurator/components/types.js';
import { FACT_VARIANTS, FIXTURES, loadFixture } from './support.js';

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

for (const fixture of FIXTURES) {
  for (const { label, facts } of FACT_VARIANTS) {
    test(`${fixture}, ${label}: every file, sorted, once (snapshot)`, async (t) => {
      const config = deepFreeze(await loadFixture(fixture));
      const files = generateAll(config, facts);
      const paths = files.map((file) => file.path);
      t.deepEqual(paths, [...paths].sort(), 'sorted by path');
      t.is(new Set(paths).size, paths.length, 'no path twice');
      t.true(paths.every((path) => path.startsWith('/')), 'absolute paths');
      t.snapshot(files);
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

test('the table registers each component once, each producing at least one file', async (t) => {
  const config = await loadFixture('localhost');
  const names = GENERATORS.map((generator) => generator.name);
  t.deepEqual([...names].sort(), ['coturn', 'hosts', 'jicofo', 'nginx', 'prosody', 'videobridge', 'web']);
  for (const generator of GENERATORS) t.true(generator.generate(config, { init: 'systemd' }).length > 0, generator.name);
});

test('two generators claiming one path is an error naming both', async (t) => {
  const config = await loadFixture('localhost');
  const first: Generator = { name: 'first', generate: () => [{ path: '/etc/same', content: 'a' }] };
  const second: Generator = { name: 'second', generate: () => [{ path: '/etc/same', content: 'b' }] };
  const error = t.throws(() => collectFiles([first, second], config, { init: 'systemd' }));
  t.is(error?.message, 'generators first and second both produce /etc/same');
  const relative: Generator = { name: 'rel', generate: () => [{ path: 'etc/x', content: '' }] };
  t.throws(() => collectFiles([relative], config, { init: 'systemd' }), { message: /relative path: etc\/x/ });
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
    const error = t.throws(() => generateAll(broken, { init: 'systemd' }));
    t.regex(error?.message ?? '', /^secrets\.turn_secret in the master config .*--rotate-secrets/);
  }
});

test('removal entries carry no content', async (t) => {
  const files = generateAll(await loadFixture('localhost'), { init: 'systemd' });
  const removed = files.filter((file) => file.remove);
  t.deepEqual(removed.map((file) => file.path), ['/etc/nginx/sites-enabled/default']);
  t.true(removed.every((file) => file.content === '' && !file.linkTo));
});
