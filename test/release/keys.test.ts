import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { UserError } from '../../src/lib/errors.js';
import { binaryKeyring, generateSigningKey, readPublicKeys, readSigningKey } from '../../src/release/keys.js';
import { scratchDir } from '../helpers/scratch.js';

test('default keys are v4 EdDSA on legacy curve25519, encrypted, signing only', async (t) => {
  const key = await generateSigningKey({ name: 'Maintainer', email: 'm@example.org', algorithm: 'ed25519', passphrase: 'pw' });
  const privateKey = await openpgp.readPrivateKey({ armoredKey: key.privateArmored });
  t.is(privateKey.keyPacket.version, 4);
  t.is(privateKey.getAlgorithmInfo().algorithm, 'eddsaLegacy');
  t.false(privateKey.isDecrypted());
  t.is(privateKey.getSubkeys().length, 0);
  t.deepEqual(privateKey.getUserIDs(), ['Maintainer <m@example.org>']);
  const fromBinary = await openpgp.readKey({ binaryKey: key.publicBinary });
  t.is(fromBinary.getFingerprint().toUpperCase(), key.fingerprint);
  t.false(fromBinary.isPrivate());
});

test('RSA keys have 4096 bits', async (t) => {
  const key = await generateSigningKey({ name: 'Maintainer', email: 'm@example.org', algorithm: 'rsa4096', passphrase: 'pw' });
  const publicKey = await openpgp.readKey({ armoredKey: key.publicArmored });
  t.deepEqual(publicKey.getAlgorithmInfo(), { algorithm: 'rsaEncryptSign', bits: 4096 });
  t.is(publicKey.keyPacket.version, 4);
});

test('readSigningKey unlocks with the passphrase and names the file on a wrong one', async (t) => {
  const dir = await scratchDir('keys-');
  const key = await generateSigningKey({ name: 'M', email: 'm@example.org', algorithm: 'ed25519', passphrase: 'right' });
  const path = join(dir, 'm.private.asc');
  await writeFile(path, key.privateArmored);
  const unlocked = await readSigningKey(path, async () => 'right');
  t.true(unlocked.isDecrypted());
  const error = await t.throwsAsync(readSigningKey(path, async () => 'wrong'), { instanceOf: UserError });
  t.is(error!.message, `${path}: wrong passphrase (the key could not be unlocked)`);
  await writeFile(join(dir, 'junk.asc'), 'hello');
  await t.throwsAsync(readSigningKey(join(dir, 'junk.asc'), async () => 'x'), { message: /junk\.asc: not an OpenPGP private key/ });
});

test('keys that GnuPG 2.2 cannot verify are refused', async (t) => {
  const dir = await scratchDir('keys-');
  const v6 = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ name: 'N', email: 'n@example.org' }], format: 'armored', config: { v6Keys: true } });
  await writeFile(join(dir, 'v6.asc'), v6.privateKey);
  await t.throwsAsync(readSigningKey(join(dir, 'v6.asc'), async () => ''), { message: /a v6 key; GnuPG 2\.2/ });
  const newEd25519 = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ name: 'N', email: 'n@example.org' }], format: 'armored', config: { v6Keys: false } });
  await writeFile(join(dir, 'ed.asc'), newEd25519.privateKey);
  await t.throwsAsync(readSigningKey(join(dir, 'ed.asc'), async () => ''), { message: /algorithm 'ed25519' \(RFC 9580\) is unknown to GnuPG 2\.2/ });
});

test('an unencrypted key needs no passphrase', async (t) => {
  const dir = await scratchDir('keys-');
  const plain = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'CI' }], format: 'armored' });
  await writeFile(join(dir, 'ci.asc'), plain.privateKey);
  const key = await readSigningKey(join(dir, 'ci.asc'), async () => t.fail('asked for a passphrase') as never);
  t.true(key.isDecrypted());
});

test('readPublicKeys reads armored and binary keyrings with several keys', async (t) => {
  const dir = await scratchDir('keys-');
  const one = await generateSigningKey({ name: 'One', email: 'one@example.org', algorithm: 'ed25519', passphrase: 'x' });
  const two = await generateSigningKey({ name: 'Two', email: 'two@example.org', algorithm: 'ed25519', passphrase: 'x' });
  const keys = [await openpgp.readKey({ armoredKey: one.publicArmored }), await openpgp.readKey({ armoredKey: two.publicArmored })];
  await writeFile(join(dir, 'ring.gpg'), binaryKeyring(keys));
  await writeFile(join(dir, 'one.asc'), one.publicArmored);
  await writeFile(join(dir, 'one.private.asc'), one.privateArmored);
  t.deepEqual(
    (await readPublicKeys(join(dir, 'ring.gpg'))).map((key) => key.getFingerprint().toUpperCase()),
    [one.fingerprint, two.fingerprint],
  );
  t.is((await readPublicKeys(join(dir, 'one.asc')))[0].getFingerprint().toUpperCase(), one.fingerprint);
  const fromPrivate = await readPublicKeys(join(dir, 'one.private.asc'));
  t.false(fromPrivate[0].isPrivate());
  await t.throwsAsync(readPublicKeys(join(dir, 'missing.asc')), { message: /missing\.asc: cannot read the public key \(ENOENT\)/ });
});
