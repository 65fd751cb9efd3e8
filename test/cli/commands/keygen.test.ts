/** keygen as a user meets it: exit codes and messages. */
import test from 'ava';
import { cli } from '../../helpers/release-cli.js';
import { scratchDir } from '../../helpers/scratch.js';

test('keygen without a passphrase source and without a terminal says how to give one', async (t) => {
  const out = await scratchDir('cli-keygen-');
  const result = await cli(['keygen', '--name', 'N', '--email', 'n@example.org', '--out', out], { env: { NSPAWN_JITSI_PASSPHRASE: undefined } });
  t.is(result.exitCode, 1);
  t.regex(String(result.stderr), /no passphrase: pass --passphrase-file FILE, set NSPAWN_JITSI_PASSPHRASE/);
  const noName = await cli(['keygen', '--email', 'n@example.org']);
  t.is(noName.exitCode, 2);
  t.regex(String(noName.stderr), /--name is required/);
  // A passphrase is never an argument.
  const asArgument = await cli(['keygen', '--name', 'N', '--email', 'n@example.org', '--passphrase', 'x']);
  t.is(asArgument.exitCode, 2);
  t.regex(String(asArgument.stderr), /unknown option --passphrase/);
});
