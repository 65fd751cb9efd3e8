/**
 * Entry point of `/usr/sbin/jitsi-meet-config` (bundled into one file for the image's
 * Node.js 18) and of `tsx src/configurator/main.ts` in tests. Everything else lives in
 * configure.ts so tests can also run it in-process.
 */
import { runConfigurator } from './configure.js';

runConfigurator(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  stdinIsTerminal: Boolean(process.stdin.isTTY),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`jitsi-meet-config: unexpected failure: ${(error as Error)?.stack ?? String(error)}\n`);
    // The last line says how it ended, as on every other path (see finalLine in configure.ts).
    process.stderr.write('jitsi-meet-config: FAILED: unexpected error (a bug: please report it with the lines above).\n');
    process.exitCode = 1;
  },
);
