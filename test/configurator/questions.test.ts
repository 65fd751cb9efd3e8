import test from 'ava';
import { resolveAnswers } from '../../src/configurator/answers.js';
import { masterConfigSchema, type MasterConfig } from '../../src/configurator/master-config.js';
import { answersOf, buildMasterConfig, QUESTIONS, UNASKED_KEYS } from '../../src/configurator/questions.js';
import { generateSecrets } from '../../src/configurator/secrets.js';

function leafExists(key: string): boolean {
  let schema: { fields?: Record<string, unknown> } | undefined = masterConfigSchema;
  for (const part of key.split('.')) schema = schema?.fields?.[part] as typeof schema;
  return schema !== undefined && schema.fields === undefined;
}

test('the flow follows the seed\'s order and every question decides a master-config key; secrets are never asked', (t) => {
  t.deepEqual(QUESTIONS.map((q) => q.id), [
    'hostname', 'external_ip', 'internal_ip', 'localhost_alias', 'write_etc_hostname', 'jvb_max_memory',
    'convener.username', 'convener.password', 'tls.own', 'tls.cert', 'tls.key', 'tls.letsencrypt', 'letsencrypt.email',
  ]);
  t.is(new Set(QUESTIONS.map((q) => q.id)).size, QUESTIONS.length);
  for (const question of QUESTIONS) {
    t.true(leafExists(question.key), question.key);
    t.false(question.key.startsWith('secrets'), question.key);
    if (question.kind === 'text') t.truthy(question.check, `${question.id} checks typed input`);
  }
  for (const key of UNASKED_KEYS) t.true(leafExists(key), key);
});

test('flat answers and the master config convert both ways', (t) => {
  const config: MasterConfig = {
    hostname: 'meet.jitsi.test', external_ip: '203.0.113.7', internal_ip: '10.0.0.5', localhost_alias: false,
    write_etc_hostname: true, jvb_max_memory: '2g', convener: { username: 'host', password: 'long-password' },
    tls: { mode: 'letsencrypt', cert: undefined, key: undefined },
    letsencrypt: { email: 'ops@jitsi.test', server: 'https://127.0.0.1:14000/dir' }, bridges: undefined, secrets: generateSecrets(),
  };
  const answers = answersOf(config);
  t.false(Object.keys(answers).some((key) => key.startsWith('secrets')));
  t.is(answers['letsencrypt.email'], 'ops@jitsi.test');
  const built = buildMasterConfig(answers, config.secrets);
  t.true(built.ok);
  if (built.ok) t.deepEqual(built.config, config);
  const broken = buildMasterConfig({ ...answers, jvb_max_memory: '1k' }, config.secrets);
  t.false(broken.ok);
});

test('on a re-run the defaults are the earlier answers; Let\'s Encrypt defaults to y when it was not offered before', (t) => {
  const previous: MasterConfig = {
    hostname: 'meet.jitsi.test', external_ip: '10.0.0.5', internal_ip: '10.0.0.5', localhost_alias: true,
    write_etc_hostname: false, jvb_max_memory: '3g', convener: { username: 'host', password: 'long-password' },
    tls: { mode: 'self-signed', cert: undefined, key: undefined },
    letsencrypt: { email: undefined, server: 'https://acme-v02.api.letsencrypt.org/directory' }, secrets: generateSecrets(),
  };
  const env = { root: '/', previous, primaryAddress: '198.51.100.9' };
  const same = resolveAnswers({}, env);
  t.true(same.ok);
  if (same.ok) t.like(same.resolved.answers, { hostname: 'meet.jitsi.test', write_etc_hostname: false, jvb_max_memory: '3g', 'convener.password': 'long-password', 'tls.mode': 'self-signed' });
  const publicNow = resolveAnswers({ hostname: 'meet.university.edu', external_ip: '8.8.4.4', letsencrypt: { email: 'a@university.edu' } }, env);
  t.true(publicNow.ok && publicNow.resolved.answers['tls.mode'] === 'letsencrypt');
  const declined = resolveAnswers({}, { ...env, previous: { ...previous, hostname: 'meet.university.edu', external_ip: '8.8.4.4', internal_ip: '8.8.4.4' } });
  t.true(declined.ok && declined.resolved.answers['tls.mode'] === 'self-signed', 'declined before: n stays the default');
});
