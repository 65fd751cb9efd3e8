import test from 'ava';
import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { UserError } from '../../../src/lib/errors.js';
import { sign } from '../../../src/builder/stages/sign.js';
import type { BuildContext } from '../../../src/builder/stage.js';
import { generateSigningKey } from '../../../src/release/keys.js';
import { PASSPHRASE_ENV } from '../../../src/release/passphrase.js';
import { verifyRelease } from '../../../src/release/verify.js';
import { writeTarball } from '../../helpers/release-dir.js';
import { CLEAN_TREE, type Tree } from '../../helpers/image-trees.js';
import { scratchDir } from '../../helpers/scratch.js';

async function setup(options: { encrypted: boolean; tree?: Tree }) {
  const root = await scratchDir('sign-stage-');
  const finalOutDir = join(root, 'dist');
  const outDir = join(finalOutDir, '.partial-debian-jitsi-systemd-1');
  await mkdir(outDir, { recursive: true });
  const keyFile = join(root, 'release.private.asc');
  const generated = await generateSigningKey({ name: 'Stage', email: 'stage@example.org', algorithm: 'ed25519', passphrase: 'stage passphrase' });
  let armored = generated.privateArmored;
  if (!options.encrypted) {
    const locked = await openpgp.readPrivateKey({ armoredKey: armored });
    armored = (await openpgp.decryptKey({ privateKey: locked, passphrase: 'stage passphrase' })).armor();
  }
  await writeFile(keyFile, armored);
  const artifacts = [];
  // sign inspects the tarball, so it is a real (small, clean) one.
  await writeTarball(join(outDir, 'debian-jitsi-systemd.tar.xz'), options.tree);
  await writeFile(join(outDir, 'debian-jitsi-systemd.nspawn'), '[Exec]\nBoot=yes\n');
  artifacts.push(join(outDir, 'debian-jitsi-systemd.tar.xz'), join(outDir, 'debian-jitsi-systemd.nspawn'));
  const lines: string[] = [];
  const ctx = { signKey: keyFile, outDir, finalOutDir, artifacts, log: (line: string) => lines.push(line) } as unknown as BuildContext;
  const publicKey = (await openpgp.readKey({ armoredKey: generated.publicArmored })) as openpgp.PublicKey;
  return { ctx, lines, publicKey, finalOutDir, outDir };
}

/** What the pipeline does after the last stage: move every artifact to the output directory. */
async function publish(ctx: BuildContext): Promise<void> {
  for (const artifact of ctx.artifacts) await rename(artifact, join(ctx.finalOutDir, artifact.slice(ctx.outDir.length + 1)));
}

test('skipped without --sign', (t) => {
  t.is(sign.skip!({ signKey: undefined } as unknown as BuildContext), 'no --sign KEY given');
  t.is(sign.skip!({ signKey: '/k.asc' } as unknown as BuildContext), undefined);
});

test('signs into the staging directory; once published the directory verifies', async (t) => {
  const { ctx, lines, publicKey, finalOutDir } = await setup({ encrypted: false });
  await sign.verify!(ctx);
  await sign.run(ctx);
  t.deepEqual(
    ctx.artifacts.map((path) => path.slice(ctx.outDir.length + 1)).sort(),
    ['SHA256SUMS', 'SHA256SUMS.gpg', 'debian-jitsi-systemd.nspawn', 'debian-jitsi-systemd.nspawn.asc', 'debian-jitsi-systemd.tar.xz', 'debian-jitsi-systemd.tar.xz.asc'],
  );
  t.regex(lines.at(-1)!, /^signed with [0-9A-F]{40}: /);
  await publish(ctx);
  t.deepEqual((await verifyRelease(finalOutDir, [publicKey])).failures, []);
});

test('a file in the output directory that signing would refuse fails while checking inputs', async (t) => {
  const { ctx, finalOutDir } = await setup({ encrypted: false });
  await writeFile(join(finalOutDir, 'build.log'), 'log');
  const error = await t.throwsAsync(sign.verify!(ctx), { instanceOf: UserError });
  t.regex(error!.message, /build\.log: neither an artifact/);
});

test('with the inspect stage skipped (--skip inspect), signing still refuses an image with errors', async (t) => {
  const { ctx, outDir } = await setup({ encrypted: false, tree: { ...CLEAN_TREE, 'etc/ssh/ssh_host_ed25519_key': 'key' } });
  await sign.verify!(ctx);
  const error = await t.throwsAsync(sign.run(ctx), { instanceOf: UserError });
  t.regex(error!.message, /debian-jitsi-systemd\.tar\.xz: \/etc\/ssh\/ssh_host_ed25519_key: SSH host private key/);
  t.deepEqual((await readdir(outDir)).sort(), ['debian-jitsi-systemd.nspawn', 'debian-jitsi-systemd.tar.xz']);
});

test.serial('an encrypted key needs the passphrase from the environment; the build never prompts', async (t) => {
  const { ctx, outDir } = await setup({ encrypted: true });
  const saved = process.env[PASSPHRASE_ENV];
  delete process.env[PASSPHRASE_ENV];
  try {
    await t.throwsAsync(sign.verify!(ctx), { instanceOf: UserError, message: /no passphrase for the signing key: set NSPAWN_JITSI_PASSPHRASE/ });
    process.env[PASSPHRASE_ENV] = 'wrong passphrase';
    await t.throwsAsync(sign.verify!(ctx), { message: /wrong passphrase/ });
    process.env[PASSPHRASE_ENV] = 'stage passphrase';
    await sign.verify!(ctx);
    await sign.run(ctx);
    t.true((await readdir(outDir)).includes('SHA256SUMS.gpg'));
  } finally {
    if (saved === undefined) delete process.env[PASSPHRASE_ENV];
    else process.env[PASSPHRASE_ENV] = saved;
  }
});
