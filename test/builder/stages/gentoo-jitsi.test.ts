/**
 * The gentoo-jitsi stage against the stand-in Jitsi repository served on loopback, onto a root
 * laid out like a Gentoo stage3 (its account files, login.defs, merged /usr links): verified
 * .debs unpacked, control data in the work directory, the maintainer scripts' effects applied.
 * Needs root (owners) and the host's shadow tools, as the build does.
 */
import test from 'ava';
import { lstat, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../../src/builder/pipeline.js';
import { resolveRecipe } from '../../../src/builder/recipe/load.js';
import type { BuildContext } from '../../../src/builder/stage.js';
import { gentooJitsi, gentooJitsiWorkDir } from '../../../src/builder/stages/gentoo-jitsi.js';
import { overlays } from '../../../src/builder/stages/overlays.js';
import type { JitsiSource } from '../../../src/builder/jitsi-repository.js';
import type { InitSystem } from '../../../src/lib/init-systems.js';
import { PACKAGE_NAMES, serveStandinRepoForTests, SUITE } from '../../helpers/jitsi-standin/index.js';
import { scratchDir } from '../../helpers/scratch.js';

const standin = serveStandinRepoForTests(test);

/** 2026-01-01, as a build's SOURCE_DATE_EPOCH. */
const EPOCH = 1767225600;

/** A root with a stage3's account files and merged-/usr links, and a build context for it. */
async function stage3Context(init: InitSystem): Promise<BuildContext> {
  const workDir = await scratchDir('gentoo-jitsi-work-');
  const root = join(workDir, 'rootfs');
  for (const dir of ['etc', 'usr/bin', 'usr/lib', 'usr/lib64', 'var/log', 'root']) await mkdir(join(root, dir), { recursive: true });
  for (const [link, target] of [['bin', 'usr/bin'], ['sbin', 'usr/bin'], ['usr/sbin', 'bin'], ['lib', 'usr/lib'], ['lib64', 'usr/lib64']]) await symlink(target!, join(root, link!));
  await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/var/empty:/sbin/nologin\nportage:x:250:250:portage:/var/lib/portage/home:/sbin/nologin\n');
  await writeFile(join(root, 'etc/group'), 'root:x:0:\nnobody:x:65534:\nportage:x:250:portage\n');
  await writeFile(join(root, 'etc/shadow'), 'root:*:10770:0:::::\nnobody:*:10770:0:::::\nportage:!:10770:0:::::\n', { mode: 0o600 });
  await writeFile(join(root, 'etc/gshadow'), 'root:*::\nnobody:*::\nportage:!::portage\n', { mode: 0o600 });
  await writeFile(join(root, 'etc/login.defs'), 'UID_MIN 1000\nUID_MAX 60000\nSYS_UID_MIN 101\nSYS_UID_MAX 999\nGID_MIN 1000\nGID_MAX 60000\nSYS_GID_MIN 101\nSYS_GID_MAX 999\n');
  const recipe = await resolveRecipe(join(PROJECT_ROOT, 'recipes/gentoo-23.0.yaml'), { projectRoot: PROJECT_ROOT, init });
  const jitsi: JitsiSource = {
    url: standin.served.url,
    suite: `${SUITE}/`,
    key: { file: standin.key.keyring },
    pinnedFingerprint: standin.key.fingerprint.toUpperCase(),
    packages: [...PACKAGE_NAMES],
    servicesOff: ['jicofo', 'jitsi-videobridge2'],
  };
  return { init, rootfs: root, workDir, projectRoot: PROJECT_ROOT, recipe, jitsi, sourceDateEpoch: EPOCH, signal: new AbortController().signal, log: () => undefined } as unknown as BuildContext;
}

async function names(root: string, file: string): Promise<string[]> {
  return (await readFile(join(root, 'etc', file), 'utf8')).trim().split('\n').map((line) => line.split(':')[0]!);
}

test('skipped for a Debian recipe and with --jitsi-source none', async (t) => {
  const debian = await resolveRecipe(join(PROJECT_ROOT, 'recipes/debian-bookworm.yaml'), { projectRoot: PROJECT_ROOT, init: 'systemd' });
  t.is(gentooJitsi.skip!({ recipe: debian, jitsi: {} } as BuildContext), 'not a Gentoo image');
  const gentoo = await resolveRecipe(join(PROJECT_ROOT, 'recipes/gentoo-23.0.yaml'), { projectRoot: PROJECT_ROOT, init: 'systemd' });
  t.is(gentooJitsi.skip!({ recipe: gentoo } as BuildContext), 'no Jitsi source (--jitsi-source none)');
  t.is(gentooJitsi.skip!({ recipe: gentoo, jitsi: {} } as BuildContext), undefined);
});

test('openrc: the packages unpacked, users jicofo and jvb, the Debian sysv script aside and, after the overlays stage, /etc/init.d/jicofo our openrc-run script, control data outside the image', async (t) => {
  const ctx = await stage3Context('openrc');
  await gentooJitsi.run(ctx);
  const root = ctx.rootfs;
  t.deepEqual((await names(root, 'passwd')).slice(-2), ['jicofo', 'jvb']);
  t.true((await names(root, 'group')).includes('jitsi'));
  t.true((await lstat(join(root, 'usr/share/jicofo/jicofo.sh'))).isFile());
  t.true((await lstat(join(root, 'usr/share/jitsi-videobridge/jvb.sh'))).isFile());
  // The overlays stage owns our service files; this stage only cleared the path.
  await t.throwsAsync(lstat(join(root, 'etc/init.d/jicofo')));
  await overlays.run(ctx);
  const jicofo = await readFile(join(root, 'etc/init.d/jicofo'), 'utf8');
  t.true(jicofo.startsWith('#!/sbin/openrc-run\n'));
  t.is(jicofo, await readFile(join(PROJECT_ROOT, 'overlays/openrc-native/etc/init.d/jicofo'), 'utf8'));
  // Maintainer scripts and the Debian sysv script stay in the work directory, not in the root.
  const control = join(gentooJitsiWorkDir(ctx), 'control');
  t.deepEqual((await readdir(control)).sort(), [...PACKAGE_NAMES].sort());
  t.regex(await readFile(join(control, 'jicofo/debian-sysv-init.d/jicofo'), 'utf8'), /### BEGIN INIT INFO/);
  await t.throwsAsync(lstat(join(root, 'var/lib/dpkg')), undefined, 'no dpkg database in the image');
  t.false(control.startsWith(root));
});

test('systemd: the same users; no /etc/init.d/jicofo', async (t) => {
  const ctx = await stage3Context('systemd');
  await gentooJitsi.run(ctx);
  t.deepEqual((await names(ctx.rootfs, 'passwd')).slice(-2), ['jicofo', 'jvb']);
  await t.throwsAsync(lstat(join(ctx.rootfs, 'etc/init.d/jicofo')));
});
