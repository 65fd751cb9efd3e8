import test from 'ava';
import { boolean, defaultAt, fallbackOf, integer, list, object, oneOf, optional, parseYaml, SchemaError, schemaMarkdown, schemaRows, string, validate, withShorthand } from '../../src/lib/schema.js';

const recipeLike = object(
  {
    name: string({ doc: 'recipe name' }),
    suite: oneOf(['bookworm', 'trixie'], { doc: 'Debian release', default: 'bookworm' }),
    packages: list(string({ doc: 'package' }), { doc: 'packages', default: [] }),
    level: integer({ doc: 'compression level', min: 0, max: 9, default: 6 }),
    keep: boolean({ doc: 'keep', default: false }),
    note: optional(string({ doc: 'free text' })),
    nested: object({ deep: string({ doc: 'deep value', default: 'x' }) }, { doc: 'nested' }),
  },
  { doc: 'test' },
);

test('defaults fill absent keys, including whole default-only mappings', (t) => {
  const value = parseYaml(recipeLike, 'name: a\n', 'r.yaml');
  t.deepEqual(value, { name: 'a', suite: 'bookworm', packages: [], level: 6, keep: false, note: undefined, nested: { deep: 'x' } });
});

test('errors name file, line and key, all of them at once', (t) => {
  const text = ['name: a', 'suite: sid', 'packages:', '  - nginx', '  - 42', 'level: 12', 'colour: blue', 'nested:', '  deeep: 1', ''].join('\n');
  const error = t.throws(() => parseYaml(recipeLike, text, 'r.yaml'), { instanceOf: SchemaError });
  const lines = error!.message.split('\n');
  t.true(lines.includes('r.yaml:2: suite: expected one of bookworm, trixie, got string "sid"'), error!.message);
  t.true(lines.includes('r.yaml:5: packages[1]: expected string, got number 42'), error!.message);
  t.true(lines.includes('r.yaml:6: level: must be at most 9, got 12'), error!.message);
  t.true(lines.some((l) => l.startsWith('r.yaml:7: colour: unknown key')), error!.message);
  t.true(lines.some((l) => l.startsWith('r.yaml:9: nested.deeep: unknown key')), error!.message);
  t.is(lines.length, 5);
});

test('missing required key and YAML syntax errors are reported with a line', (t) => {
  const missing = t.throws(() => parseYaml(recipeLike, 'suite: trixie\n', 'r.yaml'));
  t.regex(missing!.message, /^r\.yaml: name: required key is missing/);
  const syntax = t.throws(() => parseYaml(recipeLike, 'name: a\n  bad: [\n', 'r.yaml'));
  t.regex(syntax!.message, /^r\.yaml:\d+: not valid YAML/);
});

test('validate works on in-memory values and docs rows come from the same table', (t) => {
  t.false(validate(recipeLike, { name: 1 }).ok);
  const rows = schemaRows(recipeLike);
  t.deepEqual(rows.map((r) => r.key), ['name', 'suite', 'packages', 'level', 'keep', 'note', 'nested', 'nested.deep']);
  t.is(rows.find((r) => r.key === 'level')!.default, '6');
});

test('names that Object.prototype carries are unknown keys like any other, at any depth', (t) => {
  for (const name of ['constructor', 'toString', 'hasOwnProperty', 'valueOf', '__proto__']) {
    const top = t.throws(() => parseYaml(recipeLike, `name: a\n${name}: 1\n`, 'r.yaml'), { instanceOf: SchemaError }, name);
    t.regex(top!.message, new RegExp(`^r\\.yaml:2: ${name}: unknown key`), name);
    const nested = t.throws(() => parseYaml(recipeLike, `name: a\nnested:\n  ${name}: x\n`, 'r.yaml'), { instanceOf: SchemaError }, name);
    t.regex(nested!.message, new RegExp(`^r\\.yaml:3: nested\\.${name}: unknown key`), name);
  }
});

test('a fallback is documented and left to the merger: parsing keeps an absent key absent', (t) => {
  const mirror = optional(string({ doc: 'mirror' }), { fallback: 'http://m' });
  const schema = object({ mirror }, { doc: 'x' });
  t.deepEqual(validate(schema, {}), { ok: true, value: { mirror: undefined } });
  t.is(fallbackOf(mirror), 'http://m');
  t.throws(() => fallbackOf(optional(string({ doc: 'none declared' }))), { message: /no fallback declared for: none declared/ });
  t.regex(schemaMarkdown(schema), /\| `mirror` \| string \| "http:\/\/m" \| mirror \|/);
});

test('defaultAt finds a nested default and refuses a key without one', (t) => {
  const schema = object({ convener: object({ username: string({ doc: 'user', default: 'admin' }), password: string({ doc: 'pw' }) }, { doc: 'c' }) }, { doc: 'x' });
  t.is(defaultAt(schema, 'convener.username'), 'admin');
  t.throws(() => defaultAt(schema, 'convener.password'), { message: /no default declared at convener\.password/ });
  t.throws(() => defaultAt(schema, 'nope.key'), { message: /no default declared at nope\.key/ });
});

test('withShorthand: a list item is a mapping or just its main key, errors of either form name the item and line', (t) => {
  const services = object(
    {
      'services-off': list(
        withShorthand(
          object(
            {
              service: string({ doc: 'service', check: (name) => (/^[a-z]+$/.test(name) ? undefined : `'${name}' is not a service name`) }),
              init: optional(oneOf(['systemd', 'openrc'], { doc: 'init' })),
            },
            { doc: 'one service' },
          ),
          'service',
        ),
        { doc: 'services', default: [] },
      ),
    },
    { doc: 'test' },
  );
  const value = parseYaml(services, 'services-off:\n  - nginx\n  - { service: coturn, init: systemd }\n', 's.yaml');
  t.deepEqual(value['services-off'], [
    { service: 'nginx', init: undefined },
    { service: 'coturn', init: 'systemd' },
  ]);
  const text = ['services-off:', '  - nginx', '  - "rm -rf"', '  - { service: "a b" }', '  - { init: openrc }', '  - 42', ''].join('\n');
  const lines = t.throws(() => parseYaml(services, text, 's.yaml'), { instanceOf: SchemaError })!.message.split('\n');
  t.deepEqual(lines, [
    "s.yaml:3: services-off[1]: 'rm -rf' is not a service name",
    "s.yaml:4: services-off[2].service: 'a b' is not a service name",
    's.yaml:5: services-off[3].service: required key is missing (string: service)',
    's.yaml:6: services-off[4]: expected string or mapping, got number 42',
  ]);
  t.is(schemaRows(services)[0]!.type, 'list of string or mapping');
});
