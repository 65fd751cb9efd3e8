#!/usr/bin/env node
/**
 * `nspawn-jitsi`: the maintainer's tool. Dispatches to one subcommand per file under
 * src/cli/commands/, turns UsageError into exit 2 and UserError into a plain message.
 */
import { commands } from './commands/index.js';
import { helpText, parseArgs, UsageError, UserError } from './options.js';
import { systemErrorAsUserError } from '../lib/errors.js';

const PROGRAM = 'nspawn-jitsi';

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    `Usage: ${PROGRAM} <command> [options]`,
    '',
    'Builds, signs, verifies and inspects systemd-nspawn root filesystems holding a Jitsi Meet server.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    `Run '${PROGRAM} <command> --help' for the options of a command.`,
    '',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(overview());
    return name ? 0 : 2;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`${PROGRAM}: unknown command '${name}'\n\n${overview()}`);
    return 2;
  }
  const dashDash = rest.indexOf('--');
  const ownWords = dashDash === -1 ? rest : rest.slice(0, dashDash);
  if (ownWords.includes('--help') || ownWords.includes('-h')) {
    process.stdout.write(helpText(PROGRAM, command));
    return 0;
  }
  try {
    return await command.run(parseArgs(command, rest));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${PROGRAM} ${command.name}: ${error.message}\nRun '${PROGRAM} ${command.name} --help' for usage.\n`);
      return 2;
    }
    const userError = error instanceof UserError ? error : systemErrorAsUserError(error);
    if (userError) {
      process.stderr.write(`${PROGRAM} ${command.name}: ${userError.message}\n`);
      return userError.exitCode;
    }
    throw error;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${PROGRAM}: unexpected failure: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
