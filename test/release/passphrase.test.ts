import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { UserError } from '../../src/lib/errors.js';
import { PASSPHRASE_ENV, PASSPHRASE_FILE_ENV, readPassphrase } from '../../src/release/passphrase.js';
import { scratchDir } from '../helpers/scratch.js';

const PROMPT = { prompt: 'Passphrase' };

/** A stand-in terminal: records raw mode and what was written, feeds typed keys. */
function terminal(keys: string[]) {
  const input = new PassThrough() as PassThrough & { isTTY: boolean; setRawMode(on: boolean): void; raw: boolean[] };
  input.isTTY = true;
  input.raw = [];
  input.setRawMode = (on: boolean) => void input.raw.push(on);
  const output = new PassThrough();
  let shown = '';
  output.on('data', (chunk) => (shown += chunk));
  // Each answer is typed once the previous prompt is on screen.
  let next = 0;
  output.on('data', (chunk: Buffer) => {
    if (!chunk.toString().endsWith(': ') || next >= keys.length) return;
    const typed = keys[next++];
    setImmediate(() => input.write(typed));
  });
  return { input: input as unknown as NodeJS.ReadStream, output, shown: () => shown, raw: input.raw };
}

test('a passphrase file gives its first line, without the line break', async (t) => {
  const dir = await scratchDir('pass-');
  await writeFile(join(dir, 'p'), ' spaced passphrase \n');
  t.is(await readPassphrase({ file: join(dir, 'p'), env: {} }, PROMPT), ' spaced passphrase ');
  await writeFile(join(dir, 'two'), 'a\nb\n');
  await t.throwsAsync(readPassphrase({ file: join(dir, 'two'), env: {} }, PROMPT), { message: /must hold one line/ });
  await t.throwsAsync(readPassphrase({ file: join(dir, 'none'), env: {} }, PROMPT), { instanceOf: UserError, message: /none: cannot read the passphrase file \(ENOENT\)/ });
  t.is(await readPassphrase({ env: { [PASSPHRASE_FILE_ENV]: join(dir, 'p') } }, PROMPT), ' spaced passphrase ');
});

test('the environment variable is used when there is no file; the file wins over it', async (t) => {
  t.is(await readPassphrase({ env: { [PASSPHRASE_ENV]: 'from env' } }, PROMPT), 'from env');
  const dir = await scratchDir('pass-');
  await writeFile(join(dir, 'p'), 'from file\n');
  t.is(await readPassphrase({ file: join(dir, 'p'), env: { [PASSPHRASE_ENV]: 'from env' } }, PROMPT), 'from file');
});

test('without a terminal or a source it says how to give one; noPrompt never asks', async (t) => {
  const notTty = new PassThrough() as unknown as NodeJS.ReadStream;
  await t.throwsAsync(readPassphrase({ env: {}, input: notTty }, PROMPT), { message: /no passphrase: pass --passphrase-file FILE, set NSPAWN_JITSI_PASSPHRASE/ });
  const tty = terminal(['typed\r']);
  await t.throwsAsync(readPassphrase({ env: {}, input: tty.input, output: tty.output, noPrompt: true }, PROMPT), { message: /no passphrase for the signing key/ });
  t.is(tty.shown(), '');
});

test('the prompt reads in raw mode, shows nothing typed, handles backspace, confirms', async (t) => {
  const tty = terminal(['secreX\u007ft\r', 'secret\r']);
  const passphrase = await readPassphrase({ env: {}, input: tty.input, output: tty.output }, { prompt: 'New passphrase', confirm: true });
  t.is(passphrase, 'secret');
  t.is(tty.shown(), 'New passphrase: \nRepeat it: \n');
  t.deepEqual(tty.raw, [true, false, true, false]);
  const mismatch = terminal(['one\r', 'two\r']);
  await t.throwsAsync(readPassphrase({ env: {}, input: mismatch.input, output: mismatch.output }, { prompt: 'P', confirm: true }), { message: /the two passphrases differ/ });
});
