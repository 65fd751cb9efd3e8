/** Shared by the release integration tests: run our CLI for real, and throwaway GnuPG homes. */
import { rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type Options } from 'execa';
import { scratchDir } from './scratch.js';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `nspawn-jitsi ARGS` as a user runs it (a separate process, real exit code and output). */
export function cli(args: string[], options: Options = {}) {
  return execa('node', ['--import=tsx', join(PROJECT_ROOT, 'src/cli/main.ts'), ...args], { cwd: PROJECT_ROOT, reject: false, stdin: 'ignore', ...options });
}

/** A GnuPG home of its own, so nothing touches the machine's keyrings. */
export async function gnupgHome(): Promise<{ gpg: (args: string[], options?: Options) => ReturnType<typeof execa>; home: string; dispose(): Promise<void> }> {
  const home = await scratchDir('gnupg-test-');
  const env = { GNUPGHOME: home };
  return {
    home,
    gpg: (args, options = {}) => execa('gpg', ['--batch', '--no-tty', ...args], { env, reject: false, ...options }),
    async dispose() {
      // gpg started an agent for this home; stop it (by its socket, i.e. only ours) before removing the home.
      await execa('gpgconf', ['--kill', 'all'], { env, reject: false });
      await rm(home, { recursive: true, force: true });
    },
  };
}
