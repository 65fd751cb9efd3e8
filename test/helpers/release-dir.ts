/** Shared fixtures for the release tests: throwaway keys and small release directories. */
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { generateSigningKey } from '../../src/release/keys.js';
import { scratchDir } from './scratch.js';
import { CLEAN_TREE, makeTree, packTree, type Tree } from './image-trees.js';

export async function makeKey(name = 'Release Test'): Promise<{ privateKey: openpgp.PrivateKey; publicKey: openpgp.PublicKey; armoredPrivate: string }> {
  const generated = await generateSigningKey({ name, email: 'release-test@example.org', algorithm: 'ed25519', passphrase: 'correct horse' });
  const locked = await openpgp.readPrivateKey({ armoredKey: generated.privateArmored });
  const privateKey = await openpgp.decryptKey({ privateKey: locked, passphrase: 'correct horse' });
  return { privateKey, publicKey: privateKey.toPublic(), armoredPrivate: generated.privateArmored };
}

let cleanTarball: Promise<string> | undefined;

/** Copies a small real image tarball (`tree`, or a clean one) to `destination`: sign inspects it. */
export async function writeTarball(destination: string, tree?: Tree): Promise<void> {
  const source = tree ? packTree(await makeTree(tree)) : (cleanTarball ??= makeTree(CLEAN_TREE).then((root) => packTree(root)));
  await copyFile(await source, destination);
}

/** A release directory with a small tarball (clean unless `tree` is given), its .nspawn and .packages. */
export async function makeReleaseDir(tree?: Tree): Promise<string> {
  const dir = await scratchDir('release-test-');
  await writeTarball(join(dir, 'debian-jitsi-systemd.tar.zst'), tree);
  await writeFile(join(dir, 'debian-jitsi-systemd.nspawn'), '[Exec]\nBoot=yes\n');
  await writeFile(join(dir, 'debian-jitsi-systemd.packages'), 'nginx 1.22.1-9\nprosody 0.12.3-1\n');
  return dir;
}
