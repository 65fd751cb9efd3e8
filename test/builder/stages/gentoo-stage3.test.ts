/**
 * The gentoo-stage3 stage against the stand-in release tree served on loopback: a real
 * download, verification and unpack into a fresh root; a tampered stage3 refused with nothing
 * unpacked. Needs root (owners, capabilities), as the build does.
 */
import test, { type ExecutionContext } from 'ava';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { VerificationFailed } from '../../../src/builder/gentoo/signatures.js';
import { PROJECT_ROOT } from '../../../src/builder/pipeline.js';
import { resolveRecipe } from '../../../src/builder/recipe/load.js';
import type { BuildContext } from '../../../src/builder/stage.js';
import { gentooStage3 } from '../../../src/builder/stages/gentoo-stage3.js';
import { UserError } from '../../../src/lib/errors.js';
import type { InitSystem } from '../../../src/lib/init-systems.js';
import { buildStandinRelease, createTestKey, rawTarXz, serveStandin, SNAPSHOT_DATE, writeKeyFile, type StandinRelease } from '../../helpers/gentoo-standin/index.js';
import { scratchDir } from '../../helpers/scratch.js';

const KEYS = (async () => ({ release: await createTestKey('release'), snapshot: await createTestKey('snapshot') }))();

/** A build context for the gentoo recipe, its gentoo section pointed at a served stand-in. */
async function gentooContext(t: ExecutionContext, init: InitSystem, options: { tamper?: (release: StandinRelease) => Promise<void>; keyFile?: boolean; cacheDir?: string; tarball?: Buffer } = {}) {
  const keys = await KEYS;
  const mirrorDir = await scratchDir('gentoo-stage3-mirror-');
  const release = await buildStandinRelease({ dir: mirrorDir, keys, flavor: init, ...(options.tarball ? { tarball: options.tarball } : {}) });
  await options.tamper?.(release);
  const served = await serveStandin(mirrorDir);
  t.teardown(() => served.close());
  const keyFile = await writeKeyFile(join(await scratchDir('gentoo-stage3-keys-'), 'keys.asc'), keys.release, keys.snapshot);
  const recipe = await resolveRecipe(join(PROJECT_ROOT, 'recipes/gentoo-23.0.yaml'), { projectRoot: PROJECT_ROOT, init });
  recipe.gentoo = {
    ...recipe.gentoo!,
    mirror: served.url,
    'stage3-key-fingerprint': keys.release.fingerprint,
    'snapshot-key-fingerprint': keys.snapshot.fingerprint,
    'snapshot-date': SNAPSHOT_DATE,
    'key-file': options.keyFile === false ? undefined : keyFile,
  };
  const workDir = await scratchDir('gentoo-stage3-work-');
  const logs: string[] = [];
  const ctx = {
    init,
    rootfs: join(workDir, 'rootfs'),
    workDir,
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
    recipe,
    architecture: 'amd64',
    signal: new AbortController().signal,
    log: (line: string) => logs.push(line),
  } as unknown as BuildContext;
  return { ctx, logs, served, release };
}

test('skipped for a Debian recipe, run for a Gentoo one', async (t) => {
  const debian = await resolveRecipe(join(PROJECT_ROOT, 'recipes/debian-bookworm.yaml'), { projectRoot: PROJECT_ROOT, init: 'systemd' });
  t.is(gentooStage3.skip!({ recipe: debian } as BuildContext), 'not a Gentoo image');
  const gentoo = await resolveRecipe(join(PROJECT_ROOT, 'recipes/gentoo-23.0.yaml'), { projectRoot: PROJECT_ROOT, init: 'systemd' });
  t.is(gentooStage3.skip!({ recipe: gentoo } as BuildContext), undefined);
});

test('the check step refuses a recipe without a key file, naming the recipe and the setting, before anything is fetched', async (t) => {
  const { ctx, served } = await gentooContext(t, 'openrc', { keyFile: false });
  const error = await t.throwsAsync(gentooStage3.verify!(ctx), { instanceOf: UserError });
  t.regex(error!.message, /recipes\/gentoo-23\.0\.yaml: no key file for Gentoo's release and snapshot keys: pass --gentoo-key FILE or set gentoo\.key-file/);
  t.deepEqual(served.requests, []);
});

for (const init of ['openrc', 'systemd'] as const) {
  test(`${init}: the verified stage3 of the init system becomes the root, the snapshot's tree /var/db/repos/gentoo`, async (t) => {
    const { ctx, logs } = await gentooContext(t, init);
    await gentooStage3.verify!(ctx);
    await gentooStage3.run(ctx);
    await gentooStage3.cleanup!(ctx);
    const { rootfs } = ctx;
    t.is(await readFile(join(rootfs, 'etc/gentoo-release'), 'utf8'), 'Gentoo Base System release 2.17\n');
    t.deepEqual(await readdir(join(rootfs, 'var/db/pkg/sys-apps')), ['baselayout-2.17', init === 'openrc' ? 'openrc-0.62.6' : 'systemd-257.9']);
    const portage = await stat(join(rootfs, 'var/lib/portage'));
    t.deepEqual([portage.uid, portage.gid, portage.mode & 0o7777], [250, 250, 0o2750]);
    t.regex((await execa('getcap', [join(rootfs, 'bin/ping')])).stdout, /cap_net_raw=ep$/);
    t.is(await readFile(join(rootfs, 'var/db/repos/gentoo/profiles/repo_name'), 'utf8'), 'gentoo\n');
    t.true((await readdir(join(rootfs, 'var/db/repos/gentoo/net-im/prosody'))).includes('prosody-13.0.2.ebuild'));
    t.deepEqual(await readdir(join(rootfs, 'var/db/repos')), ['gentoo']);
    // Without a cache directory the downloads stay in the work directory; the snapshot's staging is gone.
    t.deepEqual((await readdir(ctx.workDir)).sort(), ['gentoo-downloads', 'rootfs']);
    t.true(logs.some((line) => line.includes(`stage3-amd64-${init}-`) && line.endsWith('is the root; gentoo-' + SNAPSHOT_DATE + '.tar.xz is /var/db/repos/gentoo')));
  });
}

test('with a cache directory the verified files are kept under <cache>/gentoo and the next build verifies them again without downloading', async (t) => {
  const cacheDir = await scratchDir('gentoo-stage3-cache-');
  const first = await gentooContext(t, 'openrc', { cacheDir });
  await gentooStage3.run(first.ctx);
  t.deepEqual(await readdir(first.ctx.workDir), ['rootfs'], 'nothing downloaded into the work directory');
  t.true((await readdir(join(cacheDir, 'gentoo'))).length > 0);
  // A second build from the same mirror and cache.
  const workDir = await scratchDir('gentoo-stage3-work-');
  const logs: string[] = [];
  const second = { ...first.ctx, workDir, rootfs: join(workDir, 'rootfs'), log: (line: string) => logs.push(line) } as BuildContext;
  const before = first.served.requests.length;
  await gentooStage3.run(second);
  const tarballs = first.served.requests.slice(before).filter((r) => r.path.endsWith('.tar.xz'));
  t.deepEqual(tarballs, [], 'neither tarball downloaded again');
  t.true(logs.some((line) => line.startsWith(`${first.release.stage3Name}: in the download cache`)));
  t.is(await readFile(join(second.rootfs, 'var/db/repos/gentoo/profiles/repo_name'), 'utf8'), 'gentoo\n');
});

test('a tampered stage3 is refused and nothing is unpacked', async (t) => {
  const { ctx, served } = await gentooContext(t, 'openrc', {
    tamper: async (release) => {
      const file = join(release.dir, release.stage3);
      const bytes = await readFile(file);
      bytes[bytes.length - 100] ^= 0xff;
      await writeFile(file, bytes);
    },
  });
  await gentooStage3.verify!(ctx);
  const error = await t.throwsAsync(gentooStage3.run(ctx), { instanceOf: VerificationFailed });
  t.regex(error!.message, /SHA512 is [0-9a-f]+, but stage3-amd64-openrc-.*\.DIGESTS says/);
  await gentooStage3.cleanup!(ctx);
  t.false(await stat(ctx.rootfs).then(() => true, () => false), 'no root was made');
  t.false(served.requests.some((r) => r.path.includes('snapshots/')), 'the snapshot is not fetched after a refused stage3');
});

test('a signed stage3 whose /var/db is a symbolic link is refused before the snapshot is moved through it', async (t) => {
  const outside = await scratchDir('gentoo-stage3-outside-');
  const tarball = await rawTarXz([
    { name: 'etc/', type: 'dir' },
    { name: 'etc/gentoo-release', type: 'file', content: 'Gentoo Base System release 2.17\n' },
    { name: 'var/', type: 'dir' },
    { name: 'var/db', type: 'symlink', linkname: outside },
  ]);
  const { ctx } = await gentooContext(t, 'openrc', { tarball });
  await t.throwsAsync(gentooStage3.run(ctx), { instanceOf: UserError, message: /: \/var\/db is not a directory \(a symbolic link\?\); the snapshot goes to \/var\/db\/repos\/gentoo, refusing to follow it$/ });
  t.deepEqual(await readdir(outside), []);
});
