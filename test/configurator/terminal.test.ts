/**
 * The configurator in a real terminal: tmux gives it a pty (stdin is a TTY, so the terminal
 * echoes and we do not), we type answers with send-keys, wrong ones first, and read the
 * screen with capture-pane. Each test runs its own tmux server on a socket in its own
 * temporary directory and kills that server, never anyone else's sessions.
 */
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readMasterConfig } from '../../src/configurator/config-file.js';
import { MASTER_CONFIG_PATH } from '../../src/configurator/paths.js';
import { MAIN, REPO, TSX } from '../helpers/configurator-process.js';
import { scratchDir } from '../helpers/scratch.js';

const RECORD_EXIT = join(REPO, 'test/helpers/record-exit.ts');

interface Terminal {
  /** Wait until the screen matches, then return it. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Type a line and press Enter. */
  type(line: string): Promise<void>;
  keys(...keys: string[]): Promise<void>;
  /** Exit status once the program has ended (recorded by record-exit.ts). */
  exitStatus(timeoutMs?: number): Promise<number>;
}

async function startTerminal(t: ExecutionContext, argv: string[]): Promise<Terminal> {
  const dir = await scratchDir('jmc-tmux-');
  const socket = join(dir, 'socket');
  const conf = join(dir, 'tmux.conf');
  // The pane stays after the program exits, so its last screen can be read.
  await writeFile(conf, 'set -g remain-on-exit on\nset -g history-limit 5000\n');
  const tmux = (...args: string[]) => execa('tmux', ['-S', socket, '-f', conf, ...args], { cwd: REPO });
  // The exit status comes from a recorder around the configurator, not from tmux (see record-exit.ts).
  const statusFile = join(dir, 'exit-status');
  await tmux('new-session', '-d', '-s', 'configure', '-x', '120', '-y', '40', TSX, RECORD_EXIT, statusFile, TSX, MAIN, ...argv);
  t.teardown(async () => {
    await execa('tmux', ['-S', socket, 'kill-server'], { reject: false });
  });
  const screen = async () => (await tmux('capture-pane', '-p', '-J', '-S', '-', '-t', 'configure')).stdout;
  const terminal: Terminal = {
    async waitFor(pattern, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const text = await screen();
        if (pattern.test(text)) return text;
        if (Date.now() > deadline) throw new Error(`terminal never showed ${pattern}; screen:\n${text}`);
        await sleep(100);
      }
    },
    async type(line) {
      if (line) await tmux('send-keys', '-t', 'configure', '-l', line);
      await tmux('send-keys', '-t', 'configure', 'Enter');
    },
    async keys(...keys) {
      await tmux('send-keys', '-t', 'configure', ...keys);
    },
    async exitStatus(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const status = await readFile(statusFile, 'utf8').catch(() => '');
        if (status.trim() !== '') return Number(status);
        if (Date.now() > deadline) throw new Error(`the configurator did not exit; screen:\n${await screen()}`);
        await sleep(100);
      }
    },
  };
  return terminal;
}

/** Answer the question whose prompt matches, after waiting for it. */
async function answer(terminal: Terminal, prompt: RegExp, line: string): Promise<string> {
  const screen = await terminal.waitFor(prompt);
  await terminal.type(line);
  return screen;
}

test('interactive session in a terminal: wrong answers explained and asked again, then written', async (t) => {
  const root = await scratchDir('jmc-');
  const terminal = await startTerminal(t, ['--root', root, '--no-apply']);
  await answer(terminal, /additional videobridge .* \[main\]: $/m, '');
  await answer(terminal, /Hostname of the server .* \[localhost\]: $/m, 'meet_1');
  await answer(terminal, /"meet_1" is not a fully qualified domain name[\s\S]*Hostname of the server .*: $/m, 'meet.jitsi.test');
  await answer(terminal, /External IP address .*: $/m, '300.1.2.3');
  await answer(terminal, /"300\.1\.2\.3" is not an IPv4 or IPv6 address[\s\S]*External IP address .*: $/m, '203.0.113.7');
  await answer(terminal, /Internal IP address .* \[203\.0\.113\.7\]: $/m, '10.0.0.5');
  await answer(terminal, /alias of 127\.0\.0\.1 in \/etc\/hosts\? \[y\]: $/m, 'yes please');
  await answer(terminal, /answer y \(yes\) or n \(no\)[\s\S]*\/etc\/hosts\? \[y\]: $/m, '');
  await answer(terminal, /Write meet\.jitsi\.test to \/etc\/hostname\? \[y\]: $/m, 'n');
  await answer(terminal, /Maximum memory of the videobridge .* \[1024m\]: $/m, '128m');
  await answer(terminal, /128m is too little[\s\S]*Maximum memory .*: $/m, '2g');
  await answer(terminal, /User name of the convener .* \[admin\]: $/m, '');
  const passwordScreen = await answer(terminal, /Password of admin .* \[([a-z]+(?:-[a-z]+){4})\]: $/m, '');
  const generated = /Password of admin .* \[([a-z]+(?:-[a-z]+){4})\]: $/m.exec(passwordScreen)![1];
  await answer(terminal, /Use your own TLS key and certificate .*\? \[n\]: $/m, '');
  const summary = await terminal.waitFor(/Write this configuration to .*\? \[y\]: $/m);
  t.regex(summary, /hostname: meet\.jitsi\.test/);
  t.notRegex(summary, /Let's Encrypt \(port 80/, 'not offered for a .test name');
  await terminal.type('');
  t.is(await terminal.exitStatus(), 0, await terminal.waitFor(/./));
  const config = (await readMasterConfig(join(root, MASTER_CONFIG_PATH)))!;
  t.like(config, {
    hostname: 'meet.jitsi.test',
    external_ip: '203.0.113.7',
    internal_ip: '10.0.0.5',
    localhost_alias: true,
    write_etc_hostname: false,
    jvb_max_memory: '2g',
    convener: { username: 'admin', password: generated },
    tls: { mode: 'self-signed' },
  });
});

test('Ctrl-D at a prompt in a terminal ends the run with an error and writes nothing', async (t) => {
  const root = await scratchDir('jmc-');
  const terminal = await startTerminal(t, ['--root', root, '--no-apply']);
  await answer(terminal, /additional videobridge .* \[main\]: $/m, 'main');
  await answer(terminal, /Hostname of the server .*: $/m, 'localhost');
  await terminal.waitFor(/Internal IP address .*: $/m);
  await terminal.keys('C-d');
  t.is(await terminal.exitStatus(), 1);
  t.regex(await terminal.waitFor(/stdin ended/), /stdin ended before every question was answered .*nothing was written/);
  t.deepEqual(await readdir(root), []);
});
