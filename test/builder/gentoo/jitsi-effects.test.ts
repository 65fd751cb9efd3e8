/**
 * The maintainer scripts' effects on a root laid out like a Gentoo stage3 (account files as a
 * stage3 has them, merged /usr links), with the stand-in packages verified and unpacked onto
 * it as the Gentoo path does (jitsi-debs.ts, deb-unpack.ts), then applyJitsiEffects with the
 * build host's shadow tools. Needs root (owners), as the build does.
 */
import test, { type ExecutionContext } from 'ava';
import { lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { unpackDebs } from '../../../src/builder/gentoo/deb-unpack.js';
import { fetchVerifiedJitsiDebs, type VerifiedDeb } from '../../../src/builder/gentoo/jitsi-debs.js';
import { applyJitsiEffects } from '../../../src/builder/gentoo/jitsi-effects.js';
import { resolveRecipe } from '../../../src/builder/recipe/load.js';
import { applyOverlay } from '../../../src/builder/stages/overlays.js';
import { JICOFO_ENV, JICOFO_OWNER, JICOFO_PROGRAM } from '../../../src/configurator/components/jicofo/index.js';
import { UserError } from '../../../src/lib/errors.js';
import type { InitSystem } from '../../../src/lib/init-systems.js';
import { buildStandinRepo, createSigningKey, PACKAGE_NAMES, serveRepo, SUITE, type SigningKey } from '../../helpers/jitsi-standin/index.js';
import { PROJECT_ROOT } from '../../helpers/images.js';
import { scratchDir } from '../../helpers/scratch.js';

const keys: SigningKey[] = [];
/** The stand-in packages, verified once; each test unpacks them onto a fresh root. */
const DEBS = (async (): Promise<VerifiedDeb[]> => {
  const key = await createSigningKey();
  keys.push(key);
  const repo = await buildStandinRepo({ dir: await scratchDir('jitsi-effects-repo-'), version: 'v1', signingKey: key });
  const server = await serveRepo(repo.dir);
  try {
    return await fetchVerifiedJitsiDebs(
      { url: server.url, suite: `${SUITE}/`, key: { file: key.keyring }, pinnedFingerprint: key.fingerprint.toUpperCase(), packages: [...PACKAGE_NAMES] },
      await scratchDir('jitsi-effects-debs-'),
    );
  } finally {
    await server.close();
  }
})();
test.after.always(async () => {
  for (const key of keys) await key.dispose();
});

/** 2026-01-01, as a build's SOURCE_DATE_EPOCH. */
const EPOCH = 1767225600;

/**
 * A root with a stage3's account files (root, Gentoo's fixed-id system accounts such as
 * portage 250) and merged-/usr links, and the stand-in packages' data on it.
 */
async function stage3WithPackages() {
  const work = await scratchDir('jitsi-effects-');
  const root = join(work, 'root');
  for (const dir of ['etc', 'usr/bin', 'usr/lib', 'usr/lib64', 'var/log', 'root']) await mkdir(join(root, dir), { recursive: true });
  for (const [link, target] of [['bin', 'usr/bin'], ['sbin', 'usr/bin'], ['usr/sbin', 'bin'], ['lib', 'usr/lib'], ['lib64', 'usr/lib64']]) await symlink(target!, join(root, link!));
  await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\nbin:x:1:1:bin:/bin:/sbin/nologin\nnobody:x:65534:65534:nobody:/var/empty:/sbin/nologin\nportage:x:250:250:portage:/var/lib/portage/home:/sbin/nologin\n');
  await writeFile(join(root, 'etc/group'), 'root:x:0:\nbin:x:1:daemon\nwheel:x:10:root\nnobody:x:65534:\nportage:x:250:portage\n');
  await writeFile(join(root, 'etc/shadow'), 'root:*:10770:0:::::\nbin:*:10770:0:::::\nnobody:*:10770:0:::::\nportage:!:10770:0:::::\n', { mode: 0o600 });
  await writeFile(join(root, 'etc/gshadow'), 'root:*::\nbin:*::daemon\nwheel:*::root\nnobody:*::\nportage:!::portage\n', { mode: 0o600 });
  // Gentoo's login.defs (sys-apps/shadow): system ids below 1000.
  await writeFile(join(root, 'etc/login.defs'), 'UID_MIN 1000\nUID_MAX 60000\nSYS_UID_MIN 101\nSYS_UID_MAX 999\nGID_MIN 1000\nGID_MAX 60000\nSYS_GID_MIN 101\nSYS_GID_MAX 999\n');
  const controlDir = join(work, 'control');
  const manifest = await unpackDebs(await DEBS, { root, controlDir, workDir: join(work, 'data') });
  return { root, controlDir, manifest };
}

async function accounts(root: string, file: string): Promise<Map<string, string[]>> {
  const lines = (await readFile(join(root, 'etc', file), 'utf8')).trim().split('\n');
  return new Map(lines.map((line) => [line.split(':')[0]!, line.split(':')]));
}

async function owner(root: string, path: string): Promise<string> {
  const info = await lstat(join(root, path));
  return `${info.uid}:${info.gid} ${(info.mode & 0o7777).toString(8)}`;
}

async function accountFiles(root: string): Promise<string[]> {
  return Promise.all(['passwd', 'group', 'shadow', 'gshadow'].map((f) => readFile(join(root, 'etc', f), 'utf8')));
}

/** What the overlays stage (which runs after gentoo-jitsi) adds: the Gentoo recipe's trees for `init`. */
async function withOverlays(root: string, init: InitSystem): Promise<void> {
  const recipe = await resolveRecipe(join(PROJECT_ROOT, 'recipes/gentoo-23.0.yaml'), { projectRoot: PROJECT_ROOT, init });
  for (const dir of recipe.overlays) await applyOverlay(dir, root);
}

/** Every file (not directory) below `dir`, relative to it. */
async function filesBelow(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesBelow(full, base)));
    else out.push(full.slice(base.length + 1));
  }
  return out;
}

async function applied(t: ExecutionContext, init: InitSystem) {
  const setup = await stage3WithPackages();
  const report = await applyJitsiEffects(setup.root, setup.manifest, init, { sourceDateEpoch: EPOCH });
  const passwd = await accounts(setup.root, 'passwd');
  const group = await accounts(setup.root, 'group');
  const gid = Number(group.get('jitsi')![2]);
  const uid = (name: string) => Number(passwd.get(name)![2]);
  t.log(`jitsi ${gid}, jicofo ${uid('jicofo')}, jvb ${uid('jvb')}`);
  return { ...setup, report, passwd, group, gid, uid };
}

test('openrc: group jitsi, users jicofo and jvb as upstream makes them, their directories, the Debian sysv script aside for the native scripts, nothing enabled', async (t) => {
  const { root, controlDir, report, passwd, group, gid, uid } = await applied(t, 'openrc');

  // A system group and system users (below login.defs' UID_MIN), not ids the stage3 has.
  t.true(gid >= 101 && gid <= 999 && gid !== 250, `gid ${gid}`);
  t.deepEqual(group.get('jitsi'), ['jitsi', 'x', String(gid), '']);
  for (const [name, home] of [['jicofo', '/usr/share/jicofo'], ['jvb', '/usr/share/jitsi-videobridge']] as const) {
    t.deepEqual(passwd.get(name), [name, 'x', String(uid(name)), String(gid), '', home, '/bin/bash']);
    t.true(uid(name) >= 101 && uid(name) <= 999 && uid(name) !== 250, `${name} ${uid(name)}`);
  }
  t.not(uid('jicofo'), uid('jvb'));
  // No password (locked), the password change date from SOURCE_DATE_EPOCH, not today.
  const shadow = await accounts(root, 'shadow');
  for (const name of ['jicofo', 'jvb']) t.deepEqual(shadow.get(name)!.slice(0, 3), [name, '!', String(Math.floor(EPOCH / 86400))]);
  t.deepEqual((await accounts(root, 'gshadow')).get('jitsi'), ['jitsi', '!', '', '']);
  t.deepEqual(
    report.users.map((u) => [u.name, u.created]),
    [
      ['jicofo', true],
      ['jvb', true],
    ],
  );

  // Homes claimed recursively; config directories 0750; the log directory 0770 in group jitsi.
  t.is(await owner(root, 'usr/share/jicofo'), `${uid('jicofo')}:${gid} 755`);
  t.is(await owner(root, 'usr/share/jicofo/jicofo.sh'), `${uid('jicofo')}:${gid} 755`);
  t.is(await owner(root, 'usr/share/jicofo/jicofo.jar'), `${uid('jicofo')}:${gid} 644`);
  t.is(await owner(root, 'usr/share/jitsi-videobridge/jvb.sh'), `${uid('jvb')}:${gid} 755`);
  t.is(await owner(root, 'etc/jitsi/jicofo'), `${uid('jicofo')}:${gid} 750`);
  t.is(await owner(root, 'etc/jitsi/videobridge'), `${uid('jvb')}:${gid} 750`);
  t.is(await owner(root, 'etc/jitsi'), '0:0 755');
  t.is(await owner(root, 'var/log/jitsi'), `0:${gid} 770`);
  // Nothing the configurator writes: no generated config, no prosody host file.
  t.deepEqual(await readdir(join(root, 'etc/jitsi/jicofo')), []);
  t.deepEqual(await readdir(join(root, 'etc/jitsi/videobridge')), []);
  await t.throwsAsync(lstat(join(root, 'etc/prosody')));

  // The Debian sysv script moved aside, and no script of ours written here: the overlays
  // stage, next, puts our openrc-run scripts there, root-owned and executable.
  t.deepEqual(report.movedScripts, [['/etc/init.d/jicofo', join(controlDir, 'jicofo/debian-sysv-init.d/jicofo')]]);
  t.regex(await readFile(join(controlDir, 'jicofo/debian-sysv-init.d/jicofo'), 'utf8'), /### BEGIN INIT INFO/);
  t.deepEqual(await readdir(join(root, 'etc/init.d')), []);
  await withOverlays(root, 'openrc');
  for (const name of ['jicofo', 'jitsi-videobridge2']) {
    const script = await readFile(join(root, 'etc/init.d', name), 'utf8');
    t.true(script.startsWith('#!/sbin/openrc-run\n'), name);
    t.notRegex(script, /^\s*\. \/lib\/lsb\/init-functions|^### BEGIN INIT INFO/m, name);
    t.is(await owner(root, `etc/init.d/${name}`), '0:0 755');
  }
  t.is(await readFile(join(root, 'etc/init.d/jicofo'), 'utf8'), await readFile(join(PROJECT_ROOT, 'overlays/openrc-native/etc/init.d/jicofo'), 'utf8'));
  t.deepEqual(await readdir(join(root, 'etc/init.d')), ['host-network', 'jicofo', 'jitsi-meet-bridge', 'jitsi-meet-server', 'jitsi-videobridge2']);
  t.deepEqual(report.servicesOff, ['jicofo', 'jitsi-videobridge2']);
  // Only the overlay's host-network (what provides `net` in a container on the host's network) is in a runlevel.
  t.deepEqual(await readdir(join(root, 'etc/runlevels')), ['boot']);
  t.deepEqual(await readdir(join(root, 'etc/runlevels/boot')), ['host-network']);
  // No systemd files on an OpenRC image beyond the package's own unit.
  await t.throwsAsync(lstat(join(root, 'etc/systemd')));
});

test('systemd: the package unit stays (under the merged /usr); the overlays add our jicofo.service and the bridge drop-in; nothing is enabled, no sysv script is left', async (t) => {
  const { root, gid, uid } = await applied(t, 'systemd');
  t.true((await stat(join(root, 'usr/lib/systemd/system/jitsi-videobridge2.service'))).isFile());
  t.regex(await readFile(join(root, 'usr/lib/systemd/system/jitsi-videobridge2.service'), 'utf8'), /^User=jvb$/m);
  await t.throwsAsync(lstat(join(root, 'etc/systemd')), undefined, 'the effects write no unit of ours');
  await withOverlays(root, 'systemd');
  for (const file of ['etc/systemd/system/jicofo.service', 'etc/systemd/system/jitsi-videobridge2.service.d/jitsi-meet-config.conf']) {
    t.is(await readFile(join(root, file), 'utf8'), await readFile(join(PROJECT_ROOT, 'overlays/systemd', file), 'utf8'), file);
    t.is(await owner(root, file), '0:0 644');
  }
  t.false((await readdir(join(root, 'etc/systemd/system'))).some((name) => name.endsWith('.wants')), 'no .wants link');
  await t.throwsAsync(lstat(join(root, 'etc/init.d/jicofo')));
  t.is(await owner(root, 'var/log/jitsi'), `0:${gid} 770`);
  t.is(await owner(root, 'etc/jitsi/jicofo'), `${uid('jicofo')}:${gid} 750`);
});

test('applying twice changes nothing: the same account files, owners and service files', async (t) => {
  const { root, manifest } = await stage3WithPackages();
  await mkdir(join(root, 'etc/jitsi/jicofo'), { recursive: true });
  // As the real package ships it (the stand-in does not): claimed with the directory.
  await writeFile(join(root, 'etc/jitsi/jicofo/logging.properties'), '.level = INFO\n');
  const first = await applyJitsiEffects(root, manifest, 'openrc', { sourceDateEpoch: EPOCH });
  const files = await accountFiles(root);
  const tree = async () => {
    const paths = ['etc/jitsi/jicofo', 'etc/jitsi/jicofo/logging.properties', 'usr/share/jicofo', 'var/log/jitsi', 'etc/init.d'];
    return Promise.all(paths.map(async (p) => `${p} ${await owner(root, p)} ${(await lstat(join(root, p))).mtimeMs}`));
  };
  const before = await tree();
  t.is(await owner(root, 'etc/jitsi/jicofo/logging.properties'), `${first.users[0]!.uid}:${first.group.gid} 644`);

  const second = await applyJitsiEffects(root, manifest, 'openrc', { sourceDateEpoch: EPOCH + 86400 * 30 });
  t.deepEqual(await accountFiles(root), files);
  t.deepEqual(await tree(), before);
  t.false(second.group.created);
  t.deepEqual(second.users, first.users.map((u) => ({ ...u, created: false })));
  t.deepEqual(second.movedScripts, []);
  t.deepEqual(second.servicesOff, first.servicesOff);
});

test('one owner for our service files: the effects write no file that an overlay tree carries (the overlays stage does)', async (t) => {
  const overlayFiles = new Set<string>();
  for (const tree of await readdir(join(PROJECT_ROOT, 'overlays'))) for (const file of await filesBelow(join(PROJECT_ROOT, 'overlays', tree))) overlayFiles.add(file);
  for (const init of ['openrc', 'systemd'] as const) {
    const { root, manifest } = await stage3WithPackages();
    const before = new Set(await filesBelow(root));
    await applyJitsiEffects(root, manifest, init, { sourceDateEpoch: EPOCH });
    const written = (await filesBelow(root)).filter((file) => !before.has(file) && overlayFiles.has(file));
    t.deepEqual(written, [], init);
  }
});

test('the ids are the same on two builds from the same stage3', async (t) => {
  const a = await stage3WithPackages();
  const b = await stage3WithPackages();
  await applyJitsiEffects(a.root, a.manifest, 'systemd', { sourceDateEpoch: EPOCH });
  await applyJitsiEffects(b.root, b.manifest, 'systemd', { sourceDateEpoch: EPOCH });
  t.deepEqual(await accountFiles(a.root), await accountFiles(b.root));
});

test('an existing jicofo user with another shell is refused with its passwd line, and nothing is changed', async (t) => {
  const { root, manifest } = await stage3WithPackages();
  await writeFile(join(root, 'etc/group'), (await readFile(join(root, 'etc/group'), 'utf8')) + 'jitsi:x:900:\n');
  await writeFile(join(root, 'etc/passwd'), (await readFile(join(root, 'etc/passwd'), 'utf8')) + 'jicofo:x:901:900::/usr/share/jicofo:/sbin/nologin\n');
  const files = await accountFiles(root);
  const error = await t.throwsAsync(applyJitsiEffects(root, manifest, 'openrc'), { instanceOf: UserError });
  t.is(
    error!.message,
    `${join(root, 'etc/passwd')}:5: user jicofo already exists with shell /sbin/nologin, not /bin/bash; the jicofo package needs it as a system user in group jitsi with home /usr/share/jicofo and shell /bin/bash. Remove that user from the root (or start from a root without it) and apply again.`,
  );
  t.deepEqual(await accountFiles(root), files);
  t.is(await owner(root, 'usr/share/jicofo'), '0:0 755');
  t.regex(await readFile(join(root, 'etc/init.d/jicofo'), 'utf8'), /### BEGIN INIT INFO/, 'the sysv script is still there');
});

test('an existing jvb user outside group jitsi is refused, naming both differences', async (t) => {
  const { root, manifest } = await stage3WithPackages();
  await writeFile(join(root, 'etc/passwd'), (await readFile(join(root, 'etc/passwd'), 'utf8')) + 'jvb:x:902:250::/home/jvb:/bin/bash\n');
  const error = await t.throwsAsync(applyJitsiEffects(root, manifest, 'systemd'), { instanceOf: UserError });
  t.regex(error!.message, /etc\/passwd:5: user jvb already exists with primary group 250, and there is no group jitsi yet, home \/home\/jvb, not \/usr\/share\/jitsi-videobridge; the jitsi-videobridge2 package needs/);
  t.false((await accounts(root, 'group')).has('jitsi'), 'no group was made');
});

test('a service already enabled in the root is refused before anything is changed', async (t) => {
  const { root, manifest } = await stage3WithPackages();
  await mkdir(join(root, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
  await symlink('/usr/lib/systemd/system/jitsi-videobridge2.service', join(root, 'etc/systemd/system/multi-user.target.wants/jitsi-videobridge2.service'));
  const files = await accountFiles(root);
  const error = await t.throwsAsync(applyJitsiEffects(root, manifest, 'systemd'), { instanceOf: UserError });
  t.regex(error!.message, /jitsi-videobridge2 is enabled in .* \(etc\/systemd\/system\/multi-user\.target\.wants\/jitsi-videobridge2\.service\); an image leaves it off/);
  t.deepEqual(await accountFiles(root), files);
});

test('a root without the packages gets nothing', async (t) => {
  const { root } = await stage3WithPackages();
  const files = await accountFiles(root);
  const report = await applyJitsiEffects(root, [], 'openrc');
  t.deepEqual(report.users, []);
  t.deepEqual(await accountFiles(root), files);
});

test("the native jicofo script runs what the configurator plans: the package's launcher, as its owner, with the environment file it writes", async (t) => {
  const script = await readFile(join(PROJECT_ROOT, 'overlays/openrc-native/etc/init.d/jicofo'), 'utf8');
  const value = (name: string) => new RegExp(`^${name}="?([^"\\n]*)"?$`, 'm').exec(script)?.[1];
  t.is(value('command'), JICOFO_PROGRAM);
  t.is(value('config_file'), JICOFO_ENV);
  t.is(value('command_user'), JICOFO_OWNER);
  t.is(value('supervisor'), 'supervise-daemon');
  t.is(value('output_log'), '/var/log/jitsi/jicofo.log');
  t.is((await stat(join(PROJECT_ROOT, 'overlays/openrc-native/etc/init.d/jicofo'))).mode & 0o777, 0o755);
});
