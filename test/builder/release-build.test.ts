/**
 * `--init all` / `--arch` lists with small stand-in stage lists (real files, no mmdebstrap):
 * every variant lands in one directory, signed together, or none does.
 */
import test from 'ava';
import { execa } from 'execa';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { projectVersion } from '../../src/builder/pipeline.js';
import { buildRelease, publicationOrder, variantsOf } from '../../src/builder/release-build.js';
import type { Stage } from '../../src/builder/stage.js';
import { pack } from '../../src/builder/stages/pack.js';
import { packageList } from '../../src/builder/stages/package-list.js';
import { hostArchitecture } from '../../src/host/tools.js';
import { artifactStem } from '../../src/image/artifact-names.js';
import { PASSPHRASE_ENV } from '../../src/release/passphrase.js';
import { verifyRelease } from '../../src/release/verify.js';
import { CLEAN_TREE, makeTree } from '../helpers/image-trees.js';
import { makeKey } from '../helpers/release-dir.js';
import { scratchDir } from '../helpers/scratch.js';

/** A small clean image tree (inspect finds no error in it), copied into the build's rootfs. */
const cleanRootfs: Stage = {
  name: 'clean-rootfs',
  title: 'Copy a small clean tree',
  async run(ctx) {
    const tree = await makeTree(CLEAN_TREE);
    await execa('cp', ['-a', `${tree}/.`, ctx.rootfs]);
  },
};

const failsFor = (init: string): Stage => ({
  name: 'fails',
  title: 'Fails for one init',
  async run(ctx) {
    if (ctx.init === init) throw new Error(`the ${init} variant broke`);
  },
});

async function setup() {
  const out = await scratchDir('release-out-');
  const work = await scratchDir('release-work-');
  const stem = async (init: 'systemd' | 'openrc') =>
    artifactStem({ distro: 'debian', suite: 'bookworm', init, version: await projectVersion(), architecture: await hostArchitecture() });
  return { out, work, stem, base: { outDir: out, workdirParent: work, compression: 'zstd' as const, level: 1, renderer: 'silent' as const, noCache: true } };
}

test('variants: every init for every architecture; without --arch one each', (t) => {
  t.deepEqual(variantsOf(['systemd', 'openrc'], ['amd64', 'arm64']), [
    { init: 'systemd', architecture: 'amd64' },
    { init: 'openrc', architecture: 'amd64' },
    { init: 'systemd', architecture: 'arm64' },
    { init: 'openrc', architecture: 'arm64' },
  ]);
  t.deepEqual(variantsOf(['systemd', 'openrc'], undefined), [{ init: 'systemd' }, { init: 'openrc' }]);
});

test('publication order: images first, SHA256SUMS.gpg last', (t) => {
  t.deepEqual(publicationOrder(['SHA256SUMS.gpg', 'b.tar.zst.asc', 'SHA256SUMS', 'b.tar.zst', 'a.nspawn']), [
    'a.nspawn',
    'b.tar.zst',
    'b.tar.zst.asc',
    'SHA256SUMS',
    'SHA256SUMS.gpg',
  ]);
});

test('--init all with --sign: both images in one directory, one SHA256SUMS covering both, verified', async (t) => {
  const { out, base, stem } = await setup();
  const { armoredPrivate, publicKey } = await makeKey('Release Build');
  const keyFile = join(await scratchDir('release-key-'), 'key.asc');
  await writeFile(keyFile, armoredPrivate);
  process.env[PASSPHRASE_ENV] = 'correct horse';
  try {
    const result = await buildRelease({ ...base, inits: ['systemd', 'openrc'], signKey: keyFile, stages: [cleanRootfs, packageList, pack, { name: 'sign', title: 'sign', run: async () => undefined }] });
    t.deepEqual(result.variants.map((v) => v.init), ['systemd', 'openrc']);
  } finally {
    delete process.env[PASSPHRASE_ENV];
  }
  const files = (await readdir(out)).sort();
  const systemd = await stem('systemd');
  const openrc = await stem('openrc');
  for (const name of [`${systemd}.tar.zst`, `${openrc}.tar.zst`, `${systemd}.packages`, `${openrc}.packages`, 'SHA256SUMS', 'SHA256SUMS.gpg']) t.true(files.includes(name), name);
  t.false(files.some((name) => name.startsWith('.')), `no staging directory left: ${files.join(' ')}`);
  const sums = await readFile(join(out, 'SHA256SUMS'), 'utf8');
  t.is(sums.trim().split('\n').length, 4, sums);
  const report = await verifyRelease(out, [publicKey as openpgp.PublicKey]);
  t.deepEqual(report.failures, []);
});

test('one variant fails: nothing of any variant is published, an earlier release stays as it was', async (t) => {
  const { out, base } = await setup();
  await writeFile(join(out, 'earlier.packages'), 'from an earlier release\n');
  await t.throwsAsync(buildRelease({ ...base, inits: ['systemd', 'openrc'], stages: [cleanRootfs, packageList, failsFor('openrc'), pack] }), {
    message: 'the openrc variant broke',
  });
  t.deepEqual(await readdir(out), ['earlier.packages']);
});

test('the base handoff: each variant may claim; only one followed by a variant of the same architecture may offer', async (t) => {
  const { base } = await setup();
  const seen: string[] = [];
  const recordHandoff: Stage = {
    name: 'record-handoff',
    title: 'Record what the variant may do with the base',
    async run(ctx) {
      seen.push(`${ctx.init} ${ctx.architecture}: ${ctx.baseHandoff?.offer ? 'offers' : 'no offer'}, ${ctx.baseHandoff?.claim ? 'claims' : 'no claim'}`);
    },
  };
  const stages = [cleanRootfs, recordHandoff, packageList, pack];
  await buildRelease({ ...base, inits: ['systemd', 'openrc'], stages });
  const host = await hostArchitecture();
  t.deepEqual(seen, [`systemd ${host}: offers, claims`, `openrc ${host}: no offer, claims`]);
  seen.length = 0;
  await buildRelease({ ...base, inits: ['systemd'], architectures: ['amd64', 'arm64'], stages: [cleanRootfs, recordHandoff, pack] });
  t.deepEqual(seen, ['systemd amd64: no offer, claims', 'systemd arm64: no offer, claims']);
});
