/** Shared fixtures for the release tests: throwaway keys and small release directories. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { generateSigningKey } from '../../src/release/keys.js';
import { scratchDir } from './scratch.js';

export async function makeKey(name = 'Release Test'): Promise<{ privateKey: openpgp.PrivateKey; publicKey: openpgp.PublicKey; armoredPrivate: string }> {
  const generated = await generateSigningKey({ name, email: 'release-test@example.org', algorithm: 'ed25519', passphrase: 'correct horse' });
  const locked = await openpgp.readPrivateKey({ armoredKey: generated.privateArmored });
  const privateKey = await openpgp.decryptKey({ privateKey: locked, passphrase: 'correct horse' });
  return { privateKey, publicKey: privateKey.toPublic(), armoredPrivate: generated.privateArmored };
}

/** A release directory with a (fake, small) tarball, its .nspawn and .packages. */
export async function makeReleaseDir(): Promise<string> {
  const dir = await scratchDir('release-test-');
  await writeFile(join(dir, 'debian-jitsi-systemd.tar.zst'), Buffer.from('not really a tarball, but bytes to sign\n'));
  await writeFile(join(dir, 'debian-jitsi-systemd.nspawn'), '[Exec]\nBoot=yes\n');
  await writeFile(join(dir, 'debian-jitsi-systemd.packages'), 'nginx 1.22.1-9\nprosody 0.12.3-1\n');
  return dir;
}
