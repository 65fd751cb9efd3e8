/**
 * What Jitsi's maintainer scripts do that an image needs, done on a root without dpkg or apt
 * (a Gentoo stage3 onto which deb-unpack.ts put the packages' data). A table of effects per
 * package, then the code that applies it. Facts from upstream's packaging (jicofo's and
 * jitsi-videobridge2's debian/postinst, jitsi-meet-prosody's postinst):
 *
 * - Group `jitsi`; users `jicofo` (home /usr/share/jicofo) and `jvb` (home
 *   /usr/share/jitsi-videobridge), both `useradd -r -g jitsi --shell /bin/bash --create-home`,
 *   so system accounts with dynamic ids. Upstream's `groupadd jitsi` has no `-r` (a Debian
 *   install gets a gid from the regular range, usually 1000); here the group is a system group,
 *   which leaves the regular range to the admin's own users. Members and name are what the
 *   services and the configurator use.
 * - The homes (the packages' program directories) are chowned to their user recursively, as
 *   upstream's "we claim the home folder" does; /etc/jitsi/jicofo and /etc/jitsi/videobridge
 *   recursively to jicofo:jitsi and jvb:jitsi, mode 0750; /var/log/jitsi mode 0770 in group
 *   jitsi. Upstream leaves /var/log/jitsi owned by whichever user's script ran last; here it is
 *   root:jitsi, what our services (the OpenRC scripts, the systemd jicofo.service) make it at
 *   every start.
 * - Services installed and off, as the Debian images leave them (the build's disable-services
 *   stage and the configurator enable nothing before a configuration exists): systemd keeps
 *   the videobridge package's unit (checked here); the packages' Debian sysv scripts cannot
 *   run on Gentoo (/lib/lsb/init-functions, Debian's start-stop-daemon options): they are
 *   moved out of /etc/init.d into the package's control directory, for review.
 * - Our own service files (jicofo.service and the bridge's drop-in from overlays/systemd, the
 *   openrc-run scripts from overlays/openrc and overlays/openrc-native) are NOT written here:
 *   the overlays stage, which every image runs after this one, copies the trees the recipe
 *   lists, and is their one owner on Debian and Gentoo alike. Writing them here too made two
 *   copies of each file with two ways of setting its mode and owner, and the overlays stage
 *   replaced this module's copy anyway. What stays here is what only the packages' data tells:
 *   which Debian scripts to move aside before the overlays put ours at the same path
 *   (/etc/init.d/jicofo), and that the videobridge package still ships its unit.
 *
 * Deliberately not done, because it is per host or belongs to the configurator, which writes
 * it at configure time: debconf (its questions and stored answers), generating configs,
 * passwords and secrets (/etc/jitsi/jicofo/config and jicofo.conf, /etc/jitsi/videobridge/
 * config and jvb.conf), jitsi-meet-prosody's whole postinst (prosody host files, certificates,
 * the CA store, the focus and jvb accounts, the roster subscription), `sysctl --system` (the
 * kernel settings belong to the host), stopping or starting services, and the clean-ups of
 * upgrades from old packages (an old `jicofo` or `jvb` group, /etc/default/jitsi-videobridge).
 * jitsi-meet-web has no maintainer script effects an image needs.
 */
import { lchown, lstat, mkdir, readdir, readFile, realpath, rename, chmod } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../../lib/errors.js';
import type { InitSystem } from '../../lib/init-systems.js';
import type { InstalledPackage } from './deb-unpack.js';

export const JITSI_GROUP = 'jitsi';

/** A system account a package's postinst makes. */
export interface JitsiUser {
  name: string;
  /** The package whose postinst makes it. */
  package: string;
  home: string;
  shell: string;
}

export const JITSI_USERS: readonly JitsiUser[] = [
  { name: 'jicofo', package: 'jicofo', home: '/usr/share/jicofo', shell: '/bin/bash' },
  { name: 'jvb', package: 'jitsi-videobridge2', home: '/usr/share/jitsi-videobridge', shell: '/bin/bash' },
];

/** A directory a postinst makes or claims. */
export interface JitsiDirectory {
  path: string;
  /** Applied when this package is installed. */
  package: string;
  owner: string;
  group: string;
  /** Undefined: the mode stays as the package shipped it. */
  mode?: number;
  /** Owner and group also for everything below (no link is followed), as `chown -R`. */
  recursive: boolean;
}

export const JITSI_DIRECTORIES: readonly JitsiDirectory[] = [
  { path: '/usr/share/jicofo', package: 'jicofo', owner: 'jicofo', group: JITSI_GROUP, recursive: true },
  { path: '/etc/jitsi/jicofo', package: 'jicofo', owner: 'jicofo', group: JITSI_GROUP, mode: 0o750, recursive: true },
  { path: '/usr/share/jitsi-videobridge', package: 'jitsi-videobridge2', owner: 'jvb', group: JITSI_GROUP, recursive: true },
  { path: '/etc/jitsi/videobridge', package: 'jitsi-videobridge2', owner: 'jvb', group: JITSI_GROUP, mode: 0o750, recursive: true },
  { path: '/var/log/jitsi', package: 'jicofo', owner: 'root', group: JITSI_GROUP, mode: 0o770, recursive: false },
  { path: '/var/log/jitsi', package: 'jitsi-videobridge2', owner: 'root', group: JITSI_GROUP, mode: 0o770, recursive: false },
];

/**
 * One service of a package. Every service stays off. Its files of ours come from the overlays
 * (systemd: overlays/systemd's jicofo.service and the bridge's drop-in; OpenRC: overlays/openrc's
 * jitsi-videobridge2 and overlays/openrc-native's jicofo), not from this module.
 */
export interface JitsiService {
  name: string;
  package: string;
  /** systemd: the unit the package ships (one of these paths), if any. */
  systemd: { packageUnit?: string[] };
}

export const JITSI_SERVICES: readonly JitsiService[] = [
  { name: 'jicofo', package: 'jicofo', systemd: {} },
  {
    name: 'jitsi-videobridge2',
    package: 'jitsi-videobridge2',
    systemd: { packageUnit: ['/lib/systemd/system/jitsi-videobridge2.service', '/usr/lib/systemd/system/jitsi-videobridge2.service'] },
  },
];

/** What applyJitsiEffects did (or found already done). */
export interface JitsiEffectsReport {
  group: { name: string; gid: number; created: boolean };
  users: { name: string; uid: number; gid: number; created: boolean }[];
  directories: string[];
  /** Debian sysv scripts moved out of /etc/init.d: [from, to]. */
  movedScripts: [string, string][];
  /** The services installed and not enabled, for the build's services-off. */
  servicesOff: string[];
}

interface AccountLine {
  fields: string[];
  line: number;
}

/** name -> fields of a colon-separated account file (passwd, group) of the root. */
async function readAccounts(root: string, file: string): Promise<Map<string, AccountLine>> {
  const text = await readFile(join(root, file), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new UserError(`${join(root, file)}: missing; the root must be a system with /${file} (a stage3 has one)`);
    throw error;
  });
  const accounts = new Map<string, AccountLine>();
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const fields = line.split(':');
    accounts.set(fields[0]!, { fields, line: index + 1 });
  });
  return accounts;
}

function packagesOf(manifest: readonly InstalledPackage[]): Set<string> {
  return new Set(manifest.map((p) => p.package));
}

/** Runs shadow's tool on the root's /etc files (--prefix: no chroot, no NSS, no PAM, the root's login.defs). */
async function shadowTool(root: string, program: string, args: string[], sourceDateEpoch?: number): Promise<void> {
  try {
    await execa(program, ['--prefix', root, ...args], {
      stdin: 'ignore',
      // shadow stamps the password change date with today unless SOURCE_DATE_EPOCH is set.
      env: sourceDateEpoch === undefined ? {} : { SOURCE_DATE_EPOCH: String(sourceDateEpoch) },
      all: true,
    });
  } catch (error) {
    const failure = error as { code?: string; all?: string; shortMessage?: string };
    if (failure.code === 'ENOENT') throw new UserError(`${program} is not installed; install with: apt-get install passwd`);
    throw new UserError(`${program} ${args.join(' ')} on ${root} failed: ${(failure.all ?? '').trim() || failure.shortMessage}`);
  }
}

/** The group, created as a system group when missing. */
async function ensureGroup(root: string, sourceDateEpoch?: number): Promise<JitsiEffectsReport['group']> {
  const existing = (await readAccounts(root, 'etc/group')).get(JITSI_GROUP);
  if (existing) return { name: JITSI_GROUP, gid: Number(existing.fields[2]), created: false };
  await shadowTool(root, 'groupadd', ['--system', JITSI_GROUP], sourceDateEpoch);
  const made = (await readAccounts(root, 'etc/group')).get(JITSI_GROUP);
  if (!made) throw new Error(`groupadd reported success but ${join(root, 'etc/group')} has no ${JITSI_GROUP}`);
  return { name: JITSI_GROUP, gid: Number(made.fields[2]), created: true };
}

/**
 * Why the existing `user` line conflicts with the user upstream makes (another home, shell or
 * primary group than `jitsiGid`, undefined when the group does not exist yet), or undefined.
 * Upstream's script would keep such a user (or change only its group); a root that has one is
 * not the fresh stage3 this expects, so it is refused.
 */
function userConflict(passwd: string, existing: AccountLine, user: JitsiUser, jitsiGid: number | undefined): UserError | undefined {
  const [, , , userGid, , home, shell] = existing.fields;
  const differences: string[] = [];
  if (jitsiGid === undefined) differences.push(`primary group ${userGid}, and there is no group ${JITSI_GROUP} yet`);
  else if (Number(userGid) !== jitsiGid) differences.push(`primary group ${userGid}, not ${JITSI_GROUP} (${jitsiGid})`);
  if (home !== user.home) differences.push(`home ${home}, not ${user.home}`);
  if (shell !== user.shell) differences.push(`shell ${shell}, not ${user.shell}`);
  if (!differences.length) return undefined;
  return new UserError(
    `${passwd}:${existing.line}: user ${user.name} already exists with ${differences.join(', ')}; ` +
      `the ${user.package} package needs it as a system user in group ${JITSI_GROUP} with home ${user.home} and shell ${user.shell}. ` +
      'Remove that user from the root (or start from a root without it) and apply again.',
  );
}

/** The user as upstream makes it, unless it exists (checked by userConflict before). */
async function ensureUser(root: string, user: JitsiUser, gid: number, sourceDateEpoch?: number): Promise<JitsiEffectsReport['users'][number]> {
  const passwd = join(root, 'etc/passwd');
  const existing = (await readAccounts(root, 'etc/passwd')).get(user.name);
  if (existing) return { name: user.name, uid: Number(existing.fields[2]), gid, created: false };
  // --create-home as upstream: the home is the package's directory, which exists already, so
  // nothing is copied from /etc/skel (useradd warns and goes on).
  await shadowTool(root, 'useradd', ['--system', '--gid', JITSI_GROUP, '--shell', user.shell, '--create-home', '--home-dir', user.home, user.name], sourceDateEpoch);
  const made = (await readAccounts(root, 'etc/passwd')).get(user.name);
  if (!made) throw new Error(`useradd reported success but ${passwd} has no ${user.name}`);
  return { name: user.name, uid: Number(made.fields[2]), gid, created: true };
}

/** `path` (absolute in the image) as a host path, refused when an existing part of it leads out of the root. */
async function inRoot(root: string, realRoot: string, path: string): Promise<string> {
  const host = join(root, path);
  let existing = host;
  while (!(await lstat(existing).catch(() => undefined))) existing = dirname(existing);
  const real = await realpath(existing);
  if (real !== realRoot && !real.startsWith(realRoot + sep)) throw new UserError(`${host}: leads outside the root ${root} (through a symbolic link); refusing to change it`);
  return host;
}

/** mkdir -p with root-owned 0755 directories whatever the umask; the caller sets the last one's mode. */
async function makeDirectory(path: string): Promise<void> {
  if (await lstat(path).catch(() => undefined)) return;
  await makeDirectory(dirname(path));
  await mkdir(path);
  await chmod(path, 0o755);
}

async function chownTree(path: string, uid: number, gid: number): Promise<void> {
  await lchown(path, uid, gid);
  const info = await lstat(path);
  if (!info.isDirectory()) return;
  for (const entry of await readdir(path)) await chownTree(join(path, entry), uid, gid);
}

/** Whether `text` is a Debian sysv script (an LSB header, or not an openrc-run script). */
function isDebianSysvScript(text: string): boolean {
  return text.includes('### BEGIN INIT INFO') || !text.startsWith('#!/sbin/openrc-run');
}

/**
 * Applies the effects of the installed packages (`manifest`, from unpackDebs) to `root` for
 * `init`. Idempotent: a second run changes nothing. Needs root (owners) and shadow's groupadd
 * and useradd on the build host. `sourceDateEpoch` dates the new accounts' password change
 * field (shadow would put today's date there) for reproducible builds.
 */
export async function applyJitsiEffects(
  root: string,
  manifest: readonly InstalledPackage[],
  init: InitSystem,
  options: { sourceDateEpoch?: number; log?: (line: string) => void } = {},
): Promise<JitsiEffectsReport> {
  const { sourceDateEpoch, log } = options;
  const rootInfo = await lstat(root).catch(() => undefined);
  if (!rootInfo?.isDirectory()) throw new UserError(`${root}: is not a directory; the effects apply to an existing root`);
  const realRoot = await realpath(root);
  const installed = packagesOf(manifest);
  const report: JitsiEffectsReport = { group: { name: JITSI_GROUP, gid: -1, created: false }, users: [], directories: [], movedScripts: [], servicesOff: [] };
  const users = JITSI_USERS.filter((u) => installed.has(u.package));
  if (users.length === 0) return report;

  // Every existing user is checked before anything is changed, so a refusal leaves the root as it was.
  const passwd = await readAccounts(root, 'etc/passwd');
  const groups = await readAccounts(root, 'etc/group');
  const jitsiGroup = groups.get(JITSI_GROUP)?.fields[2];
  for (const user of users) {
    const existing = passwd.get(user.name);
    const conflict = existing && userConflict(join(root, 'etc/passwd'), existing, user, jitsiGroup === undefined ? undefined : Number(jitsiGroup));
    if (conflict) throw conflict;
  }

  await checkJitsiServices(root, manifest, init);

  report.group = await ensureGroup(root, sourceDateEpoch);
  for (const user of users) report.users.push(await ensureUser(root, user, report.group.gid, sourceDateEpoch));
  const uidOf = new Map<string, number>([['root', 0], ...report.users.map((u) => [u.name, u.uid] as [string, number])]);
  log?.(`group ${JITSI_GROUP} (${report.group.gid}), users ${report.users.map((u) => `${u.name} (${u.uid})`).join(', ')}`);

  for (const dir of JITSI_DIRECTORIES) {
    if (!installed.has(dir.package) || report.directories.includes(dir.path)) continue;
    const host = await inRoot(root, realRoot, dir.path);
    const info = await lstat(host).catch(() => undefined);
    if (info && !info.isDirectory()) throw new UserError(`${host}: is not a directory; the ${dir.package} package needs ${dir.path} as one`);
    if (!info) await makeDirectory(host);
    const uid = uidOf.get(dir.owner)!;
    if (dir.recursive) await chownTree(host, uid, report.group.gid);
    else await lchown(host, uid, report.group.gid);
    if (dir.mode !== undefined) await chmod(host, dir.mode);
    report.directories.push(dir.path);
  }

  Object.assign(report, await installCheckedServices(root, manifest));
  log?.(`services installed, not enabled: ${report.servicesOff.join(', ')}`);
  return report;
}

/** Refusals about services, made before anything is changed. */
async function checkJitsiServices(root: string, manifest: readonly InstalledPackage[], init: InitSystem): Promise<void> {
  const installed = packagesOf(manifest);
  for (const service of JITSI_SERVICES.filter((s) => installed.has(s.package))) {
    const pkg = manifest.find((p) => p.package === service.package)!;
    if (init === 'systemd' && service.systemd.packageUnit && !service.systemd.packageUnit.some((unit) => pkg.files.includes(unit))) {
      throw new UserError(`${service.package} ${pkg.version} ships none of ${service.systemd.packageUnit.join(', ')}; its systemd unit is expected in the package's data (see what the package installs; its control data is in ${pkg.controlDir})`);
    }
    // Off: nothing may link the service into a runlevel or a target (no postinst ran; the
    // build's disable-services stage then writes the preset that keeps systemd's first boot
    // from enabling it).
    const links = await enablementLinks(root, init, service.name);
    if (links.length) throw new UserError(`${service.name} is enabled in ${root} (${links.join(', ')}); an image leaves it off until jitsi-meet-config enables it: remove those links and apply again`);
  }
}

/**
 * The services of the installed packages, made ready for `init` and left off: the packages'
 * Debian sysv scripts moved into their control directories, so that the overlays stage puts
 * our unit files or OpenRC scripts in a root without them. Part of applyJitsiEffects; on its
 * own for a root whose users already exist (a Debian root with the packages installed by dpkg).
 */
export async function installJitsiServices(
  root: string,
  manifest: readonly InstalledPackage[],
  init: InitSystem,
): Promise<Pick<JitsiEffectsReport, 'movedScripts' | 'servicesOff'>> {
  await checkJitsiServices(root, manifest, init);
  return installCheckedServices(root, manifest);
}

/** installJitsiServices once checkJitsiServices has passed (applyJitsiEffects checks before any change). */
async function installCheckedServices(root: string, manifest: readonly InstalledPackage[]): Promise<Pick<JitsiEffectsReport, 'movedScripts' | 'servicesOff'>> {
  const realRoot = await realpath(root);
  const installed = packagesOf(manifest);
  const done: Pick<JitsiEffectsReport, 'movedScripts' | 'servicesOff'> = { movedScripts: [], servicesOff: [] };
  for (const service of JITSI_SERVICES) {
    if (!installed.has(service.package)) continue;
    const pkg = manifest.find((p) => p.package === service.package)!;
    // The package's Debian sysv scripts: out of the way, kept for review.
    for (const file of pkg.files.filter((f) => f.startsWith('/etc/init.d/'))) {
      const host = await inRoot(root, realRoot, file);
      const text = await readFile(host, 'utf8').catch(() => undefined);
      if (text === undefined || !isDebianSysvScript(text)) continue;
      const aside = join(pkg.controlDir, 'debian-sysv-init.d', file.slice('/etc/init.d/'.length));
      await mkdir(dirname(aside), { recursive: true });
      await rename(host, aside);
      done.movedScripts.push([file, aside]);
    }
    done.servicesOff.push(service.name);
  }
  return done;
}

/** Links that would start `service` at boot, relative to the root. */
async function enablementLinks(root: string, init: InitSystem, service: string): Promise<string[]> {
  const base = init === 'systemd' ? 'etc/systemd/system' : 'etc/runlevels';
  const name = init === 'systemd' ? `${service}.service` : service;
  const found: string[] = [];
  for (const sub of await readdir(join(root, base)).catch(() => [] as string[])) {
    if (init === 'systemd' && !sub.endsWith('.wants') && !sub.endsWith('.requires')) continue;
    const names = await readdir(join(root, base, sub)).catch(() => [] as string[]);
    if (names.includes(name)) found.push(join(base, sub, name));
  }
  return found;
}
