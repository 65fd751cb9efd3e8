/**
 * Shared by the configurator front-end tests: running the configurator
 * in-process (fast) or as a real process (stdin, exit codes), and key/cert pairs made with
 * openssl.
 */
import { execa } from 'execa';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runConfigurator } from '../../src/configurator/configure.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const MAIN = join(REPO, 'src/configurator/main.ts');
export const TSX = join(REPO, 'node_modules/.bin/tsx');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** runConfigurator with stdin from a string (then end of input). */
export async function runInProcess(argv: string[], stdinText = ''): Promise<RunResult> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk) => (out += chunk));
  stderr.on('data', (chunk) => (err += chunk));
  stdin.end(stdinText);
  const code = await runConfigurator(argv, { stdin, stdout, stderr, stdinIsTerminal: false });
  return { code, stdout: out, stderr: err };
}

/** The real entry point as a process (tsx), stdin piped. */
export async function runProcess(argv: string[], stdinText = ''): Promise<RunResult> {
  const result = await execa(TSX, [MAIN, ...argv], { input: stdinText, reject: false, cwd: REPO, env: { NODE_OPTIONS: '' }, stripFinalNewline: false });
  return { code: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** A self-signed EC certificate and its key under dir (`<name>.crt`, `<name>.key`). */
export async function makePair(dir: string, name: string, hostname = 'meet.example.org'): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await execa('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${hostname}`,
  ]);
  return { cert, key };
}
