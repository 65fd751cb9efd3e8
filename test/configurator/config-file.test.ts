import test from 'ava';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseMasterConfig, readMasterConfig, serializeMasterConfig, writeMasterConfig } from '../../src/configurator/config-file.js';
import type { MasterConfig } from '../../src/configurator/master-config.js';
import { generateSecrets } from '../../src/configurator/secrets.js';
import { scratchDir } from '../helpers/scratch.js';
import { runInProcess } from '../helpers/configurator-process.js';

function sample(): MasterConfig {
  return {
    hostname: 'meet.example.org',
    external_ip: '203.0.113.7',
    internal_ip: '10.0.0.5',
    localhost_alias: true,
    write_etc_hostname: false,
    jvb_max_memory: '2g',
    convener: { username: 'admin', password: 'yes' },
    tls: { mode: 'own', cert: '/root/meet.crt', key: '/root/meet.key' },
    letsencrypt: { email: undefined, server: 'https://acme-v02.api.letsencrypt.org/directory' },
    bridges: undefined,
    secrets: generateSecrets(),
  };
}

test('serialized in schema order whatever the object key order, and parsed back to the same config', (t) => {
  const config = sample();
  const shuffled = Object.fromEntries(Object.entries(config).reverse()) as unknown as MasterConfig;
  const text = serializeMasterConfig(shuffled);
  t.is(text, serializeMasterConfig(config));
  const keys = text.split('\n').filter((line) => /^[a-z_]+:/.test(line)).map((line) => line.split(':')[0]);
  t.deepEqual(keys, ['hostname', 'external_ip', 'internal_ip', 'localhost_alias', 'write_etc_hostname', 'jvb_max_memory', 'convener', 'tls', 'letsencrypt', 'secrets']);
  t.false(text.includes('email'), 'absent optional keys are left out, not written as null');
  // The password "yes" must stay a string: quoted, since YAML 1.1 readers take yes for true.
  t.deepEqual(parseMasterConfig(text, 'm.yaml'), config);
});

test('written with mode 0600; the same config again leaves the file untouched', async (t) => {
  const dir = await scratchDir('jmc-');
  const path = join(dir, 'etc/jitsi/master-config.yaml');
  t.is(await writeMasterConfig(path, sample()), 'created');
  t.is((await stat(path)).mode & 0o777, 0o600);
  const config = (await readMasterConfig(path))!;
  const before = await readFile(path);
  t.is(await writeMasterConfig(path, config), 'unchanged');
  t.deepEqual(await readFile(path), before);
});

test('reading: absent file is undefined; an invalid one names file, line, key and every problem', async (t) => {
  const dir = await scratchDir('jmc-');
  t.is(await readMasterConfig(join(dir, 'none.yaml')), undefined);
  const path = join(dir, 'bad.yaml');
  const text = serializeMasterConfig(sample()).replace('jvb_max_memory: 2g', 'jvb_max_memory: 12m').replace('hostname: meet.example.org', 'hostname: meet');
  await writeFile(path, text);
  const error = await t.throwsAsync(readMasterConfig(path));
  t.regex(error!.message, new RegExp(`${path}:\\d+: hostname: "meet" is not a fully qualified`));
  t.regex(error!.message, new RegExp(`${path}:\\d+: jvb_max_memory: 12m is too little`));
});

test('a hand-edited convener password outside printable ASCII is refused with file and line, before anything is rewritten', async (t) => {
  const dir = await scratchDir('jmc-');
  const path = join(dir, 'master.yaml');
  const text = serializeMasterConfig(sample()).replace('password: "yes"', 'password: Ｐａｓｓｗｏｒｄ１２３');
  t.true(text.includes('Ｐａｓｓｗｏｒｄ１２３'));
  await writeFile(path, text);
  const error = await t.throwsAsync(readMasterConfig(path));
  t.regex(error!.message, new RegExp(`${path}:\\d+: convener\\.password: .*printable ASCII`));
  t.is(await readFile(path, 'utf8'), text, 'left as it was');
});

test('a hand-edited secret that is not usable is refused before anything is rewritten; --rotate-secrets replaces it', async (t) => {
  const root = await scratchDir('jmc-');
  const configured = await runInProcess(['--root', root, '--yes', '--no-apply']);
  t.is(configured.code, 0, configured.stderr);
  const path = join(root, 'etc/jitsi/master-config.yaml');
  const text = (await readFile(path, 'utf8')).replace(/^( {2}focus_password: ).*$/m, '$1"two words"');
  await writeFile(path, text);
  const line = text.split('\n').findIndex((l) => l.includes('focus_password')) + 1;

  const reused = await runInProcess(['--root', root, '--yes']);
  t.is(reused.code, 1);
  t.true(reused.stderr.includes(`${path}:${line}: secrets.focus_password: not a usable secret`), reused.stderr);
  t.regex(reused.stderr, /--rotate-secrets/);
  t.is(await readFile(path, 'utf8'), text, 'not rewritten');

  const rotated = await runInProcess(['--root', root, '--rotate-secrets', '--no-apply']);
  t.is(rotated.code, 0, rotated.stderr);
  const config = (await readMasterConfig(path))!;
  t.regex(config.secrets.focus_password, /^[A-Za-z0-9_-]{43}$/);
});
