import test from 'ava';
import type { MasterConfig } from '../../src/configurator/master-config.js';
import { generatePassphrase, generateSecrets, MASK, maskedConfig, secretsForRun } from '../../src/configurator/secrets.js';
import { PASSPHRASE_WORDS } from '../../src/configurator/wordlist.js';

test('secrets carry at least 24 bytes of entropy each, URL-safe, and differ every time', (t) => {
  const first = generateSecrets();
  const second = generateSecrets();
  t.deepEqual(Object.keys(first).sort(), ['focus_password', 'jvb_password', 'turn_secret']);
  t.is(Buffer.from(first.focus_password, 'base64url').length, 32);
  t.is(Buffer.from(first.jvb_password, 'base64url').length, 32);
  t.regex(first.turn_secret, /^[0-9a-f]{64}$/);
  for (const value of Object.values(first)) t.regex(value, /^[A-Za-z0-9_-]+$/);
  t.not(first.focus_password, first.jvb_password);
  t.notDeepEqual(first, second);
});

test('secrets are kept unless rotation is asked for, and generated when there are none', (t) => {
  const previous = generateSecrets();
  const kept = secretsForRun(previous, false);
  t.deepEqual(kept.secrets, previous);
  t.false(kept.rotated);
  const rotated = secretsForRun(previous, true);
  t.true(rotated.rotated);
  for (const key of Object.keys(previous) as (keyof typeof previous)[]) t.not(rotated.secrets[key], previous[key]);
  const first = secretsForRun(undefined, false);
  t.false(first.rotated, 'a first configure is not a rotation');
  t.is(first.secrets.turn_secret.length, 64);
});

test('the word list is large, unique, short lower-case words; passphrases are five of them (about 54 bits)', (t) => {
  t.true(PASSPHRASE_WORDS.length >= 1500, `${PASSPHRASE_WORDS.length} words`);
  t.is(new Set(PASSPHRASE_WORDS).size, PASSPHRASE_WORDS.length, 'no duplicates (they would skew the draw)');
  for (const word of PASSPHRASE_WORDS) t.regex(word, /^[a-z]{2,9}$/);
  const phrases = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const phrase = generatePassphrase();
    const words = phrase.split('-');
    t.is(words.length, 5);
    for (const word of words) t.true(PASSPHRASE_WORDS.includes(word), word);
    phrases.add(phrase);
  }
  t.true(phrases.size >= 49, 'fresh every time');
  t.true(5 * Math.log2(PASSPHRASE_WORDS.length) >= 53, 'an online guesser faces at least 2^53 passphrases');
});

test('masking hides every secret and the convener password, nothing else', (t) => {
  const config = {
    hostname: 'meet.example.org',
    external_ip: '203.0.113.7',
    internal_ip: '10.0.0.5',
    localhost_alias: true,
    write_etc_hostname: true,
    jvb_max_memory: '1024m',
    convener: { username: 'admin', password: 'lizard-grin-shock' },
    tls: { mode: 'self-signed', cert: undefined, key: undefined },
    letsencrypt: { email: undefined, server: 'https://acme.invalid/dir' },
    secrets: generateSecrets(),
  } satisfies MasterConfig;
  const masked = maskedConfig(config);
  t.deepEqual(masked.secrets, { focus_password: MASK, jvb_password: MASK, turn_secret: MASK });
  t.is(masked.convener.password, MASK);
  t.is(masked.convener.username, 'admin');
  t.is(masked.hostname, config.hostname);
  t.not(config.convener.password, MASK, 'the original is untouched');
});
