import test from 'ava';
import { isLocked, lockAccount } from '../../../src/builder/stages/lock-root.js';

const shadow = (rootField: string) => `root:${rootField}:20089:0:99999:7:::\ndaemon:*:20089:0:99999:7:::\n`;

test('a usable or empty root password is locked; other accounts untouched', (t) => {
  const usable = lockAccount(shadow('$y$j9T$abc$def'), 'root');
  t.true(usable.changed);
  t.is(usable.text, shadow('!$y$j9T$abc$def'));
  const empty = lockAccount(shadow(''), 'root');
  t.is(empty.text, shadow('*'));
  t.true(isLocked(empty.text.split(':')[1]));
});

test('an already locked root stays as it is; a missing root entry is an error', (t) => {
  for (const field of ['*', '!', '!$6$x']) {
    const result = lockAccount(shadow(field), 'root');
    t.false(result.changed);
    t.is(result.text, shadow(field));
  }
  t.throws(() => lockAccount('daemon:*:1:0:99999:7:::\n', 'root'), { message: /no entry for root/ });
});
