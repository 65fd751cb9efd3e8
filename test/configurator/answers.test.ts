import test from 'ava';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { resolveAnswers } from '../../src/configurator/answers.js';
import { readMasterConfig } from '../../src/configurator/config-file.js';
import { LETS_ENCRYPT_DIRECTORY } from '../../src/configurator/master-config.js';
import { MASTER_CONFIG_PATH } from '../../src/configurator/paths.js';
import { execa } from 'execa';
import { MAIN, makePair, runInProcess, runProcess, TSX } from '../helpers/configurator-process.js';
import { scratchDir } from '../helpers/scratch.js';

const env = { root: '/', primaryAddress: '198.51.100.9' };

async function answersFile(dir: string, content: string): Promise<string> {
  const file = join(dir, `answers-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, content);
  return file;
}

test('keys left out take the default the prompt would offer, following earlier answers', (t) => {
  const local = resolveAnswers({ hostname: 'localhost' }, env);
  if (!local.ok) return t.fail(JSON.stringify(local.issues));
  t.like(local.resolved.answers, {
    hostname: 'localhost',
    external_ip: '127.0.0.1', // not asked for localhost
    internal_ip: '127.0.0.1', // defaults to the external address
    localhost_alias: true,
    write_etc_hostname: true,
    jvb_max_memory: '1024m',
    'convener.username': 'admin',
    'tls.mode': 'self-signed',
    'letsencrypt.server': LETS_ENCRYPT_DIRECTORY,
  });
  t.regex(String(local.resolved.answers['convener.password']), /^[a-z]+(?:-[a-z]+){4}$/);
  t.true(local.resolved.defaulted.has('convener.password'));
  t.false(local.resolved.defaulted.has('hostname'));

  const nat = resolveAnswers({ hostname: 'meet.jitsi.test', external_ip: '203.0.113.7' }, env);
  if (!nat.ok) return t.fail(JSON.stringify(nat.issues));
  t.is(nat.resolved.answers.internal_ip, '203.0.113.7');
  t.is(nat.resolved.answers['tls.mode'], 'self-signed', 'no Let\'s Encrypt for a .test name');

  const noFile = resolveAnswers(undefined, { ...env, etcHostname: 'meet.jitsi.test' });
  if (!noFile.ok) return t.fail(JSON.stringify(noFile.issues));
  t.is(noFile.resolved.answers.hostname, 'meet.jitsi.test', '--yes takes the hostname from /etc/hostname');
  t.is(noFile.resolved.answers.external_ip, '198.51.100.9', 'and the machine\'s first global address');
  const shortName = resolveAnswers(undefined, { ...env, etcHostname: 'debian' });
  t.true(shortName.ok && shortName.resolved.answers.hostname === 'localhost', 'a short /etc/hostname is no FQDN: localhost');
});

test('Let\'s Encrypt is the default only for a public name and address, and then needs an e-mail', (t) => {
  const publicHost = resolveAnswers({ hostname: 'meet.university.edu', external_ip: '8.8.4.4' }, env);
  t.false(publicHost.ok);
  if (!publicHost.ok) {
    t.deepEqual(publicHost.issues.map((issue) => issue.path), ['letsencrypt.email']);
    t.regex(publicHost.issues[0].message, /no default .*give letsencrypt\.email/);
  }
  const withEmail = resolveAnswers({ hostname: 'meet.university.edu', external_ip: '8.8.4.4', letsencrypt: { email: 'ops@university.edu' } }, env);
  t.true(withEmail.ok && withEmail.resolved.answers['tls.mode'] === 'letsencrypt');
  const privateAddress = resolveAnswers({ hostname: 'meet.university.edu', external_ip: '10.0.0.5' }, env);
  t.true(privateAddress.ok && privateAddress.resolved.answers['tls.mode'] === 'self-signed');
  // A test ACME server (pebble) on a private address: allowed when the file says so explicitly.
  const pebble = resolveAnswers(
    { hostname: 'meet.jitsi.test', external_ip: '10.0.0.5', tls: { mode: 'letsencrypt' }, letsencrypt: { email: 'a@b.test', server: 'https://127.0.0.1:14000/dir' } },
    env,
  );
  t.true(pebble.ok, JSON.stringify(!pebble.ok && pebble.issues));
  const publicServer = resolveAnswers({ hostname: 'meet.jitsi.test', external_ip: '10.0.0.5', tls: { mode: 'letsencrypt' }, letsencrypt: { email: 'a@b.test' } }, env);
  t.false(publicServer.ok);
  if (!publicServer.ok) t.regex(publicServer.issues.map((i) => i.message).join('\n'), /cannot reach the private address 10\.0\.0\.5/);
});

test('own certificate in an answers file: both paths needed, checked as a matching pair', async (t) => {
  const dir = await scratchDir('jmc-');
  const first = await makePair(dir, 'first');
  const second = await makePair(dir, 'second');
  const good = resolveAnswers({ hostname: 'meet.example.org', external_ip: '203.0.113.7', tls: { mode: 'own', cert: first.cert, key: first.key } }, env);
  t.true(good.ok, JSON.stringify(!good.ok && good.issues));
  const swapped = resolveAnswers({ hostname: 'meet.example.org', external_ip: '203.0.113.7', tls: { mode: 'own', cert: first.cert, key: second.key } }, env);
  t.false(swapped.ok);
  if (!swapped.ok) t.deepEqual(swapped.issues.map((i) => [i.path, /are not a pair/.test(i.message)]), [['tls.key', true]]);
  const missing = resolveAnswers({ hostname: 'meet.example.org', external_ip: '203.0.113.7', tls: { mode: 'own' } }, env);
  t.false(missing.ok);
  if (!missing.ok) t.deepEqual(missing.issues.map((i) => i.path), ['tls.cert', 'tls.key']);
});

test('invalid answers file: exit 2, every problem with its key and line, nothing written', async (t) => {
  const root = await scratchDir('jmc-');
  await mkdir(join(root, 'etc'));
  const file = await answersFile(
    await scratchDir('jmc-'),
    [
      'hostname: meet', // 1
      'external_ip: 999.1.1.1', // 2
      'internal_ip: 10.0.0.5', // 3
      'jvb_max_memory: 100m', // 4
      'convener:', // 5
      '  username: Bob', // 6
      '  password: short', // 7
      'tls:', // 8
      '  mode: own', // 9
      '  cert: /nonexistent/meet.crt', // 10
      'letsencrypt:', // 11
      '  email: not-an-address', // 12
      'colour: blue', // 13
      'localhost_alias: maybe', // 14
      'secrets:', // 15
      '  turn_secret: hunter2', // 16
      '',
    ].join('\n'),
  );
  const result = await runProcess(['--root', root, '--answers', file, '--no-apply']);
  t.is(result.code, 2, result.stderr);
  const lines = result.stderr.trim().split('\n');
  t.regex(lines[0], /the answers are not valid; nothing was written/);
  const expected: [string, RegExp][] = [
    [`${file}:1: hostname:`, /is not a fully qualified domain name/],
    [`${file}:2: external_ip:`, /is not an IPv4 or IPv6 address/],
    [`${file}:4: jvb_max_memory:`, /too little for the videobridge/],
    [`${file}:6: convener.username:`, /not a valid user name/],
    [`${file}:7: convener.password:`, /too short/],
    [`${file}:10: tls.cert:`, /does not exist/],
    [`${file}:12: letsencrypt.email:`, /is not an e-mail address/],
    [`${file}:13: colour:`, /unknown key/],
    [`${file}:14: localhost_alias:`, /expected boolean/],
    [`${file}:15: secrets:`, /generated .* never given/],
  ];
  for (const [prefix, message] of expected) {
    const line = lines.find((l) => l.trim().startsWith(prefix));
    t.truthy(line, `missing problem ${prefix}\n${result.stderr}`);
    if (line) t.regex(line, message);
  }
  t.true(lines.some((l) => /tls\.key: tls\.mode is `own`|tls\.key:.*no default/.test(l)), result.stderr);
  const reported = lines.slice(1).map((l) => Number(/:(\d+): /.exec(l)?.[1]));
  t.deepEqual(reported, [...reported].sort((a, b) => a - b), 'listed in file order');
  t.deepEqual(await readdir(root), ['etc'], 'nothing written');
  t.deepEqual(await readdir(join(root, 'etc')), []);
});

test('YAML syntax errors and unreadable files are reported as invalid answers', async (t) => {
  const root = await scratchDir('jmc-');
  const broken = await answersFile(root, 'hostname: meet.example.org\n  external_ip: [\n');
  const syntax = await runInProcess(['--root', root, '--answers', broken]);
  t.is(syntax.code, 2);
  t.regex(syntax.stderr, new RegExp(`${broken}:\\d+: not valid YAML`));
  const missing = await runInProcess(['--root', root, '--answers', join(root, 'nope.yaml')]);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /cannot read the answers file \(ENOENT\)/);
  const list = await runInProcess(['--root', root, '--answers', await answersFile(root, '- hostname\n')]);
  t.is(list.code, 2);
  t.regex(list.stderr, /is a YAML mapping of master-config keys/);
  t.false((await readdir(root)).includes('etc'));
});

test('good answers: written 0600; the same answers again give a byte-identical file and keep the secrets', async (t) => {
  const root = await scratchDir('jmc-');
  const file = await answersFile(
    root,
    'hostname: meet.jitsi.test\nexternal_ip: 203.0.113.7\ninternal_ip: 10.0.0.5\njvb_max_memory: 2g\nconvener:\n  username: host\n  password: correct-horse-battery\n',
  );
  const first = await runInProcess(['--root', root, '--answers', file, '--no-apply']);
  t.is(first.code, 0, first.stderr);
  t.notRegex(first.stdout, /Generated password/, 'the password was given');
  const path = join(root, MASTER_CONFIG_PATH);
  t.is((await stat(path)).mode & 0o777, 0o600);
  const before = await readFile(path, 'utf8');
  const config = (await readMasterConfig(path))!;
  t.like(config, { hostname: 'meet.jitsi.test', internal_ip: '10.0.0.5', jvb_max_memory: '2g', convener: { username: 'host', password: 'correct-horse-battery' }, tls: { mode: 'self-signed' } });

  const again = await runInProcess(['--root', root, '--answers', file, '--no-apply']);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stdout, /is unchanged/);
  t.is(await readFile(path, 'utf8'), before, 'byte-identical');

  // Changing another answer keeps the secrets; a re-run keeps the earlier answers as defaults.
  const changed = await answersFile(root, 'hostname: meet.jitsi.test\njvb_max_memory: 3g\n');
  t.is((await runInProcess(['--root', root, '--answers', changed, '--no-apply'])).code, 0);
  const after = (await readMasterConfig(path))!;
  t.deepEqual(after.secrets, config.secrets);
  t.like(after, { jvb_max_memory: '3g', internal_ip: '10.0.0.5', convener: { username: 'host', password: 'correct-horse-battery' } });
});

test('--rotate-secrets replaces every secret and nothing else; alone it re-uses the configuration', async (t) => {
  const root = await scratchDir('jmc-');
  const path = join(root, MASTER_CONFIG_PATH);
  t.is((await runInProcess(['--root', root, '--rotate-secrets', '--no-apply'])).code, 1, 'nothing to rotate yet');
  const first = await runInProcess(['--root', root, '--yes', '--no-apply']);
  t.is(first.code, 0, first.stderr);
  t.regex(first.stdout, /Generated password of the convener admin: [a-z]+(?:-[a-z]+){4}/);
  const before = (await readMasterConfig(path))!;

  const kept = await runInProcess(['--root', root, '--yes', '--no-apply']);
  t.is(kept.code, 0);
  t.deepEqual((await readMasterConfig(path))!.secrets, before.secrets, '--yes on a configured system keeps the secrets');

  const rotated = await runInProcess(['--root', root, '--rotate-secrets', '--no-apply']);
  t.is(rotated.code, 0, rotated.stderr);
  t.regex(rotated.stdout, /with new secrets/);
  const after = (await readMasterConfig(path))!;
  for (const key of ['focus_password', 'jvb_password', 'turn_secret'] as const) t.not(after.secrets[key], before.secrets[key], key);
  t.deepEqual({ ...after, secrets: undefined }, { ...before, secrets: undefined });

  const withAnswers = await runInProcess(['--root', root, '--rotate-secrets', '--no-apply', '--answers', await answersFile(root, 'jvb_max_memory: 512m\n')]);
  t.is(withAnswers.code, 0, withAnswers.stderr);
  const third = (await readMasterConfig(path))!;
  t.not(third.secrets.turn_secret, after.secrets.turn_secret);
  t.is(third.jvb_max_memory, '512m');
});

test('--show prints the master config with secrets and the convener password masked', async (t) => {
  const root = await scratchDir('jmc-');
  const none = await runInProcess(['--root', root, '--show']);
  t.is(none.code, 1);
  t.regex(none.stderr, /there is no master config .* yet/);
  await runInProcess(['--root', root, '--yes', '--no-apply']);
  const config = (await readMasterConfig(join(root, MASTER_CONFIG_PATH)))!;
  const shown = await runProcess(['--root', root, '--show']);
  t.is(shown.code, 0, shown.stderr);
  for (const secret of [...Object.values(config.secrets), config.convener.password]) t.false(shown.stdout.includes(secret), 'secret leaked');
  const parsed = yaml.load(shown.stdout) as Record<string, any>;
  t.deepEqual(parsed.secrets, { focus_password: '********', jvb_password: '********', turn_secret: '********' });
  t.is(parsed.convener.password, '********');
  t.is(parsed.hostname, config.hostname);
});

test('an answers file with Object.prototype names as keys: unknown keys, exit 2, nothing written', async (t) => {
  const root = await scratchDir('jmc-');
  const file = await answersFile(root, 'hostname: localhost\nconstructor: x\ntoString: y\n__proto__: {hostname: evil.example.org}\nconvener:\n  hasOwnProperty: z\n');
  const result = await runInProcess(['--root', root, '--answers', file]);
  t.is(result.code, 2, result.stderr);
  for (const [line, key] of [[2, 'constructor'], [3, 'toString'], [4, '__proto__'], [6, 'convener.hasOwnProperty']] as const) {
    t.true(result.stderr.includes(`${file}:${line}: ${key}: unknown key`), `${key}:\n${result.stderr}`);
  }
  t.false((await readdir(root)).includes('etc'), 'nothing written');
});

test('an explicit null is not "left out": it is reported, and so are a NAT pair of two families and a bad ACME URL', async (t) => {
  const root = await scratchDir('jmc-');
  const file = await answersFile(
    root,
    'hostname: null\nexternal_ip: 203.0.113.7\ninternal_ip: "fd00::5"\nletsencrypt:\n  server: --staging\n  email: -v@x.org\n',
  );
  const result = await runInProcess(['--root', root, '--answers', file]);
  t.is(result.code, 2, result.stderr);
  t.true(result.stderr.includes(`${file}:1: hostname: has no value: give one, or leave the key out to take the default`), result.stderr);
  t.true(result.stderr.includes(`${file}:5: letsencrypt.server: "--staging" is not an https URL`), result.stderr);
  t.true(result.stderr.includes(`${file}:6: letsencrypt.email: "-v@x.org" is not an e-mail address`), result.stderr);
  const nat = await answersFile(root, 'hostname: meet.jitsi.test\nexternal_ip: 203.0.113.7\ninternal_ip: "fd00::5"\n');
  const mixed = await runInProcess(['--root', root, '--answers', nat]);
  t.is(mixed.code, 2, mixed.stderr);
  t.true(mixed.stderr.includes(`${nat}:3: internal_ip: fd00::5 is IPv6 but the external address 203.0.113.7 is IPv4`), mixed.stderr);
  t.false((await readdir(root)).includes('etc'), 'nothing written');
});

test('a huge answers file is refused at once, a piped one is read', async (t) => {
  const root = await scratchDir('jmc-');
  const huge = await answersFile(root, Array.from({ length: 300_000 }, (_, i) => `key${i}: ${i}`).join('\n'));
  const result = await runInProcess(['--root', root, '--answers', huge]);
  t.is(result.code, 2);
  t.regex(result.stderr, /is larger than 64 KiB: that is not an answers file/);
  // A real pipe, as a shell gives one (execa's stdin is a socket, which /dev/stdin cannot open).
  const piped = await execa('sh', ['-c', 'printf "hostname: localhost\\n" | "$0" "$@"', TSX, MAIN, '--root', root, '--no-apply', '--answers', '/dev/stdin'], { reject: false, env: { NODE_OPTIONS: '' } });
  t.is(piped.exitCode, 0, String(piped.stderr));
  t.like(await readMasterConfig(join(root, MASTER_CONFIG_PATH)), { hostname: 'localhost' });
});
