/**
 * `tsx record-exit.ts STATUS_FILE COMMAND [ARG...]`: runs COMMAND on the inherited terminal
 * and writes its exit status to STATUS_FILE. The terminal test reads the status from there:
 * tmux sometimes leaves an exited pane process unreaped (a zombie) for a long time, and then
 * never reports `pane_dead_status`.
 */
import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import { constants } from 'node:os';

const [statusFile, command, ...args] = process.argv.slice(2);
const result = await execa(command, args, { stdio: 'inherit', reject: false });
const signalNumber = result.signal ? constants.signals[result.signal as keyof typeof constants.signals] : undefined;
const status = result.exitCode ?? (signalNumber === undefined ? 1 : 128 + signalNumber);
writeFileSync(statusFile, `${status}\n`);
process.exitCode = status;
