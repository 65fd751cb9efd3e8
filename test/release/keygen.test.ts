import test from 'ava';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { UserError } from '../../src/lib/errors.js';
import { fileBaseName, writeNewKey } from '../../src/release/keygen.js';
import { scratchDir } from '../helpers/scratch.js';

const OPTIONS = { name: 'Example Releases', email: 'releases@example.org', algorithm: 'ed25519' as const, passphrase: 'a long passphrase' };

test('writes the private key 0600 and encrypted, the public key and two identical binary keyrings', async (t) => {
  const outDir = join(await scratchDir('keygen-'), 'keys');
  const result = await writeNewKey({ ...OPTIONS, outDir });
  t.deepEqual((await readdir(outDir)).sort(), ['example-releases.private.asc', 'example-releases.public.asc', 'import-pubring.gpg', 'import-pubring.pgp']);
  t.is((await stat(result.files.privateKey)).mode & 0o777, 0o600);
  t.is((await stat(result.files.publicKey)).mode & 0o777, 0o644);
  const privateKey = await openpgp.readPrivateKey({ armoredKey: await readFile(result.files.privateKey, 'utf8') });
  t.false(privateKey.isDecrypted());
  await openpgp.decryptKey({ privateKey, passphrase: OPTIONS.passphrase });
  const [gpg, pgp] = await Promise.all(result.files.keyrings.map((path) => readFile(path)));
  t.true(gpg.equals(pgp));
  t.is((await openpgp.readKey({ binaryKey: gpg })).getFingerprint().toUpperCase(), result.fingerprint);
});

test('never replaces an existing key, and leaves nothing of the new one behind', async (t) => {
  const outDir = await scratchDir('keygen-');
  await writeFile(join(outDir, 'import-pubring.pgp'), 'an older keyring');
  const error = await t.throwsAsync(writeNewKey({ ...OPTIONS, outDir }), { instanceOf: UserError });
  t.regex(error!.message, /import-pubring\.pgp already exists; move it away or choose another --out/);
  t.deepEqual(await readdir(outDir), ['import-pubring.pgp']);
  t.is(await readFile(join(outDir, 'import-pubring.pgp'), 'utf8'), 'an older keyring');
});

test('bad input is refused before a key is made', async (t) => {
  const outDir = await scratchDir('keygen-');
  await t.throwsAsync(writeNewKey({ ...OPTIONS, outDir, email: 'not-an-address' }), { message: /--email 'not-an-address' is not an e-mail address/ });
  await t.throwsAsync(writeNewKey({ ...OPTIONS, outDir, name: 'Evil <x@y>' }), { message: /--name must not contain/ });
  await t.throwsAsync(writeNewKey({ ...OPTIONS, outDir, passphrase: 'short' }), { message: /at least 8 characters/ });
  t.deepEqual(await readdir(outDir), []);
});

test('file base names are shell-safe', (t) => {
  t.is(fileBaseName('Example Jitsi Releases'), 'example-jitsi-releases');
  t.is(fileBaseName('  Ünïcode & co.  '), 'unicode-co');
  t.is(fileBaseName('***'), 'release-key');
});
