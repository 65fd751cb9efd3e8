/**
 * The pipeline runner with small stand-in stage lists (real files, real processes, no
 * mmdebstrap): publishing only on success, cleanup order, abort. Real builds are tested in
 * test/integration/.
 */
import test from 'ava';
import { scratchDir } from '../helpers/scratch.js';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildRootfs, checkBuildOptions, PROJECT_ROOT, projectVersion, sourceDateEpochFrom, type BuildOptions } from '../../src/builder/pipeline.js';
import { hostArchitecture } from '../../src/host/tools.js';
import { artifactStem } from '../../src/image/artifact-names.js';
import { runLogged, BuildInterrupted } from '../../src/builder/run-program.js';
import { pack } from '../../src/builder/stages/pack.js';
import { packageList } from '../../src/builder/stages/package-list.js';
import type { BuildContext, Stage } from '../../src/builder/stage.js';
import { UserError } from '../../src/lib/errors.js';

/** The default recipe (Debian bookworm) built for this host. */
let stem = '';
test.before(async () => {
  stem = artifactStem({ distro: 'debian', suite: 'bookworm', init: 'systemd', version: await projectVersion(), architecture: await hostArchitecture() });
});


const makeRootfs: Stage = {
  name: 'make-rootfs',
  title: 'Make a tiny rootfs',
  async run(ctx) {
    await mkdir(join(ctx.rootfs, 'etc'), { recursive: true });
    await mkdir(join(ctx.rootfs, 'var/lib/dpkg'), { recursive: true });
    await writeFile(join(ctx.rootfs, 'etc/os-release'), 'ID=test\n');
    await writeFile(join(ctx.rootfs, 'var/lib/dpkg/status'), 'Package: base-files\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n\n');
  },
};

function recorder(events: string[], name: string, run: (ctx: BuildContext) => Promise<void> = async () => undefined): Stage {
  return {
    name,
    title: name,
    run: async (ctx) => {
      events.push(`run ${name}`);
      await run(ctx);
    },
    cleanup: async () => {
      events.push(`cleanup ${name}`);
    },
  };
}

async function setup(): Promise<{ out: string; work: string; base: Omit<BuildOptions, 'stages'> }> {
  const out = await scratchDir('pipeline-out-');
  const work = await scratchDir('pipeline-work-');
  return { out, work, base: { init: 'systemd', outDir: out, workdirParent: work, compression: 'zstd', level: 1, renderer: 'silent' } };
}

test('success: artifacts published together, staging and work directories gone, cleanups in reverse', async (t) => {
  const { out, work, base } = await setup();
  const events: string[] = [];
  const result = await buildRootfs({ ...base, stages: [recorder(events, 'a'), makeRootfs, packageList, recorder(events, 'b'), pack] });
  t.deepEqual((await readdir(out)).sort(), [`${stem}.packages`, `${stem}.tar.zst`]);
  t.deepEqual(result.artifacts, [join(out, `${stem}.packages`), join(out, `${stem}.tar.zst`)]);
  t.is(result.tarball, join(out, `${stem}.tar.zst`));
  t.regex(result.sha256, /^[0-9a-f]{64}$/);
  t.deepEqual(await readdir(work), [], 'work directory removed');
  t.deepEqual(events, ['run a', 'run b', 'cleanup b', 'cleanup a']);
});

test('a failing stage: nothing published (not even artifacts of earlier stages), all cleaned up', async (t) => {
  const { out, work, base } = await setup();
  await writeFile(join(out, `${stem}.packages`), 'from an earlier build\n');
  const events: string[] = [];
  const failing = recorder(events, 'fails', async () => {
    throw new Error('stage exploded');
  });
  await t.throwsAsync(buildRootfs({ ...base, stages: [recorder(events, 'a'), makeRootfs, packageList, failing, pack] }), { message: 'stage exploded' });
  t.deepEqual(await readdir(out), [`${stem}.packages`], 'only the earlier file, untouched, no staging directory');
  t.deepEqual(await readdir(work), []);
  t.deepEqual(events, ['run a', 'run fails', 'cleanup fails', 'cleanup a']);
});

test('an abort kills the running program, runs cleanups and leaves nothing', async (t) => {
  const { out, work, base } = await setup();
  const events: string[] = [];
  let sleeper: number | undefined;
  const slow = recorder(events, 'slow', async (ctx) => {
    setTimeout(async () => {
      const { stdout } = await import('execa').then(({ execa }) => execa('pgrep', ['-P', String(process.pid), '-x', 'sleep'], { reject: false }));
      sleeper = Number(stdout.split('\n')[0]) || undefined;
      abort.abort(new BuildInterrupted('SIGTERM'));
    }, 500);
    await runLogged(ctx, 'sleep', ['60']);
  });
  const abort = new AbortController();
  const started = Date.now();
  const error = await t.throwsAsync(buildRootfs({ ...base, signal: abort.signal, stages: [makeRootfs, slow, pack] }));
  t.true(error instanceof BuildInterrupted, String(error));
  t.true(Date.now() - started < 15_000, 'did not wait for sleep 60');
  t.truthy(sleeper, 'the sleep process was found while running');
  t.throws(() => process.kill(sleeper!, 0), { code: 'ESRCH' }, 'the sleep process is gone');
  t.deepEqual(await readdir(out), []);
  t.deepEqual(await readdir(work), []);
  t.deepEqual(events, ['run slow', 'cleanup slow']);
});

test('option checks: distro, --skip names, level ranges', (t) => {
  t.notThrows(() => checkBuildOptions({ init: 'systemd', distro: 'gentoo' }));
  t.throws(() => checkBuildOptions({ init: 'systemd', distro: 'arch' }), { instanceOf: UserError, message: /unknown --distro 'arch' \(debian, gentoo can be built\)/ });
  t.throws(() => checkBuildOptions({ init: 'systemd', skip: ['bootstrap'] }), { message: /--skip bootstrap: this stage cannot be skipped/ });
  t.throws(() => checkBuildOptions({ init: 'systemd', skip: ['cleanup/nothing'] }), { message: /no such stage or cleanup step/ });
  t.notThrows(() => checkBuildOptions({ init: 'systemd', skip: ['cleanup/logs', 'package-list'] }));
  t.throws(() => checkBuildOptions({ init: 'systemd', compression: 'xz', level: 12 }), { message: /out of range for xz \(0\.\.9\)/ });
  t.throws(() => checkBuildOptions({ init: 'systemd', signKey: 'k.asc', stages: [] }), { message: /--sign: this build has no sign stage/ });
  t.deepEqual(checkBuildOptions({ init: 'openrc' }), { compression: 'xz', level: 6 });
  t.deepEqual(checkBuildOptions({ init: 'openrc', compression: 'zstd' }), { compression: 'zstd', level: 19 });
});

test('--distro gentoo without --suite builds recipes/gentoo-23.0.yaml, and the artifacts are named after it', async (t) => {
  const { base } = await setup();
  const seen: { distro?: string; suite?: string; file?: string } = {};
  const result = await buildRootfs({
    ...base,
    init: 'openrc',
    distro: 'gentoo',
    stages: [recorder([], 'look', async (ctx) => void Object.assign(seen, { distro: ctx.recipe.distro, suite: ctx.recipe.suite, file: ctx.recipe.file })), makeRootfs, pack],
  });
  t.deepEqual(seen, { distro: 'gentoo', suite: '23.0', file: join(PROJECT_ROOT, 'recipes/gentoo-23.0.yaml') });
  t.regex(result.tarball, /\/gentoo-23\.0-jitsi-openrc-[^/]+\.tar\.zst$/);
});

test('--gentoo-key reaches the stages as an absolute path, taken from where the command ran', async (t) => {
  const { base } = await setup();
  let keyFile: string | undefined;
  await buildRootfs({ ...base, distro: 'gentoo', cwd: '/srv/keys', gentooKey: 'gentoo-release.asc', stages: [recorder([], 'look', async (ctx) => void (keyFile = ctx.gentooKeyFile)), makeRootfs, pack] });
  t.is(keyFile, '/srv/keys/gentoo-release.asc');
});

test('SOURCE_DATE_EPOCH: the environment wins, the recipe is the fallback, junk is refused', (t) => {
  t.is(sourceDateEpochFrom({ SOURCE_DATE_EPOCH: '1234' }, 99), 1234);
  t.is(sourceDateEpochFrom({}, 99), 99);
  t.is(sourceDateEpochFrom({ SOURCE_DATE_EPOCH: '' }, 99), 99);
  t.throws(() => sourceDateEpochFrom({ SOURCE_DATE_EPOCH: 'yesterday' }, 99), { message: /whole number of seconds/ });
});

test('--arch names the artifacts and reaches the stages; the host architecture is known to them', async (t) => {
  const { out, base } = await setup();
  const seen: string[] = [];
  const record: Stage = { name: 'record', title: 'record', run: async (ctx) => void seen.push(ctx.architecture, ctx.hostArchitecture) };
  const result = await buildRootfs({ ...base, architecture: 'arm64', stages: [makeRootfs, record, packageList, pack] });
  t.is(result.architecture, 'arm64');
  t.deepEqual(seen, ['arm64', await hostArchitecture()]);
  const armStem = artifactStem({ distro: 'debian', suite: 'bookworm', init: 'systemd', version: await projectVersion(), architecture: 'arm64' });
  t.deepEqual((await readdir(out)).sort(), [`${armStem}.packages`, `${armStem}.tar.zst`]);
});

test('an architecture images are not built for, from a recipe, is refused naming --arch', async (t) => {
  const { base } = await setup();
  const recipeDir = await scratchDir('pipeline-recipe-');
  const recipe = join(recipeDir, 'armhf.yaml');
  await writeFile(recipe, 'base:\n  suite: bookworm\n  architecture: armhf\n');
  await t.throwsAsync(buildRootfs({ ...base, recipe, jitsiSource: 'none', stages: [makeRootfs, pack] }), {
    instanceOf: UserError,
    message: /base\.architecture is armhf, but images are built for amd64, arm64 only; pass --arch amd64\|arm64/,
  });
});
