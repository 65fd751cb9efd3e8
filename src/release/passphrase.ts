/**
 * Where a key passphrase comes from. Never from the command line: arguments show up in `ps`
 * and shell history. In order: a file (`--passphrase-file`), the environment variable named
 * below (for CI), or a prompt on the terminal without echo.
 */
import { readFile } from 'node:fs/promises';
import { UserError } from '../lib/errors.js';

export const PASSPHRASE_ENV = 'NSPAWN_JITSI_PASSPHRASE';
/** A file holding the passphrase, for callers without a --passphrase-file option (the build). */
export const PASSPHRASE_FILE_ENV = 'NSPAWN_JITSI_PASSPHRASE_FILE';

export interface PassphraseSource {
  file?: string;
  /** Never prompt (a caller whose terminal output belongs to something else). */
  noPrompt?: boolean;
  env?: NodeJS.ProcessEnv;
  input?: NodeJS.ReadStream;
  output?: NodeJS.WritableStream;
}

export async function readPassphrase(source: PassphraseSource, purpose: { prompt: string; confirm?: boolean }): Promise<string> {
  const env = source.env ?? process.env;
  if (!source.file && env[PASSPHRASE_FILE_ENV]) source = { ...source, file: env[PASSPHRASE_FILE_ENV] };
  if (source.file) {
    const text = await readFile(source.file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new UserError(`${source.file}: cannot read the passphrase file (${error.code ?? error.message})`);
    });
    // Only the line break an editor or `echo` adds is dropped; other whitespace is part of it.
    const passphrase = text.replace(/\r?\n$/, '');
    if (passphrase.includes('\n')) throw new UserError(`${source.file}: the passphrase file must hold one line`);
    return passphrase;
  }
  const fromEnv = env[PASSPHRASE_ENV];
  if (fromEnv !== undefined) return fromEnv;
  const input = source.input ?? process.stdin;
  const output = source.output ?? process.stderr;
  if (source.noPrompt) {
    throw new UserError(`no passphrase for the signing key: set ${PASSPHRASE_ENV}, or ${PASSPHRASE_FILE_ENV} to a file holding it`);
  }
  if (!input.isTTY) {
    throw new UserError(`no passphrase: pass --passphrase-file FILE, set ${PASSPHRASE_ENV} (or ${PASSPHRASE_FILE_ENV}), or run on a terminal to be asked`);
  }
  const first = await promptHidden(`${purpose.prompt}: `, input, output);
  if (purpose.confirm) {
    const second = await promptHidden('Repeat it: ', input, output);
    if (first !== second) throw new UserError('the two passphrases differ; nothing was written');
  }
  return first;
}

/** Reads one line in raw mode so the terminal never shows what is typed. */
function promptHidden(prompt: string, input: NodeJS.ReadStream, output: NodeJS.WritableStream): Promise<string> {
  output.write(prompt);
  return new Promise((resolve, reject) => {
    let typed = '';
    const finish = (error?: Error) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003') return finish(new UserError('interrupted; nothing was written', 130));
        if (char === '\u0004' && typed === '') return finish(new UserError('no passphrase given'));
        if (char === '\u007f' || char === '\b') typed = [...typed].slice(0, -1).join('');
        else typed += char;
      }
    };
    input.setRawMode(true);
    input.resume();
    input.on('data', onData);
  });
}
