import test from 'ava';
import { hoconDocument } from '../../../src/configurator/components/hocon.js';
import { parseHocon } from '../../helpers/generated-files.js';

test('a written document parses back to the same data, awkward strings and keys included', async (t) => {
  const data = {
    top: {
      plain: 'value',
      quoted: 'with "quotes", back\\slash, ${not.a.substitution} and # no comment',
      'dotted.key': 'kept as one key',
      number: 5222,
      flag: false,
      list: ['a', 'b'],
      empty: [],
      nested: { deeper: { x: 'y' } },
      objects: [{ 'local-address': '10.0.0.5', n: 1 }],
    },
  };
  const text = hoconDocument(['comment line', ''], data);
  t.true(text.startsWith('# comment line\n#\n'));
  t.deepEqual(await parseHocon(text), data);
});

test('non-finite numbers are refused rather than written', (t) => {
  t.throws(() => hoconDocument([], { a: { n: Number.NaN } }), { message: /NaN/ });
});
