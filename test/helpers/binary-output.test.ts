import test from 'ava';
import { binaryOutput } from './binary-output.js';

test('a final newline byte is kept: it is data, not line ending', async (t) => {
  // printf writes exactly these three bytes; the last one is 0x0a.
  t.deepEqual([...await binaryOutput('printf', ['\\001\\002\\n'])], [1, 2, 10]);
});

test('bytes pass unchanged, including NUL and high bytes', async (t) => {
  t.deepEqual([...await binaryOutput('printf', ['\\000\\377\\n\\n'])], [0, 255, 10, 10]);
});
