import test from 'ava';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { readMasterConfig } from '../../src/configurator/config-file.js';
import { MASTER_CONFIG_PATH } from '../../src/configurator/paths.js';
import { EndOfInput, LineReader, Prompter } from '../../src/configurator/prompts.js';
import { makePair, runInProcess, runProcess } from '../helpers/configurator-process.js';
import { scratchDir } from '../helpers/scratch.js';

test('line reader: lines in one chunk, split across chunks, CRLF, a last line without newline, then end', async (t) => {
  const input = new PassThrough();
  const reader = new LineReader(input);
  input.write('first\nsecond\r\nthi');
  t.is(await reader.next(), 'first');
  t.is(await reader.next(), 'second');
  const third = reader.next();
  input.write('rd\n\nla');
  t.is(await third, 'third');
  t.is(await reader.next(), '');
  input.end('st');
  t.is(await reader.next(), 'last');
  t.is(await reader.next(), undefined);
  t.is(await reader.next(), undefined);
});

test('prompter: Enter takes the default, y/n are explained, end of input is an error naming the question', async (t) => {
  const input = new PassThrough();
  const output = new PassThrough();
  let shown = '';
  output.on('data', (chunk) => (shown += chunk));
  const prompter = new Prompter(new LineReader(input), output, true);
  input.end('\nperhaps\nN\n  typed  \n');
  t.is(await prompter.text('Name', 'dflt'), 'dflt');
  t.false(await prompter.yesNo('Sure?', true));
  t.is(await prompter.text('Other', undefined), 'typed');
  const error = await t.throwsAsync(prompter.text('Never answered', undefined), { instanceOf: EndOfInput });
  t.regex(error!.message, /stdin ended .*"Never answered".*nothing was written/);
  t.regex(shown, /Name \[dflt\]: \n/);
  t.regex(shown, /Sure\? \[y\]: perhaps\n {2}-> answer y \(yes\) or n \(no\)/);
});

/** Every answer of a first run on a localhost server, the wrong ones first. */
const LOCALHOST_SESSION = [
  'server', // role: neither main nor bridge
  'main',
  'meet', // hostname: not an FQDN
  'localhost', // external IP is not asked for localhost
  '127.0.0.300', // internal IP: invalid
  '127.0.0.1',
  'sure', // alias: not y/n
  'y',
  'n', // /etc/hostname
  '64m', // too little
  '1.5g', // malformed
  '768m',
  'Root', // invalid user name
  'convener',
  'pw', // too short
  'my-own-password',
  '', // own cert: default n
  '', // write: default y
];

test('piped stdin, all answers at once: wrong answers explained and asked again, the right ones written', async (t) => {
  const root = await scratchDir('jmc-');
  const result = await runProcess(['--root', root, '--no-apply'], `${LOCALHOST_SESSION.join('\n')}\n`);
  t.is(result.code, 0, result.stderr);
  const out = result.stdout;
  t.regex(out, /main server, or an additional videobridge .* \[main\]: [\s\S]*answer main or bridge/);
  t.regex(out, /"meet" is not a fully qualified domain name/);
  t.notRegex(out, /External IP address/, 'not asked for localhost');
  t.regex(out, /"127\.0\.0\.300" is not an IPv4 or IPv6 address/);
  t.regex(out, /answer y \(yes\) or n \(no\)/);
  t.regex(out, /64m is too little for the videobridge/);
  t.regex(out, /"1\.5g" is not a memory size/);
  t.regex(out, /"Root" is not a valid user name/);
  t.regex(out, /the password is too short/);
  t.notRegex(out, /Let's Encrypt \(port 80/, 'Let\'s Encrypt is not offered for localhost');
  t.regex(out, /Not applied/);
  const config = (await readMasterConfig(join(root, MASTER_CONFIG_PATH)))!;
  t.like(config, {
    hostname: 'localhost',
    external_ip: '127.0.0.1',
    internal_ip: '127.0.0.1',
    localhost_alias: true,
    write_etc_hostname: false,
    jvb_max_memory: '768m',
    convener: { username: 'convener', password: 'my-own-password' },
    tls: { mode: 'self-signed' },
  });
  t.regex(config.secrets.focus_password, /^[A-Za-z0-9_-]{43}$/);
});

test('stdin ending mid-flow: exit 1, a clear message, nothing written', async (t) => {
  const root = await scratchDir('jmc-');
  const result = await runProcess(['--root', root, '--no-apply'], '\nlocalhost\n127.0.0.1\ny\n');
  t.is(result.code, 1);
  t.regex(result.stderr, /stdin ended before every question was answered \(still waiting for: "Write localhost to \/etc\/hostname\? \[y\]"\); nothing was written/);
  t.deepEqual(await readdir(root), []);
});

test('answering n to "write it?" writes nothing', async (t) => {
  const root = await scratchDir('jmc-');
  const result = await runInProcess(['--root', root, '--no-apply'], `${[...LOCALHOST_SESSION.slice(0, -1), 'n'].join('\n')}\n`);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /Nothing was written/);
  t.deepEqual(await readdir(root), []);
});

test('own certificate: a key of another pair sends the admin back to both paths', async (t) => {
  const root = await scratchDir('jmc-');
  await mkdir(join(root, 'root'));
  await makePair(join(root, 'root'), 'right');
  await makePair(join(root, 'root'), 'other');
  const session = [
    '', // role: main
    'localhost', '', '', '', '', '', 'long-enough-pw',
    'y', // own pair
    '/root/missing.crt', // does not exist
    '/root/right.crt',
    '/root/other.key', // not the pair: back to the certificate
    '', // certificate again: default is the path typed before
    '/root/right.key',
    '', // write
  ];
  const result = await runInProcess(['--root', root, '--no-apply'], `${session.join('\n')}\n`);
  t.is(result.code, 0, result.stdout + result.stderr);
  t.regex(result.stdout, /\/root\/missing\.crt does not exist/);
  t.regex(result.stdout, /\/root\/other\.key and \/root\/right\.crt are not a pair.*give both paths again/);
  t.regex(result.stdout, /Path of your certificate \(PEM, server certificate first, then the chain\) \[\/root\/right\.crt\]: \n/);
  const config = (await readMasterConfig(join(root, MASTER_CONFIG_PATH)))!;
  t.deepEqual(config.tls, { mode: 'own', cert: '/root/right.crt', key: '/root/right.key' });
});

test('Let\'s Encrypt is offered for a public name and address and then asks for a valid e-mail', async (t) => {
  const root = await scratchDir('jmc-');
  const session = ['', 'meet.university.edu', '8.8.4.4', '', '', '', '', '', '', 'n', '', 'not-mail', 'ops@university.edu', ''];
  const result = await runInProcess(['--root', root, '--no-apply'], `${session.join('\n')}\n`);
  t.is(result.code, 0, result.stdout + result.stderr);
  t.regex(result.stdout, /Get a certificate for meet\.university\.edu from Let's Encrypt/);
  t.regex(result.stdout, /"not-mail" is not an e-mail address/);
  const config = (await readMasterConfig(join(root, MASTER_CONFIG_PATH)))!;
  t.is(config.tls.mode, 'letsencrypt');
  t.is(config.letsencrypt.email, 'ops@university.edu');
  t.is(config.internal_ip, '8.8.4.4');
});

test('a re-run offers to re-use the configuration; declining it offers the old answers as defaults and keeps secrets', async (t) => {
  const root = await scratchDir('jmc-');
  await mkdir(join(root, 'etc'));
  await writeFile(join(root, 'etc/hostname'), 'meet.jitsi.test\n');
  const first = await runInProcess(['--root', root, '--no-apply'], ['', '', '203.0.113.7', '10.0.0.5', '', '', '', '', '', '', ''].join('\n') + '\n');
  t.is(first.code, 0, first.stdout + first.stderr);
  const path = join(root, MASTER_CONFIG_PATH);
  const written = await readFile(path, 'utf8');
  t.regex(written, /hostname: meet\.jitsi\.test/, 'the default hostname came from /etc/hostname');

  const reuse = await runInProcess(['--root', root, '--no-apply'], '\n');
  t.is(reuse.code, 0, reuse.stdout + reuse.stderr);
  t.regex(reuse.stdout, /Re-use the existing configuration\? \(meet\.jitsi\.test, .*\) \[y\]/);
  t.is(await readFile(path, 'utf8'), written, 're-using changes nothing, secrets included');

  // Decline re-use, then press Enter everywhere: the old answers are the defaults.
  const again = await runInProcess(['--root', root, '--no-apply'], 'n\n' + '\n'.repeat(12));
  t.is(again.code, 0, again.stdout + again.stderr);
  t.regex(again.stdout, /Internal IP address .* \[10\.0\.0\.5\]/);
  t.is(await readFile(path, 'utf8'), written, 'same answers, same secrets: byte-identical');

  const changed = await runInProcess(['--root', root, '--no-apply'], 'n\n\n\n\n\n\n2g\n' + '\n'.repeat(8));
  t.is(changed.code, 0, changed.stdout + changed.stderr);
  const before = (await readMasterConfig(path))!;
  t.is(before.jvb_max_memory, '2g');
  t.regex(written, new RegExp(before.secrets.turn_secret), 'changing an answer keeps the secrets');
});

test('an interactive re-run keeps settings no question asks (the ACME directory of an answers file)', async (t) => {
  const root = await scratchDir('jmc-');
  const answers = join(await scratchDir('jmc-'), 'answers.yaml');
  await writeFile(answers, 'hostname: meet.jitsi.test\nexternal_ip: 10.0.0.5\ntls:\n  mode: letsencrypt\nletsencrypt:\n  email: ops@jitsi.test\n  server: https://127.0.0.1:14000/dir\n');
  t.is((await runInProcess(['--root', root, '--answers', answers, '--no-apply'])).code, 0);
  const path = join(root, MASTER_CONFIG_PATH);
  const written = await readFile(path, 'utf8');
  // Decline re-use; Enter everywhere (Let's Encrypt is not offered for a .test name, so the mode becomes self-signed).
  const again = await runInProcess(['--root', root, '--no-apply'], 'n\n' + '\n'.repeat(12));
  t.is(again.code, 0, again.stdout + again.stderr);
  const config = (await readMasterConfig(path))!;
  t.is(config.letsencrypt.server, 'https://127.0.0.1:14000/dir');
  t.is(config.tls.mode, 'self-signed');
  t.not(await readFile(path, 'utf8'), written);
});
