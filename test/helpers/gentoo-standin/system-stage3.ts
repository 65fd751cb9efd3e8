/**
 * A bootable stand-in of Gentoo's stage3 as it is once portage has installed what the Gentoo
 * recipe asks for (nginx, prosody, coturn, a JRE, Node.js, certbot, ...), for the tests that
 * build, boot and configure a Gentoo image. Gentoo's mirrors and binary host are not reachable
 * from our machines and portage is not packaged in Debian, so nothing here comes from Gentoo:
 *
 *   const tarball = await standinSystemStage3('openrc');  // path of a stage3-like .tar.xz
 *   await buildStandinRelease({ dir, keys, flavor: 'openrc', tarball: await readFile(tarball) });
 *
 * How it is made: mmdebstrap installs Debian bookworm's packages of the same programs, then the
 * tree is re-laid out where our build and the configurator look, as Gentoo's ebuilds lay it out:
 * - os-release says Gentoo; there is /etc/gentoo-release and no /etc/debian_version; /bin/sh
 *   is bash;
 * - portage's database of installed packages, /var/db/pkg/<category>/<name>-<version>/ (PF,
 *   CATEGORY, SLOT, CHOST, repository), holds the stage3's base and the recipe's atoms, each
 *   with the upstream version of the Debian package standing in for it; dpkg's and apt's
 *   databases and front ends are gone (start-stop-daemon stays: Debian's OpenRC uses dpkg's);
 * - portage's user and group (250), /etc/portage/make.conf as a stage3 has it, @world;
 * - nginx as Gentoo's ebuild installs it: its stock nginx.conf (`user nginx nginx`, no site
 *   directory, mime.types.nginx), no sites-available, sites-enabled, conf.d or snippets, user
 *   and group nginx, no www-data; no ssl-cert group (Debian's ssl-cert package makes it);
 * - services under Gentoo's names and with its scripts' behaviour (command, user, pid file):
 *   OpenRC scripts nginx, prosody, turnserver (coturn's) and cronie (Debian's cron stands in
 *   for cronie), systemd units nginx, prosody and coturn; none enabled, as emerge enables
 *   nothing; the OpenRC flavour's inittab is Gentoo's stock one (openrc sysinit/boot/default);
 * - portage's commands as small scripts with the side effects our stages rely on: `getuto`
 *   makes /etc/portage/gnupg with a private key in GnuPG's format (the cleanup must remove it),
 *   `emerge` refuses unless the binary host is configured with signature verification and every
 *   atom asked for is in /var/db/pkg (what `emerge --noreplace` does when all are installed is
 *   nothing), and leaves what a real run leaves (emerge.log, binary packages, distfiles,
 *   /var/tmp/portage, /var/cache/edb); `eselect profile set` links make.profile; `env-update`
 *   runs ldconfig and writes /etc/profile.env.
 * What is not like Gentoo: the programs are Debian's builds (Debian's OpenRC 0.45, systemd 252,
 * OpenJDK 17 where the recipe asks for 21, the stand-in emerge ignores slots), Debian's
 * directory layout beyond the paths above, and nothing was compiled with Gentoo's USE flags.
 *
 * The tarball is cached in .cache/gentoo-standin/ under a hash of this file and the init
 * system, built under a lock (as the test images are), in about two minutes per init system.
 */
import { createHash } from 'node:crypto';
import { chmod, chown, mkdir, readdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { InitSystem } from '../../../src/lib/init-systems.js';
import { acquireLock, PROJECT_ROOT } from '../images.js';
import { packTree, STAGE3_MAKE_CONF, STAGE3_OS_RELEASE } from './index.js';

export const STANDIN_CACHE = join(PROJECT_ROOT, '.cache', 'gentoo-standin');
const DEBIAN_MIRROR = 'http://deb.debian.org/debian';

/** Debian packages standing in for each Gentoo package: atom (category/name), slot, Debian package. */
interface StandinPackage {
  atom: string;
  slot?: string;
  debian: string;
}

const BASE: StandinPackage[] = [
  { atom: 'sys-apps/baselayout', debian: 'base-files' },
  { atom: 'sys-libs/glibc', slot: '2.2', debian: 'libc6' },
  { atom: 'app-shells/bash', debian: 'bash' },
  { atom: 'sys-apps/shadow', debian: 'passwd' },
  { atom: 'sys-apps/portage', debian: 'base-files' },
];

/** The recipe's atoms (recipes/gentoo-23.0.yaml), per init system. */
const EMERGED: Record<InitSystem | 'both', StandinPackage[]> = {
  both: [
    { atom: 'www-servers/nginx', debian: 'nginx' },
    { atom: 'net-im/prosody', debian: 'prosody' },
    { atom: 'dev-lua/lua-unbound', debian: 'lua-unbound' },
    { atom: 'net-im/coturn', debian: 'coturn' },
    { atom: 'dev-java/openjdk-bin', slot: '17', debian: 'openjdk-17-jre-headless' },
    { atom: 'net-libs/nodejs', debian: 'nodejs' },
    { atom: 'app-crypt/certbot', debian: 'certbot' },
    { atom: 'sys-apps/iproute2', debian: 'iproute2' },
    { atom: 'app-misc/ca-certificates', debian: 'ca-certificates' },
    { atom: 'dev-libs/openssl', debian: 'openssl' },
    { atom: 'sys-process/procps', debian: 'procps' },
  ],
  openrc: [
    { atom: 'sys-apps/openrc', debian: 'openrc' },
    { atom: 'sys-apps/sysvinit', debian: 'sysvinit-core' },
    { atom: 'sys-process/cronie', debian: 'cron' },
  ],
  systemd: [
    { atom: 'sys-apps/systemd', debian: 'systemd' },
    { atom: 'sys-apps/dbus', debian: 'dbus' },
  ],
};

const DEBIAN_EXTRA: Record<InitSystem, string[]> = { openrc: [], systemd: ['systemd-sysv'] };

function packagesFor(init: InitSystem): StandinPackage[] {
  return [...BASE, ...EMERGED.both, ...EMERGED[init]];
}

/** `2:4.0.2-3` -> `4.0.2`, `17.0.19+10-1~deb12u2` -> `17.0.19`: a version portage would accept. */
export function gentooVersionOf(debianVersion: string): string {
  const match = /^(?:\d+:)?(\d+(?:\.\d+)*)/.exec(debianVersion);
  if (!match) throw new Error(`no upstream version in Debian version '${debianVersion}'`);
  return match[1]!;
}

async function file(root: string, path: string, content: string | Buffer, mode = 0o644): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), content);
  await chmod(join(root, path), mode);
}

/** Lines of a colon-separated account file without the entries named. */
async function dropAccounts(root: string, files: string[], names: string[]): Promise<void> {
  for (const path of files) {
    const text = await readFile(join(root, path), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    await writeFile(join(root, path), text.split('\n').filter((line) => !names.includes(line.split(':')[0]!)).join('\n'));
  }
}

async function chroot(root: string, argv: string[]): Promise<string> {
  return (await execa('chroot', [root, ...argv], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' } })).stdout;
}

const OPENRC_SCRIPTS: Record<string, string> = {
  // Gentoo's nginx script: its own pid directory, the pid file given on the command line.
  nginx: `#!/sbin/openrc-run
# Stand-in of Gentoo's nginx OpenRC script (tests only).
command=/usr/sbin/nginx
pidfile=/run/nginx/nginx.pid
command_args="-c /etc/nginx/nginx.conf -g 'pid \${pidfile};'"
extra_commands=configtest
extra_started_commands=reload
depend() { use net dns logger; }
configtest() { ebegin "Checking nginx's configuration"; \${command} -c /etc/nginx/nginx.conf -t -q; eend $?; }
start_pre() { checkpath -d -m 0755 -o root:root /run/nginx; configtest; }
reload() { configtest || return 1; ebegin "Reloading nginx"; start-stop-daemon --signal HUP --pidfile "\${pidfile}"; eend $?; }
`,
  // Gentoo's prosody script: daemonizes, found by its pid file, checks its config first.
  prosody: `#!/sbin/openrc-run
# Stand-in of Gentoo's prosody OpenRC script (tests only).
command=/usr/bin/prosody
command_args=--daemonize
command_user=prosody:prosody
pidfile=/run/prosody/prosody.pid
extra_started_commands=reload
depend() { need net; use dns; }
start_pre() {
  [ -f /etc/prosody/prosody.cfg.lua ] || { eerror "no /etc/prosody/prosody.cfg.lua"; return 1; }
  /usr/bin/prosodyctl check config || return 1
  for dir in /var/lib/prosody /var/log/prosody /run/prosody; do checkpath -d -m 0750 -o prosody:prosody -q "$dir"; done
}
reload() { ebegin "Reloading prosody"; start-stop-daemon --signal HUP --pidfile "\${pidfile}"; eend $?; }
`,
  // Gentoo names coturn's script after the daemon; it reads /etc/turnserver.conf (no -c). Gentoo's
  // calls OpenRC's start-stop-daemon with --user, which runs the daemon as that user; here
  // start-stop-daemon is dpkg's, whose --user only matches processes, so the same is said the
  // declarative way.
  turnserver: `#!/sbin/openrc-run
# Stand-in of Gentoo's coturn OpenRC script, turnserver (tests only).
command=/usr/bin/turnserver
command_args="-o --pidfile /run/turnserver/turnserver.pid"
command_user=turnserver:turnserver
pidfile=/run/turnserver/turnserver.pid
depend() { need net; use dns; }
start_pre() {
  checkpath -q -d -m 0755 -o turnserver:turnserver /run/turnserver
  checkpath -q -f -m 0660 -o turnserver:turnserver /var/log/turnserver.log
}
`,
  // Gentoo's cron daemon is cronie; Debian's cron (same /etc/cron.d format) runs in its place.
  cronie: `#!/sbin/openrc-run
# Stand-in of Gentoo's cronie OpenRC script (tests only; runs Debian's cron).
command=/usr/sbin/cron
pidfile=/run/crond.pid
depend() { use clock logger; need localmount; provide cron; }
`,
};

const SYSTEMD_UNITS: Record<string, string> = {
  'nginx.service': `# Stand-in of Gentoo's nginx unit (tests only).
[Unit]
Description=nginx HTTP and reverse proxy server
After=network.target remote-fs.target nss-lookup.target

[Service]
Type=forking
PIDFile=/run/nginx.pid
ExecStart=/usr/sbin/nginx

[Install]
WantedBy=multi-user.target
`,
  'prosody.service': `# Stand-in of Gentoo's prosody unit (tests only).
[Unit]
Description=Prosody XMPP server
After=network-online.target

[Service]
Type=simple
User=prosody
Group=prosody
PIDFile=/run/prosody/prosody.pid
ExecStart=/usr/bin/prosody -F
ExecReload=/bin/kill -HUP $MAINPID
ExecStartPre=+/bin/mkdir -p /var/log/prosody /var/lib/prosody /run/prosody
ExecStartPre=+/bin/chown -R prosody /var/log/prosody /var/lib/prosody /run/prosody

[Install]
WantedBy=multi-user.target
`,
  'coturn.service': `# Stand-in of Gentoo's coturn unit (tests only): reads /etc/turnserver.conf, no environment file.
[Unit]
Description=turnserver daemon
After=network.target

[Service]
Type=simple
User=turnserver
Group=turnserver
ExecStartPre=+/bin/sh -c "touch /var/log/turnserver.log && chown turnserver:turnserver /var/log/turnserver.log && chmod 660 /var/log/turnserver.log"
ExecStart=/usr/bin/turnserver --pidfile /run/turnserver/turnserver.pid
RuntimeDirectory=turnserver
Restart=always
RestartSec=30s

[Install]
WantedBy=multi-user.target
`,
};

/** Gentoo's stock nginx.conf shape: no site directory included, a server on loopback only. */
const NGINX_CONF = `# Stand-in of Gentoo's stock nginx.conf (tests only).
user nginx nginx;
worker_processes auto;

events {
}

http {
\ttypes_hash_max_size 4096;
\tinclude mime.types.nginx;
\tsendfile on;

\tserver {
\t\tlisten 127.0.0.1;
\t\tserver_name localhost;
\t}
}
`;

/** Gentoo's stock inittab, less its display-manager line (sysvinit runs OpenRC's runlevels). */
const INITTAB = `# Stand-in of Gentoo's stock /etc/inittab (tests only).
id:3:initdefault:
si::sysinit:/sbin/openrc sysinit
rc::bootwait:/sbin/openrc boot
l0:0:wait:/sbin/openrc shutdown
l0s:0:wait:/sbin/halt -dhnp
l1:1:wait:/sbin/openrc single
l2:2:wait:/sbin/openrc nonetwork
l3:3:wait:/sbin/openrc default
l4:4:wait:/sbin/openrc default
l5:5:wait:/sbin/openrc default
l6:6:wait:/sbin/openrc reboot
l6r:6:wait:/sbin/reboot -dkn
su0:S:wait:/sbin/openrc single
su1:S:wait:/sbin/sulogin
c1:12345:respawn:/sbin/agetty --noclear 38400 tty1 linux
c2:2345:respawn:/sbin/agetty 38400 tty2 linux
ca:12345:ctrlaltdel:/sbin/shutdown -r now
`;

const PORTAGE_COMMANDS: Record<string, string> = {
  'usr/bin/getuto': `#!/bin/sh
# Stand-in of portage's getuto (tests only): makes /etc/portage/gnupg, the keyring binary packages
# are verified with, holding (as the real one does) a private key made for it.
set -eu
home=/etc/portage/gnupg
mkdir -p "$home/private-keys-v1.d"
chmod 0700 "$home" "$home/private-keys-v1.d"
grip=$(od -An -N20 -tx1 /dev/urandom | tr -d ' \\n' | tr a-f A-F)
{ echo "Created: 20261124T170000"; echo "Key: (private-key (ecc (curve Ed25519)(flags eddsa)(q #$(od -An -N32 -tx1 /dev/urandom | tr -d ' \\n')#)(d #$(od -An -N32 -tx1 /dev/urandom | tr -d ' \\n')#)))"; } > "$home/private-keys-v1.d/$grip.key"
head -c 1200 /dev/urandom > "$home/pubring.kbx"
head -c 1280 /dev/urandom > "$home/trustdb.gpg"
echo "getuto (stand-in): $home set up"
`,
  'usr/bin/emerge': `#!/bin/sh
# Stand-in of portage's emerge (tests only). The stand-in stage3 already holds every package the
# recipe asks for, so what \`emerge --noreplace ATOM...\` does is nothing: this refuses what the
# real one would refuse here (no verified binary host, no keyring, an atom not installed; slots
# are not compared) and leaves what a real run leaves behind.
set -eu
grep -q '^verify-signature = true' /etc/portage/binrepos.conf/gentoobinhost.conf 2>/dev/null || { echo "!!! (stand-in) no binary host with verify-signature = true" >&2; exit 1; }
[ -d /etc/portage/gnupg ] || { echo "!!! (stand-in) /etc/portage/gnupg missing: run getuto first" >&2; exit 1; }
missing=""
count=0
for arg in "$@"; do
  case "$arg" in -*) continue ;; esac
  count=$((count + 1))
  name=\${arg%%:*}
  found=no
  for dir in /var/db/pkg/$name-[0-9]*; do [ -d "$dir" ] && found=yes; done
  [ $found = yes ] || missing="$missing $arg"
done
[ -z "$missing" ] || { echo "!!! (stand-in) not installed in the stand-in stage3:$missing" >&2; exit 1; }
mkdir -p /var/log/portage /var/cache/binpkgs/www-servers/nginx /var/cache/distfiles /var/tmp/portage/www-servers /var/cache/edb
echo "$(date +%s):  *** emerge $*" >> /var/log/emerge.log
echo "$(date +%s):  >>> emerge (stand-in) $count atoms, nothing to merge" >> /var/log/emerge.log
head -c 4096 /dev/urandom > /var/cache/binpkgs/www-servers/nginx/nginx-1.gpkg.tar
head -c 1024 /dev/urandom > /var/cache/distfiles/standin.tar.gz
echo '{}' > /var/cache/edb/mtimedb
echo "Calculating dependencies... done!"
echo ">>> (stand-in) all $count packages are installed; nothing to merge"
`,
  'usr/bin/eselect': `#!/bin/sh
# Stand-in of eselect (tests only): \`eselect profile set NAME\` only.
set -eu
[ "$1" = profile ] && [ "$2" = set ] || { echo "eselect (stand-in): only 'profile set' is here" >&2; exit 1; }
[ -d "/var/db/repos/gentoo/profiles/$3" ] || { echo "!!! Error: Can't set profile to '$3'" >&2; exit 1; }
ln -sfn "../../var/db/repos/gentoo/profiles/$3" /etc/portage/make.profile
`,
  'usr/bin/env-update': `#!/bin/sh
# Stand-in of portage's env-update (tests only): the environment from /etc/env.d, and ldconfig.
set -eu
mkdir -p /etc/env.d
{ echo "# THIS FILE IS AUTOMATICALLY GENERATED BY env-update."; cat /etc/env.d/* 2>/dev/null | sed -n 's/^\\([A-Za-z_][A-Za-z0-9_]*\\)=/export \\1=/p'; } > /etc/profile.env
ldconfig
echo ">>> Regenerating /etc/ld.so.cache..."
`,
};

/** Installs the Debian packages into `root` and lays the tree out as described at the top. */
async function makeStandinRoot(root: string, init: InitSystem, log: string): Promise<void> {
  const packages = packagesFor(init);
  const include = [...new Set([...packages.map((p) => p.debian), ...DEBIAN_EXTRA[init]])];
  await execa(
    'mmdebstrap',
    [
      '--variant=minbase',
      `--include=${include.join(',')}`,
      '--dpkgopt=path-exclude=/usr/share/doc/*',
      '--dpkgopt=path-exclude=/usr/share/locale/*',
      'bookworm',
      root,
      DEBIAN_MIRROR,
    ],
    { stdout: { file: log, append: true }, stderr: { file: log, append: true }, stdin: 'ignore' },
  );

  // Versions first, while dpkg's database is still there.
  const versions = new Map<string, string>();
  for (const line of (await chroot(root, ['dpkg-query', '-W', '-f', '${Package}\\t${Version}\\n'])).split('\n')) {
    const [name, version] = line.split('\t');
    if (name && version) versions.set(name, version);
  }
  for (const pkg of packages) {
    const version = pkg.atom === 'sys-apps/portage' ? '3.0.68' : pkg.atom === 'sys-apps/baselayout' ? '2.17' : gentooVersionOf(versions.get(pkg.debian) ?? '');
    const [category, name] = pkg.atom.split('/') as [string, string];
    const dir = `var/db/pkg/${category}/${name}-${version}`;
    await file(root, `${dir}/PF`, `${name}-${version}\n`);
    await file(root, `${dir}/CATEGORY`, `${category}\n`);
    await file(root, `${dir}/SLOT`, `${pkg.slot ?? '0'}\n`);
    await file(root, `${dir}/CHOST`, 'x86_64-pc-linux-gnu\n');
    await file(root, `${dir}/repository`, 'gentoo\n');
    await file(root, `${dir}/CONTENTS`, '');
  }

  // Gentoo's identity, not Debian's.
  await rm(join(root, 'etc/os-release'), { force: true });
  await file(root, 'usr/lib/os-release', STAGE3_OS_RELEASE);
  await symlink('../usr/lib/os-release', join(root, 'etc/os-release'));
  await file(root, 'etc/gentoo-release', 'Gentoo Base System release 2.17 (stand-in)\n');
  await rm(join(root, 'etc/debian_version'), { force: true });

  // No dpkg or apt: nothing in a Gentoo image can ask them anything.
  for (const path of ['var/lib/dpkg', 'var/lib/apt', 'var/cache/apt', 'var/log/apt', 'etc/apt', 'etc/dpkg', 'var/log/dpkg.log']) {
    await rm(join(root, path), { recursive: true, force: true });
  }
  for (const dir of ['usr/bin', 'usr/sbin']) {
    for (const name of await readdir(join(root, dir))) {
      if (/^(dpkg|apt)(-|$)/.test(name) || name === 'update-alternatives') await rm(join(root, dir, name), { force: true });
    }
  }

  // Gentoo's /bin/sh is bash (Debian's is dash): init scripts run under it.
  await rm(join(root, 'usr/bin/sh'));
  await symlink('bash', join(root, 'usr/bin/sh'));

  // Debian's ssl-cert package made a snakeoil certificate and key; Gentoo has neither.
  for (const path of ['etc/ssl/private/ssl-cert-snakeoil.key', 'etc/ssl/certs/ssl-cert-snakeoil.pem']) await rm(join(root, path), { force: true });
  for (const name of await readdir(join(root, 'etc/ssl/certs'))) {
    if (/^[0-9a-f]{8}\.0$/.test(name) && (await readlink(join(root, 'etc/ssl/certs', name)).catch(() => '')) === 'ssl-cert-snakeoil.pem') await rm(join(root, 'etc/ssl/certs', name));
  }

  // Portage's account, configuration and @world.
  await writeFile(join(root, 'etc/passwd'), `${(await readFile(join(root, 'etc/passwd'), 'utf8')).trimEnd()}\nportage:x:250:250:System user; portage:/var/lib/portage/home:/sbin/nologin\nnginx:x:82:82:nginx:/var/lib/nginx:/sbin/nologin\n`);
  await writeFile(join(root, 'etc/group'), `${(await readFile(join(root, 'etc/group'), 'utf8')).trimEnd()}\nportage:x:250:\nnginx:x:82:\n`);
  await writeFile(join(root, 'etc/shadow'), `${(await readFile(join(root, 'etc/shadow'), 'utf8')).trimEnd()}\nportage:!:20000::::::\nnginx:!:20000::::::\n`);
  await dropAccounts(root, ['etc/passwd', 'etc/shadow'], ['www-data']);
  await dropAccounts(root, ['etc/group', 'etc/gshadow'], ['www-data', 'ssl-cert']);
  await file(root, 'etc/portage/make.conf', STAGE3_MAKE_CONF);
  await mkdir(join(root, 'etc/portage/package.use'), { recursive: true });
  await mkdir(join(root, 'var/lib/portage/home'), { recursive: true });
  await file(root, 'var/lib/portage/world', '');
  for (const path of ['var/lib/portage', 'var/lib/portage/home', 'var/lib/portage/world']) await chown(join(root, path), 250, 250);
  await mkdir(join(root, 'var/db/repos/gentoo'), { recursive: true });
  for (const [path, text] of Object.entries(PORTAGE_COMMANDS)) await file(root, path, text, 0o755);

  // nginx as Gentoo ships it.
  for (const name of ['sites-available', 'sites-enabled', 'conf.d', 'snippets', 'modules-available', 'modules-enabled', 'proxy_params', 'koi-utf', 'koi-win', 'win-utf']) {
    await rm(join(root, 'etc/nginx', name), { recursive: true, force: true });
  }
  await rename(join(root, 'etc/nginx/mime.types'), join(root, 'etc/nginx/mime.types.nginx'));
  await file(root, 'etc/nginx/nginx.conf', NGINX_CONF);
  await rm(join(root, 'var/www'), { recursive: true, force: true });
  for (const dir of ['var/lib/nginx', 'var/log/nginx']) {
    await mkdir(join(root, dir), { recursive: true });
    await chown(join(root, dir), 82, 82);
  }

  // Services: Gentoo's names and behaviour, nothing enabled.
  const debianScripts = ['nginx', 'prosody', 'coturn', 'cron'];
  for (const name of debianScripts) await rm(join(root, 'etc/init.d', name), { force: true });
  for (const dir of await readdir(join(root, 'etc')).catch(() => [] as string[])) {
    if (!/^rc[0-6S]\.d$/.test(dir)) continue;
    for (const link of await readdir(join(root, 'etc', dir))) if (debianScripts.includes(link.slice(3))) await rm(join(root, 'etc', dir, link));
  }
  for (const level of await readdir(join(root, 'etc/runlevels')).catch(() => [] as string[])) {
    for (const name of debianScripts) await rm(join(root, 'etc/runlevels', level, name), { force: true });
  }
  for (const name of ['etc/default/coturn', 'etc/default/nginx', 'etc/default/cron']) await rm(join(root, name), { force: true });
  if (init === 'openrc') {
    for (const [name, text] of Object.entries(OPENRC_SCRIPTS)) await file(root, `etc/init.d/${name}`, text, 0o755);
    await file(root, 'etc/inittab', INITTAB);
  } else {
    for (const [name, text] of Object.entries(SYSTEMD_UNITS)) await file(root, `usr/lib/systemd/system/${name}`, text);
    for (const wants of await readdir(join(root, 'etc/systemd/system')).catch(() => [] as string[])) {
      if (!wants.endsWith('.wants')) continue;
      for (const unit of Object.keys(SYSTEMD_UNITS)) await rm(join(root, 'etc/systemd/system', wants, unit), { force: true });
    }
  }
}

async function inputsKey(init: InitSystem): Promise<string> {
  const self = await readFile(fileURLToPath(import.meta.url));
  return createHash('sha256').update(self).update('\0').update(init).digest('hex').slice(0, 16);
}

/** The stand-in system stage3 for `init`: a cached .tar.xz path (see the file comment). */
export async function standinSystemStage3(init: InitSystem): Promise<string> {
  const key = await inputsKey(init);
  const tarball = join(STANDIN_CACHE, `stage3-${init}-${key}.tar.xz`);
  if (await stat(tarball).catch(() => undefined)) return tarball;
  const release = await acquireLock(join(STANDIN_CACHE, `${init}.lock`));
  try {
    if (await stat(tarball).catch(() => undefined)) return tarball;
    const work = join(STANDIN_CACHE, `${init}.building-${process.pid}`);
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    try {
      const log = join(STANDIN_CACHE, `${init}.build.log`);
      await writeFile(log, '');
      await makeStandinRoot(join(work, 'root'), init, log);
      await packTree(join(work, 'root'), join(work, 'stage3.tar.xz'), { fast: true });
      await rename(join(work, 'stage3.tar.xz'), tarball);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    for (const entry of await readdir(STANDIN_CACHE)) {
      if (entry.startsWith(`stage3-${init}-`) && entry !== `stage3-${init}-${key}.tar.xz`) await rm(join(STANDIN_CACHE, entry), { force: true });
    }
    return tarball;
  } finally {
    await release();
  }
}
