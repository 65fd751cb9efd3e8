/**
 * Portage's configuration for a Gentoo image, as the exact files to write under the stage3's
 * /etc/portage: a pure function of the recipe's `gentoo` section, the suite (the profile
 * release, 23.0), the init system and the architecture. Portage cannot run on our build
 * machines, so these files are what the tests check (docs/gentoo.md).
 *
 * - make.conf: the stage3's compiler flags, the mirror for source downloads, FEATURES (binary
 *   packages, signatures required, the namespace sandboxes off, each with its reason), then the
 *   recipe's extra settings.
 * - binrepos.conf/gentoobinhost.conf: the binary host, signatures verified. The stage3 ships a
 *   file of that name pointing at Gentoo's binhost; writing the same name replaces it rather
 *   than adding a second host.
 * - repos.conf/gentoo.conf: the ebuild repository at /var/db/repos/gentoo, where the build
 *   unpacks the verified snapshot. The build never runs `emerge --sync`; the sync settings stay
 *   portage's defaults, so an administrator can sync later.
 * - package.use/nspawn-jitsi, package.accept_keywords/nspawn-jitsi: the recipe's lines for this
 *   init system (and, for keywords, this architecture), each under a comment saying why (only
 *   when there are any).
 */
import type { Architecture } from '../../host/emulation.js';
import type { InitSystem } from '../../lib/init-systems.js';
import type { GentooRecipe } from '../recipe/schema.js';

export interface PortageFile {
  /** Path below the image root, without a leading slash. */
  path: string;
  text: string;
  mode: number;
}

export interface PortageConfigInput {
  gentoo: GentooRecipe;
  /** The profile release the binary host is named by: the recipe's suite (23.0). */
  suite: string;
  init: InitSystem;
  architecture: Architecture;
}

/** Gentoo's name for an architecture's binary packages below releases/<arch>/binpackages/<release>/. */
export const BINHOST_FLAVOUR: Record<Architecture, string> = { amd64: 'x86-64', arm64: 'arm64' };

/** Where the build unpacks the verified ebuild snapshot: portage's default repository location. */
export const GENTOO_REPOSITORY = '/var/db/repos/gentoo';

/** The file name our package.use and package.accept_keywords lines go in. */
export const PORTAGE_FILE_NAME = 'nspawn-jitsi';

/** `<mirror>/releases/<arch>/binpackages/<suite>/<flavour>` unless the recipe names another host. */
export function binhostUrl(gentoo: Pick<GentooRecipe, 'mirror' | 'binhost'>, suite: string, architecture: Architecture): string {
  if (gentoo.binhost) return gentoo.binhost.replace(/\/+$/, '');
  return `${gentoo.mirror.replace(/\/+$/, '')}/releases/${architecture}/binpackages/${suite}/${BINHOST_FLAVOUR[architecture]}`;
}

/**
 * FEATURES the image's make.conf sets, each with the reason written above it. Portage turns the
 * four namespace sandboxes on by default (make.globals: ipc-, network- and pid-sandbox;
 * mount-sandbox is opt-in); each needs unshare(2) with a namespace flag in the build container.
 * When unshare fails portage prints "Unable to unshare" and carries on without it, so a build
 * would behave differently on hosts that allow it and hosts that do not; off, it is the same
 * everywhere. `sandbox` and `usersandbox` (LD_PRELOAD, no namespaces) stay on.
 */
export const PORTAGE_FEATURES: { feature: string; why: string }[] = [
  { feature: 'getbinpkg', why: 'Install from the binary host (binrepos.conf) instead of compiling when it has a package built with the same USE flags.' },
  {
    feature: 'binpkg-request-signature',
    why: 'Refuse any binary package without a valid signature from a key in /etc/portage/gnupg (getuto fills it with Gentoo\'s release keys).',
  },
  {
    feature: '-network-sandbox',
    why: 'Needs a new network namespace in the systemd-nspawn build container (and qemu-user refuses namespace flags in foreign-architecture builds); the build container is the isolation.',
  },
  { feature: '-ipc-sandbox', why: 'Needs a new IPC namespace in the build container, for the same reason.' },
  {
    feature: '-pid-sandbox',
    why: 'Needs new PID and mount namespaces and remounts /proc inside the build container; systemd-nspawn already gives the build its own PID namespace.',
  },
  { feature: '-mount-sandbox', why: 'Needs a new mount namespace in the build container (off by default; kept off explicitly).' },
];

/** The compiler flags Gentoo's stage3 make.conf sets; writing make.conf whole must not lose them. */
const STAGE3_FLAGS = [
  ['COMMON_FLAGS', '-O2 -pipe'],
  ['CFLAGS', '${COMMON_FLAGS}'],
  ['CXXFLAGS', '${COMMON_FLAGS}'],
  ['FCFLAGS', '${COMMON_FLAGS}'],
  ['FFLAGS', '${COMMON_FLAGS}'],
] as const;

function comment(text: string): string {
  return text
    .split('\n')
    .map((line) => `# ${line}`.trimEnd())
    .join('\n');
}

/** The recipe's per-item `init:` filter: the items for every init system and those for `init`. */
export function forInit<T extends { init?: InitSystem }>(items: readonly T[], init: InitSystem): T[] {
  return items.filter((item) => !item.init || item.init === init);
}

export function makeConfText(input: PortageConfigInput): string {
  const { gentoo } = input;
  const lines = [
    comment('Written by the nspawn-jitsi-meet build from its recipe. Portage reads this file; edit it freely\non a running system (the build does not come back).'),
    '',
    ...STAGE3_FLAGS.map(([name, value]) => `${name}="${value}"`),
    '',
    comment('English build messages, as in the stage3.'),
    'LC_MESSAGES=C.utf8',
    '',
    comment('Source downloads, when no binary package fits: the mirror the stage3 came from.'),
    `GENTOO_MIRRORS="${gentoo.mirror.replace(/\/+$/, '')}"`,
    '',
    ...PORTAGE_FEATURES.map(({ feature, why }) => comment(`${feature}: ${why}`)),
    `FEATURES="${PORTAGE_FEATURES.map(({ feature }) => feature).join(' ')}"`,
  ];
  if (gentoo['make-conf'].length > 0) {
    lines.push('', comment("The recipe's settings."));
    for (const setting of gentoo['make-conf']) {
      if (setting.why) lines.push(comment(setting.why));
      lines.push(`${setting.name}="${setting.value}"`);
    }
  }
  return lines.join('\n') + '\n';
}

export function binreposConfText(input: PortageConfigInput): string {
  return [
    comment("The binary host (written by the nspawn-jitsi-meet build). verify-signature: every package must carry\na valid signature by a key in /etc/portage/gnupg, which getuto fills with Gentoo's release keys."),
    '[gentoobinhost]',
    'priority = 1',
    `sync-uri = ${binhostUrl(input.gentoo, input.suite, input.architecture)}`,
    'verify-signature = true',
  ].join('\n') + '\n';
}

export function reposConfText(): string {
  return [
    comment('The ebuild repository (written by the nspawn-jitsi-meet build). The build unpacked a verified\nsnapshot here and never syncs; the sync settings are portage\'s defaults, so `emerge --sync` works later.'),
    '[DEFAULT]',
    'main-repo = gentoo',
    '',
    '[gentoo]',
    `location = ${GENTOO_REPOSITORY}`,
  ].join('\n') + '\n';
}

export function packageUseText(input: PortageConfigInput): string | undefined {
  const entries = forInit(input.gentoo['package-use'], input.init);
  if (entries.length === 0) return undefined;
  const lines = [comment('USE flags the recipe sets (written by the nspawn-jitsi-meet build).')];
  for (const entry of entries) {
    if (entry.why) lines.push(comment(entry.why));
    lines.push(`${entry.atom} ${entry.flags.join(' ')}`);
  }
  return lines.join('\n') + '\n';
}

export function acceptKeywordsText(input: PortageConfigInput): string | undefined {
  const entries = forInit(input.gentoo['accept-keywords'], input.init).filter((entry) => !entry.architecture || entry.architecture === input.architecture);
  if (entries.length === 0) return undefined;
  const lines = [comment("Testing versions the recipe accepts (written by the nspawn-jitsi-meet build). An atom alone\naccepts the testing keyword of the image's architecture (~amd64, ~arm64).")];
  for (const entry of entries) {
    lines.push(comment(entry.why));
    lines.push([entry.atom, ...(entry.keywords ?? [])].join(' '));
  }
  return lines.join('\n') + '\n';
}

/** Every file the build writes under /etc/portage, in the order it writes them. */
export function portageConfigFiles(input: PortageConfigInput): PortageFile[] {
  const files: PortageFile[] = [
    { path: 'etc/portage/make.conf', text: makeConfText(input), mode: 0o644 },
    { path: 'etc/portage/binrepos.conf/gentoobinhost.conf', text: binreposConfText(input), mode: 0o644 },
    { path: 'etc/portage/repos.conf/gentoo.conf', text: reposConfText(), mode: 0o644 },
  ];
  const use = packageUseText(input);
  if (use) files.push({ path: `etc/portage/package.use/${PORTAGE_FILE_NAME}`, text: use, mode: 0o644 });
  const keywords = acceptKeywordsText(input);
  if (keywords) files.push({ path: `etc/portage/package.accept_keywords/${PORTAGE_FILE_NAME}`, text: keywords, mode: 0o644 });
  return files;
}
