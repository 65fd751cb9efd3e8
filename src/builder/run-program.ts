/**
 * Running host programs from build stages: always through execa with an argument array,
 * tied to the build's abort signal (Ctrl-C/SIGTERM end the child, then SIGKILL after a grace
 * period), with output shown as progress lines in verbose mode and the tail of it kept for
 * the error message when the program fails.
 */
import { execa, type Options } from 'execa';
import { UserError } from '../lib/errors.js';
import { childEnvironment } from './program-args.js';
import type { BuildContext } from './stage.js';

/** Thrown when a build aborts because of SIGINT/SIGTERM; the CLI exits 130/143 on it. */
export class BuildInterrupted extends Error {
  override name = 'BuildInterrupted';
  constructor(readonly signalName: string) {
    super(`build interrupted by ${signalName}; nothing was written to the output directory`);
  }
}

/** A program the build ran failed: its name, exit status and last output lines, no stack. */
export class CommandFailed extends UserError {
  override name = 'CommandFailed';
}

const TAIL_LINES = 25;

export interface RunOptions {
  /** Show every output line as progress, not only in --verbose mode. */
  showOutput?: boolean;
  cwd?: string;
  input?: string;
  /** Name used in the error message (default: the program run). */
  displayName?: string;
  /** Called with the child's PID right after it started. */
  onSpawn?: (pid: number) => void;
  /** Variables added to the build's child environment. */
  env?: Record<string, string>;
}

/** Runs a program to completion; throws with the last lines of its output when it fails. */
export async function runLogged(ctx: BuildContext, file: string, args: string[], options: RunOptions = {}): Promise<string> {
  const tail: string[] = [];
  let pending = '';
  const collect = (chunk: Buffer | string) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      if (ctx.verbose || options.showOutput) ctx.log(line);
    }
  };
  const execaOptions: Options = {
    cancelSignal: ctx.signal,
    forceKillAfterDelay: 10_000,
    env: { ...childEnvironment(process.env, ctx.sourceDateEpoch), ...options.env },
    extendEnv: false,
    cwd: options.cwd,
    input: options.input,
    stdin: options.input === undefined ? 'ignore' : 'pipe',
    all: true,
    buffer: false,
    stripFinalNewline: false,
  };
  const child = execa(file, args, execaOptions);
  if (child.pid !== undefined) options.onSpawn?.(child.pid);
  let output = '';
  child.all?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 1_000_000) output = output.slice(-500_000);
    collect(chunk);
  });
  try {
    await child;
  } catch (error) {
    if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new BuildInterrupted('a signal');
    const shown = tail.length ? `; its last output:\n${tail.map((l) => `  | ${l}`).join('\n')}` : '';
    const { exitCode, signal, code } = error as { exitCode?: number; signal?: string; code?: string };
    const how = exitCode !== undefined ? `exit code ${exitCode}` : signal ? `killed by ${signal}` : code === 'ENOENT' ? 'not found' : (error as Error).message.split('\n')[0];
    throw new CommandFailed(`${options.displayName ?? file} failed (${how})${shown}`);
  }
  if (pending.trim()) collect('\n');
  return output;
}
