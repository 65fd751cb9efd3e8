/**
 * The four stand-in packages: names, versions and dependencies like Jitsi's, contents from the
 * trees under packages/ (maintainer scripts, unit, init script, launchers, Lua plugins, web
 * placeholders), plus what this file adds at build time: control files, the daemon jar and the
 * load-only prosody modules.
 */
import { chmod, cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { buildDeb } from './repo.js';

const here = dirname(fileURLToPath(import.meta.url));
const TREES = join(here, 'packages');
const DAEMON_SOURCE = join(here, 'daemon', 'StandinDaemon.java');

export type StandinVersion = 'v1' | 'v2';
export type PackageName = 'jicofo' | 'jitsi-videobridge2' | 'jitsi-meet-web' | 'jitsi-meet-prosody';
export const PACKAGE_NAMES: readonly PackageName[] = ['jicofo', 'jitsi-videobridge2', 'jitsi-meet-web', 'jitsi-meet-prosody'];

/**
 * v1: the package versions of Jitsi's stable 11146 (jitsi-meet 2.0.11146-1). v2: a made-up
 * later release, every version higher than v1's, for upgrade tests.
 */
export const VERSIONS: Record<StandinVersion, Record<PackageName, string>> = {
  v1: {
    jicofo: '1.0-1189-1',
    'jitsi-videobridge2': '2.3-307-g4bb0aead1-1',
    'jitsi-meet-web': '1.0.9365-1',
    'jitsi-meet-prosody': '1.0.9365-1',
  },
  v2: {
    jicofo: '1.0-1197-1',
    'jitsi-videobridge2': '2.3-318-g7d1c5e2a0-1',
    'jitsi-meet-web': '1.0.9471-1',
    'jitsi-meet-prosody': '1.0.9471-1',
  },
};

/** The JRE alternatives jicofo and the bridge accept (OpenJDK 17 or 21). */
const JAVA = 'openjdk-17-jre-headless | openjdk-21-jre-headless | java17-runtime-headless';

interface PackageSpec {
  depends: string;
  description: string;
  /** Files (relative to the tree) that get the version substituted for @VERSION@. */
  versioned: string[];
  /** Files (relative to the tree) that must be executable. */
  executables: string[];
}

const SPECS: Record<PackageName, PackageSpec> = {
  jicofo: {
    depends: `${JAVA}, adduser, procps, debconf (>= 0.5) | debconf-2.0`,
    description: 'JItsi Meet COnference FOcus (test stand-in)',
    versioned: ['usr/share/jicofo/jicofo.sh'],
    executables: ['usr/share/jicofo/jicofo.sh', 'etc/init.d/jicofo'],
  },
  'jitsi-videobridge2': {
    depends: `${JAVA}, adduser, procps, debconf (>= 0.5) | debconf-2.0`,
    description: 'WebRTC compatible Selective Forwarding Unit (test stand-in)',
    versioned: ['usr/share/jitsi-videobridge/jvb.sh'],
    executables: ['usr/share/jitsi-videobridge/jvb.sh'],
  },
  'jitsi-meet-web': {
    depends: '',
    description: 'WebRTC JavaScript video conferences (test stand-in web files)',
    versioned: ['usr/share/jitsi-meet/index.html', 'usr/share/jitsi-meet/libs/app.bundle.min.js'],
    executables: [],
  },
  'jitsi-meet-prosody': {
    // The Lua libraries Jitsi's plugins load; all in bookworm's main (and trixie's).
    depends:
      'prosody (>= 0.12.0) | prosody-trunk | prosody-0.12 | prosody-13.0, lua-sec, lua-basexx, lua-luaossl, lua-cjson, lua-inspect, openssl, ca-certificates, debconf (>= 0.5) | debconf-2.0',
    description: 'Prosody configuration and plugins for Jitsi Meet (test stand-in)',
    versioned: [],
    executables: [],
  },
};

/**
 * Modules a current Jitsi prosody configuration loads that the stand-in only makes loadable
 * (each logs that it is a stand-in and does nothing), with what the real one is for.
 */
export const LOAD_ONLY_PLUGINS: Readonly<Record<string, string>> = {
  muc_domain_mapper: 'maps rooms of tenant subdomains onto the conference MUC',
  muc_rate_limit: 'rate-limits joins to MUC rooms',
  muc_password_whitelist: 'lets listed JIDs (focus) into password-protected rooms',
  muc_lobby_rooms: 'lobby (knocking) for conference rooms',
  muc_breakout_rooms: 'breakout rooms',
  muc_meeting_id: 'meeting ids for conference rooms',
  muc_hide_all: 'hides rooms from disco listings',
  speakerstats: 'speaker statistics (host side)',
  speakerstats_component: 'speaker statistics component',
  conference_duration: 'conference duration (host side)',
  conference_duration_component: 'conference duration component',
  end_conference: 'end the conference for everyone',
  av_moderation: 'audio/video moderation (host side)',
  av_moderation_component: 'audio/video moderation component',
  room_metadata: 'room metadata (host side)',
  room_metadata_component: 'room metadata component',
  polls: 'polls in conference rooms',
  features_identity: 'advertises server features to clients',
  limits_exception: 'exempts focus and jvb from c2s rate limits',
};

/** The plugins that really work: see index.ts. */
export const FUNCTIONAL_PLUGINS = ['client_proxy', 'roster_command', 'auth_jitsi-anonymous'] as const;

function loadOnlyPlugin(name: string, purpose: string): string {
  return [
    `-- Test stand-in for Jitsi's mod_${name} (${purpose}).`,
    '-- Loads so that a current Jitsi prosody configuration starts; does nothing else.',
    `module:log("debug", "mod_${name} (test stand-in, no function) loaded on %s", module.host);`,
    '',
  ].join('\n');
}

function control(name: PackageName, version: string, installedKiB: number): string {
  const spec = SPECS[name];
  return [
    `Package: ${name}`,
    `Version: ${version}`,
    'Architecture: all',
    'Maintainer: nspawn-jitsi-meet tests <tests@example.invalid>',
    `Installed-Size: ${installedKiB}`,
    ...(spec.depends ? [`Depends: ${spec.depends}`] : []),
    'Section: net',
    'Priority: optional',
    `Description: ${spec.description}`,
    ' Built by the nspawn-jitsi-meet test suite to stand in for the package of the same',
    " name from Jitsi's repository. Never install it on a real server.",
    '',
  ].join('\n');
}

async function treeSizeKiB(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await treeSizeKiB(path);
    else total += Math.ceil((await stat(path)).size / 1024);
  }
  return total;
}

/** Compiles the stand-in daemon into `jar` (javac and jar of the host's JDK, release 17). */
export async function buildDaemonJar(jar: string, workDir: string): Promise<void> {
  const classes = join(workDir, 'daemon-classes');
  await rm(classes, { recursive: true, force: true });
  await execa('javac', ['--release', '17', '-d', classes, DAEMON_SOURCE]);
  await mkdir(dirname(jar), { recursive: true });
  await execa('jar', ['--create', '--file', jar, '--main-class', 'StandinDaemon', '-C', classes, '.']);
  await rm(classes, { recursive: true, force: true });
}

/** Builds one package of one version set into `outDir`; returns the .deb's path. */
export async function buildPackage(name: PackageName, version: StandinVersion, workDir: string, outDir: string, daemonJar: string): Promise<string> {
  const packageVersion = VERSIONS[version][name];
  const tree = join(workDir, `${name}-${version}`);
  await rm(tree, { recursive: true, force: true });
  await mkdir(tree, { recursive: true });
  await cp(join(TREES, name), tree, { recursive: true });
  const spec = SPECS[name];
  for (const file of spec.versioned) {
    const path = join(tree, file);
    await writeFile(path, (await readFile(path, 'utf8')).split('@VERSION@').join(packageVersion));
  }
  if (name === 'jicofo') await cp(daemonJar, join(tree, 'usr/share/jicofo/jicofo.jar'));
  if (name === 'jitsi-videobridge2') await cp(daemonJar, join(tree, 'usr/share/jitsi-videobridge/jitsi-videobridge.jar'));
  if (name === 'jitsi-meet-prosody') {
    const plugins = join(tree, 'usr/share/jitsi-meet/prosody-plugins');
    for (const [plugin, purpose] of Object.entries(LOAD_ONLY_PLUGINS)) await writeFile(join(plugins, `mod_${plugin}.lua`), loadOnlyPlugin(plugin, purpose));
  }
  // Modes are set here, not taken from the checkout, so a checkout that lost them still builds right.
  await chmodTree(tree);
  for (const file of spec.executables) await chmod(join(tree, file), 0o755);
  const debian = join(tree, 'DEBIAN');
  await mkdir(debian, { recursive: true });
  for (const script of ['config', 'preinst', 'postinst', 'prerm', 'postrm']) {
    await chmod(join(debian, script), 0o755).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }
  await writeFile(join(debian, 'control'), control(name, packageVersion, await treeSizeKiB(tree)));
  return buildDeb(tree, outDir, name, packageVersion);
}

async function chmodTree(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await chmodTree(path);
    else await chmod(path, 0o644);
  }
}
