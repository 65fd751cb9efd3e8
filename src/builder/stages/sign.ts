/**
 * sign: when the build was given `--sign KEY`, writes `<artifact>.asc` for this build's
 * artifacts and a new `SHA256SUMS` + `SHA256SUMS.gpg` covering every artifact of the output
 * directory (earlier builds' images included, so one directory can serve several images to
 * machinectl pull-tar). Everything is written to the build's staging directory and published
 * with the other artifacts, all or nothing. signRelease inspects every tarball first, as the
 * inspect stage does (a report from that stage is reused), so `--skip inspect` does not get
 * an image with errors signed.
 *
 * The key is read and unlocked while inputs are checked, before anything is built: a wrong
 * path or passphrase fails in seconds, not after the build. The build shows a progress list,
 * so it cannot ask for a passphrase: an encrypted key's passphrase comes from the
 * NSPAWN_JITSI_PASSPHRASE environment variable or the file NSPAWN_JITSI_PASSPHRASE_FILE names.
 */
import type * as openpgp from 'openpgp';
import { listRelease } from '../../release/artifacts.js';
import { readSigningKey } from '../../release/keys.js';
import { readPassphrase } from '../../release/passphrase.js';
import { refuseUncovered, signRelease } from '../../release/sign.js';
import type { BuildContext, Stage } from '../stage.js';

const unlockedKeys = new WeakMap<BuildContext, openpgp.PrivateKey>();

async function unlock(ctx: BuildContext): Promise<openpgp.PrivateKey> {
  let key = unlockedKeys.get(ctx);
  if (!key) {
    key = await readSigningKey(ctx.signKey!, () => readPassphrase({ noPrompt: true }, { prompt: `Passphrase for ${ctx.signKey}` }));
    unlockedKeys.set(ctx, key);
  }
  return key;
}

export const sign: Stage = {
  name: 'sign',
  title: 'Sign the release',
  skip: (ctx) => (ctx.signKey ? undefined : 'no --sign KEY given'),
  async verify(ctx) {
    await unlock(ctx);
    // Files in the output directory that signing would refuse are reported now, not at the end.
    refuseUncovered(ctx.finalOutDir, await listRelease(ctx.finalOutDir));
  },
  async run(ctx) {
    const key = await unlock(ctx);
    const outcome = await signRelease(ctx.finalOutDir, key, { stagingDir: ctx.outDir, log: ctx.log, signal: ctx.signal });
    for (const path of outcome.writtenPaths) if (!ctx.artifacts.includes(path)) ctx.artifacts.push(path);
    ctx.log(`signed with ${key.getFingerprint().toUpperCase()}: ${outcome.written.join(', ') || 'nothing new'}`);
  },
};
