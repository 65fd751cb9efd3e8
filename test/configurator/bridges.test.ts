/**
 * The main server's side of more videobridges, on a root prefix (files only, no services):
 * --add-bridge, --list-bridges, --remove-bridge, and the join token they print. The bridge
 * host's side needs a running prosody to fetch a certificate from: test/integration/bridges.
 */
import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { certificateSha256, decodeJoinToken, encodeJoinToken } from '../../src/configurator/bridge-config.js';
import { parseConfiguratorArgs, UsageError } from '../../src/configurator/cli.js';
import { readMasterConfig } from '../../src/configurator/config-file.js';
import { authTls, MASTER_CONFIG_PATH } from '../../src/configurator/paths.js';
import { runInProcess } from '../helpers/configurator-process.js';
import { scratchDir } from '../helpers/scratch.js';

/** Debian's prosody config (the tests' images are Debian's). */
const PROSODY_CONFIG = '/etc/prosody/prosody.cfg.lua';

const TOKEN = {
  hostname: 'meet.example.org',
  address: '10.0.0.5',
  port: 5222,
  name: 'bridge2',
  password: 'p'.repeat(43),
  brewery: 'JvbBrewery@internal.auth.meet.example.org',
  certificateSha256: Array.from({ length: 32 }, () => 'AB').join(':'),
};

test('a join token is one line and decodes to what it was made from', (t) => {
  const token = encodeJoinToken(TOKEN);
  t.regex(token, /^jitsi-bridge-1:[A-Za-z0-9_-]+$/);
  t.deepEqual(decodeJoinToken(`  ${token}\n`), TOKEN);
});

test('a damaged or foreign token is refused with what to do, never echoing the password', (t) => {
  const token = encodeJoinToken(TOKEN);
  for (const [text, message] of [
    ['hello', /not a join token .*--add-bridge NAME on the main server/],
    [token.slice(0, -12), /damaged/],
    [encodeJoinToken({ ...TOKEN, name: 'Bridge 2' }), /damaged \(.*not a valid bridge name/],
    [encodeJoinToken({ ...TOKEN, certificateSha256: 'AB:CD' }), /damaged \(no certificate fingerprint\)/],
  ] as const) {
    const result = decodeJoinToken(text);
    t.is(typeof result, 'string', text.slice(0, 20));
    t.regex(result as string, message);
    t.false((result as string).includes(TOKEN.password));
  }
});

test('bridge options: one at a time, alone; --role takes main or bridge', (t) => {
  t.like(parseConfiguratorArgs(['--add-bridge', 'b2']), { addBridge: 'b2' });
  t.like(parseConfiguratorArgs(['--role', 'bridge', '--answers', 'a.yaml']), { role: 'bridge', answers: 'a.yaml' });
  for (const [argv, message] of [
    [['--add-bridge', 'a', '--remove-bridge', 'b'], /one of --add-bridge, --remove-bridge at a time/],
    [['--list-bridges', '--yes'], /--list-bridges works on the existing configuration/],
    [['--role', 'edge'], /--role takes main or bridge/],
    [['--role', 'bridge', '--check'], /--role chooses what to configure/],
  ] as const) {
    t.throws(() => parseConfiguratorArgs([...argv]), { instanceOf: UsageError, message }, argv.join(' '));
  }
});

test('--add-bridge makes an account and a token pinning the auth certificate; --remove-bridge takes both back', async (t) => {
  const root = await scratchDir('jmc-bridges-');
  const answers = join(root, 'answers.yaml');
  await writeFile(answers, 'hostname: meet.example.org\nexternal_ip: 203.0.113.7\ninternal_ip: 10.0.0.5\nconvener:\n  password: long-enough-password\n');
  const first = await runInProcess(['--root', root, '--answers', answers]);
  t.is(first.code, 0, first.stdout + first.stderr);
  t.regex((await runInProcess(['--root', root, '--list-bridges'])).stdout, /^No bridges on other hosts/);

  const added = await runInProcess(['--root', root, '--add-bridge', 'bridge2']);
  t.is(added.code, 0, added.stdout + added.stderr);
  const line = /^jitsi-bridge-1:\S+$/m.exec(added.stdout)?.[0];
  const token = decodeJoinToken(line ?? '');
  if (typeof token === 'string') {
    t.fail(`${token}\n${added.stdout}`);
    return;
  }
  const config = (await readMasterConfig(join(root, MASTER_CONFIG_PATH)))!;
  t.deepEqual(config.bridges?.map((bridge) => bridge.name), ['bridge2']);
  t.like(token, { hostname: 'meet.example.org', address: '10.0.0.5', port: 5222, name: 'bridge2', password: config.bridges![0]!.password, brewery: 'JvbBrewery@internal.auth.meet.example.org' });
  t.regex(token.password, /^[A-Za-z0-9_-]{43}$/);
  t.is(token.certificateSha256, certificateSha256(await readFile(join(root, authTls('meet.example.org').cert), 'utf8')));
  t.regex(await readFile(join(root, PROSODY_CONFIG), 'utf8'), /^c2s_interfaces = \{ "127\.0\.0\.1", "10\.0\.0\.5" \}$/m);
  t.regex((await runInProcess(['--root', root, '--list-bridges'])).stdout, /^bridge2\tjvb-bridge2@auth\.meet\.example\.org$/m);
  const shown = await runInProcess(['--root', root, '--show']);
  t.false(shown.stdout.includes(token.password), '--show masks bridge passwords');

  const twice = await runInProcess(['--root', root, '--add-bridge', 'bridge2']);
  t.is(twice.code, 1);
  t.regex(twice.stderr, /bridge2 is already a bridge of this server/);
  const unknown = await runInProcess(['--root', root, '--remove-bridge', 'bridge9']);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /bridge9 is not a bridge of this server \(it has bridge2\); nothing was changed/);

  const removed = await runInProcess(['--root', root, '--remove-bridge', 'bridge2']);
  t.is(removed.code, 0, removed.stdout + removed.stderr);
  t.is((await readMasterConfig(join(root, MASTER_CONFIG_PATH)))!.bridges, undefined);
  t.regex(await readFile(join(root, PROSODY_CONFIG), 'utf8'), /^c2s_interfaces = \{ "127\.0\.0\.1" \}$/m, 'back to loopback only');
});

test('the first question offers the bridge role: a damaged token is explained and asked again; an unreachable main server writes nothing', async (t) => {
  const root = await scratchDir('jmc-bridge-role-');
  // Port 1 on loopback: nothing listens there.
  const token = encodeJoinToken({ ...TOKEN, port: 1 });
  const session = ['bridge', 'not-a-token', token, '127.0.0.1', '192.0.2.4', '', ''];
  const result = await runInProcess(['--root', root], `${session.join('\n')}\n`);
  t.is(result.code, 1, result.stdout + result.stderr);
  t.regex(result.stdout, /not a join token .*--add-bridge NAME on the main server/);
  t.regex(result.stdout, /Address of the main server meet\.example\.org \(its prosody, port 1\) \[10\.0\.0\.5\]: /);
  t.regex(result.stderr, /cannot reach the main server's prosody at 127\.0\.0\.1:1 .*allow TCP 1 from this host's address.*nothing was changed/);
  t.regex(result.stderr.trimEnd().split('\n').at(-1) ?? '', /^jitsi-meet-config: FAILED: nothing was changed\.$/);
  t.false(result.stdout.includes(TOKEN.password) || result.stderr.includes(TOKEN.password), 'the password is never printed');
  t.is(await readFile(join(root, MASTER_CONFIG_PATH), 'utf8').catch(() => undefined), undefined, 'no master config written');
});
