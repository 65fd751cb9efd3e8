/**
 * `jitsi-meet-config --apt-hook`: what apt runs after every dpkg run (DPkg::Post-Invoke in
 * /etc/apt/apt.conf.d/80jitsi-meet-config). Jitsi's maintainer scripts rewrite parts of the
 * configuration on every upgrade (jicofo's client proxy and environment file, a prosody host
 * for the hostname debconf holds), and Debian's prosody, nginx and coturn may replace files
 * we own. When a master config exists and such a package changed, this re-applies it
 * (`--reapply`) and tells the admin in ONE line what happened and where the log is.
 *
 * It never fails apt and never waits: every outcome, a failure or another run holding the
 * lock included, is that one line and exit status 0. Nothing is said when there is nothing
 * to do (no master config, as during the image build, or no server package changed).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import { processRuns } from '../lib/process-exists.js';
import { PROGRAM } from './cli.js';
import type { ConfiguratorIo } from './configure.js';
// The log holds what the re-apply printed: no secrets, the apply step logs none.
import { MASTER_CONFIG_PATH, REAPPLY_LOG } from './paths.js';
import { recordDpkgLogPosition, serverPackageChanges } from './package-changes.js';
import { LOCK_PATH } from './run-lock.js';
import { pathInRoot } from './validators.js';

export interface AptHookContext {
  root: string;
  /** The master config path when not the default (tests). */
  config?: string;
  /** Runs the configurator with these arguments (the re-apply), printing to `io`. */
  runConfigurator(argv: readonly string[], io: ConfiguratorIo): Promise<number>;
}

async function lockOwner(root: string): Promise<number | undefined> {
  const owner = Number((await readFile(pathInRoot(root, LOCK_PATH), 'utf8').catch(() => '')).trim());
  return owner > 0 && owner !== process.pid && processRuns(owner) ? owner : undefined;
}

function finished(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.on('error', reject);
    stream.end(resolve);
  });
}

/** Runs the hook; the one line goes to `out`. Always resolves to 0. */
export async function runAptHook(context: AptHookContext, out: Writable): Promise<number> {
  const say = (line: string) => out.write(`${PROGRAM}: ${line}\n`);
  const retry = `run \`${PROGRAM} --reapply\``;
  try {
    const configPath = context.config ?? pathInRoot(context.root, MASTER_CONFIG_PATH);
    if (!(await stat(configPath).then(() => true, () => false))) return 0;
    const changes = await serverPackageChanges(context.root);
    if (changes.known && changes.packages.length === 0) {
      // Read less next time; nothing of ours was touched in between.
      await recordDpkgLogPosition(context.root, changes.position);
      return 0;
    }
    const what = changes.known ? `changes to ${changes.packages.join(', ')}` : 'package changes';
    const owner = await lockOwner(context.root);
    if (owner !== undefined) {
      say(`another ${PROGRAM} is running (PID ${owner}), so the configuration was not re-applied after ${what}; ${retry} once it has finished`);
      return 0;
    }

    const logPath = pathInRoot(context.root, REAPPLY_LOG);
    await mkdir(dirname(logPath), { recursive: true, mode: 0o755 });
    const log = createWriteStream(logPath, { flags: 'a', mode: 0o600 });
    log.write(`=== ${new Date().toISOString()}: re-applying after ${what}\n`);
    const captured: { stdout: string[]; stderr: string[] } = { stdout: [], stderr: [] };
    const capture = (into: string[]) => {
      const stream = new PassThrough();
      stream.on('data', (chunk: Buffer) => {
        log.write(chunk);
        into.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      });
      return stream;
    };
    const stdin = new PassThrough();
    stdin.end();
    const argv = ['--reapply', ...(context.root !== '/' ? ['--root', context.root] : []), ...(context.config ? ['--config', context.config] : [])];
    const code = await context.runConfigurator(argv, { stdin, stdout: capture(captured.stdout), stderr: capture(captured.stderr), stdinIsTerminal: false });
    await finished(log);
    const where = `log: ${REAPPLY_LOG}`;
    if (code === 0) {
      const summary = captured.stdout.find((line) => /^\d+ file\(s\) written/.test(line));
      say(`re-applied the configuration after ${what}${summary ? ` (${summary})` : ''}; ${where}`);
    } else {
      // The configurator's message, which may list problems on lines of their own, as one line.
      const message = captured.stderr
        .filter((line) => !line.startsWith(`${PROGRAM}: FAILED: `))
        .map((line) => line.replace(`${PROGRAM}: `, '').trim())
        .join(' ');
      const reason = message === '' ? `exit status ${code}` : message.length > 300 ? `${message.slice(0, 300)}...` : message;
      say(`FAILED to re-apply the configuration after ${what}: ${reason}; ${where}. Fix that, then ${retry}`);
    }
  } catch (error) {
    say(`could not re-apply the configuration after package changes (${(error as Error).message}); ${retry}`);
  }
  return 0;
}
