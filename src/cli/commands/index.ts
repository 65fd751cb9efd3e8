/**
 * Every subcommand of `nspawn-jitsi`, in the order `--help` lists them. Each lives in its own
 * file and exports one CommandSpec: its option table is its parser and its help.
 */
import type { CommandSpec } from '../options.js';
import { buildCommand } from './build.js';
import { inspectCommand } from './inspect.js';
import { keygenCommand } from './keygen.js';
import { runCommand } from './run.js';
import { signCommand } from './sign.js';
import { verifyCommand } from './verify.js';

export const commands: CommandSpec[] = [
  // one entry per command file, e.g. build, run, keygen, sign, verify, inspect
  buildCommand,
  runCommand,
  keygenCommand,
  signCommand,
  verifyCommand,
  inspectCommand,
];
