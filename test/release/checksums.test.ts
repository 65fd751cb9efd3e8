import test from 'ava';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatSums, parseSums, sha256File } from '../../src/release/checksums.js';
import { scratchDir } from '../helpers/scratch.js';

test('sha256File agrees with an in-memory hash over several read chunks', async (t) => {
  const dir = await scratchDir('sums-');
  const data = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
  data.write('start');
  await writeFile(join(dir, 'f'), data);
  t.is(await sha256File(join(dir, 'f')), createHash('sha256').update(data).digest('hex'));
});

test('formatSums writes sorted binary-mode lines that parseSums reads back', (t) => {
  const a = 'a'.repeat(64);
  const b = 'b'.repeat(64);
  const text = formatSums([
    { name: 'z.nspawn', sha256: a },
    { name: 'a.tar.xz', sha256: b },
  ]);
  t.is(text, `${b} *a.tar.xz\n${a} *z.nspawn\n`);
  t.deepEqual(parseSums(text), { entries: [{ name: 'a.tar.xz', sha256: b }, { name: 'z.nspawn', sha256: a }], problems: [] });
});

test('parseSums accepts text-mode lines and reports bad ones by line number', (t) => {
  const good = 'C'.repeat(64);
  const { entries, problems } = parseSums(`${good}  x.tar\nnot a line\n${good} *../etc/passwd\n${good} *x.tar\n${'1'.repeat(63)} *short\n`);
  t.deepEqual(entries, [{ name: 'x.tar', sha256: 'c'.repeat(64) }]);
  t.deepEqual(
    problems.map((p) => p.line),
    [2, 3, 4, 5],
  );
  t.regex(problems[1].message, /not a plain file name/);
  t.regex(problems[2].message, /listed twice/);
});
