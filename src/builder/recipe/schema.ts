/**
 * The recipe format: one strict schema for every recipe file, whole or partial.
 *
 * A recipe file may `include:` other recipe files (shared parts live in recipes/include/).
 * Every key is optional in a single file because a part only sets what it shares; the merged
 * result is then checked for what a build needs (see load.ts). Lists are concatenated in
 * include order (included files first, then the including file); scalars set later win. A
 * key's `fallback` is what the build uses when no file of the recipe sets it.
 */
import { fallbackOf, integer, list, object, oneOf, optional, string, withShorthand, type Infer } from '../../lib/schema.js';
import { INIT_SYSTEMS, type InitSystem } from '../../lib/init-systems.js';
import { ARCHITECTURES } from '../../host/emulation.js';
import { repositoryUrlProblem } from '../jitsi-repository.js';
import { fingerprintProblem } from '../openpgp-keys.js';
import { atomProblem, keywordProblem, makeConfNameProblem, makeConfValueProblem, profileProblem, useFlagsProblem, useTokenProblem } from '../gentoo/atoms.js';

/**
 * Cleanup steps the cleanup stage knows, in the order it runs them. Each removes one kind
 * of per-instance state or build leftover; a recipe lists the ones it wants.
 */
export const CLEANUP_STEPS = [
  'machine-id',
  'random-seed',
  'ssh-host-keys',
  'snakeoil-cert',
  'jitsi-placeholder-host',
  'jitsi-placeholder-certificates',
  'jitsi-placeholder-accounts',
  'jitsi-generated-configs',
  'debconf-secrets',
  'resolv-conf',
  'hostname',
  'apt-lists',
  'apt-cache',
  'portage-distfiles',
  'portage-binpkgs',
  'portage-binhost-cache',
  'portage-tmp',
  'portage-cache',
  'emerge-logs',
  'portage-gnupg',
  'gentoo-news',
  'logs',
  'backup-files',
  'java-keystore-dates',
] as const;
export type CleanupStep = (typeof CLEANUP_STEPS)[number];

const packageName = string({
  doc: 'Debian package name',
  check: (name) => (/^[a-z0-9][a-z0-9+.-]+$/.test(name) ? undefined : `'${name}' is not a Debian package name (lower case letters, digits, + - .)`),
});

const initOnly = optional(oneOf(INIT_SYSTEMS, { doc: 'Only for this init system; absent means for both.' }));

/** Distributions a recipe can describe (build-options.ts DISTROS: those images are built from). */
export const RECIPE_DISTROS = ['debian', 'gentoo'] as const;
export type RecipeDistro = (typeof RECIPE_DISTROS)[number];

const distroField = optional(
  oneOf(RECIPE_DISTROS, {
    doc: 'Distribution. A gentoo recipe\'s packages are its gentoo section\'s atoms; Gentoo images were built only from stand-ins so far (docs/gentoo.md).',
  }),
  { fallback: 'debian' },
);
const mirrorField = optional(
  string({
    doc: 'Debian mirror URL.',
    // Anchored at both ends and free of blanks: the value becomes one mmdebstrap argument.
    check: (url) => (/^(https?|file):\/\/[^\s'"\\]+$/.test(url) && URL.canParse(url) ? undefined : `${JSON.stringify(url)} is not an http(s):// or file:// URL`),
  }),
  { fallback: 'http://deb.debian.org/debian' },
);
const variantField = optional(
  oneOf(['extract', 'custom', 'essential', 'apt', 'required', 'minbase', 'buildd', 'important', 'debootstrap', 'standard'], {
    doc: 'mmdebstrap --variant: the package set installed before the packages below.',
  }),
  { fallback: 'minbase' },
);
const componentsField = optional(list(string({ doc: 'archive component' }), { doc: 'Archive components.' }), { fallback: ['main'] });
const sourceDateEpochField = optional(
  integer({ doc: 'Timestamp (seconds since 1970) used when SOURCE_DATE_EPOCH is not set in the environment.', min: 0 }),
  // 2023-11-14T22:13:20Z.
  { fallback: 1_700_000_000 },
);

/** Keys Jitsi has retired: a recipe may not pin them (66A9 CD05 ... signed the repository until April 2021). */
export const RETIRED_JITSI_KEYS = ['66A9CD0595D6AFA247290D3BEF8B479E2DC1389C'];

const urlField = (doc: string) =>
  string({
    doc,
    check: (url) => {
      const problem = repositoryUrlProblem(url);
      return problem ? `${JSON.stringify(url)}: ${problem}` : undefined;
    },
  });

const jitsiField = optional(
  object(
    {
      repository: urlField("Jitsi's apt repository: the directory holding the suite (what `--jitsi-source upstream` uses)."),
      suite: string({ doc: 'Suite of the flat repository.', default: 'stable/' }),
      'key-url': urlField('Where `--jitsi-source upstream` fetches the repository key.'),
      'key-fingerprint': string({
        doc: 'Fingerprint the repository key must have (40 hex digits, spaces allowed); the build refuses any other key unless --jitsi-key names one.',
        check: (text) => {
          const problem = fingerprintProblem(text);
          if (problem) return problem;
          return RETIRED_JITSI_KEYS.includes(text.replace(/\s+/g, '').toUpperCase()) ? `${text} is Jitsi's retired key; it must not be trusted` : undefined;
        },
      }),
      packages: list(
        object(
          {
            name: packageName,
            version: optional(
              string({
                doc: 'Exact version to install (one consistent set across the packages).',
                check: (v) => (/^[0-9A-Za-z.+~:-]+$/.test(v) ? undefined : `'${v}' is not a Debian version`),
              }),
            ),
            why: optional(string({ doc: 'Why the image needs it.' })),
          },
          { doc: 'one package' },
        ),
        { doc: 'Packages installed from the Jitsi repository: `{ name, version?, why? }`.', default: [] },
      ),
      'services-off': list(string({ doc: 'service name' }), {
        doc: 'Services these packages install that stay off until the configurator enables them.',
        default: [],
      }),
    },
    { doc: "Jitsi's own packages and the repository they come from (a later file's section replaces an earlier one's)." },
  ),
);

/** Gentoo's release engineering key (automated weekly release key): signs the stage3 tarballs and their pointers. */
export const GENTOO_RELEASE_KEY = '13EBBDBEDE7A12775DFDB1BABB572E0E2D182910';
/** Gentoo's ebuild repository snapshot key (automated signing key): signs snapshots/gentoo-*.tar.xz. */
export const GENTOO_SNAPSHOT_KEY = 'DCD05B71EAB94199527F44ACDB6B8C1F96D8BF6D';

/** `20261124`: a real calendar day, written as the snapshot names it. */
export function snapshotDateProblem(text: string): string | undefined {
  if (text === 'latest') return undefined;
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(text);
  const day = match ? new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))) : undefined;
  if (!match || !day || day.getUTCMonth() !== Number(match[2]) - 1 || day.getUTCDate() !== Number(match[3])) {
    return `'${text}' is not a snapshot date: write YYYYMMDD (like 20261124, the date in snapshots/gentoo-20261124.tar.xz) or latest`;
  }
  return undefined;
}

/** A Gentoo mirror or binary host: http(s), and nothing portage's config files would expand or cut (they hold it). */
function gentooUrlProblem(url: string): string | undefined {
  if (!/^https?:\/\//.test(url)) return `${JSON.stringify(url)}: expected an http:// or https:// URL`;
  const problem = repositoryUrlProblem(url);
  if (problem) return `${JSON.stringify(url)}: ${problem}`;
  return /[$`]/.test(url) ? `${JSON.stringify(url)}: a URL here may not hold $ or \` (portage's configuration would expand them)` : undefined;
}

const gentooField = optional(
  object(
    {
      mirror: string({
        doc: "Gentoo mirror: the directory holding releases/ and snapshots/.",
        default: 'https://distfiles.gentoo.org',
        // Read with HTTP (ranges for resuming); a local copy can be served on loopback.
        check: gentooUrlProblem,
      }),
      'stage3-key-fingerprint': string({
        doc: "Fingerprint of the key that must sign the stage3 pointer, tarball and DIGESTS (Gentoo's release engineering key).",
        default: '13EB BDBE DE7A 1277 5DFD  B1BA BB57 2E0E 2D18 2910',
        check: fingerprintProblem,
      }),
      'snapshot-key-fingerprint': string({
        doc: "Fingerprint of the key that must sign the ebuild repository snapshot (Gentoo's snapshot signing key).",
        default: 'DCD0 5B71 EAB9 4199 527F  44AC DB6B 8C1F 96D8 BF6D',
        check: fingerprintProblem,
      }),
      'snapshot-date': string({
        doc: 'Ebuild repository snapshot: YYYYMMDD (snapshots/gentoo-YYYYMMDD.tar.xz, reproducible) or latest (gentoo-latest.tar.xz, changes daily).',
        default: 'latest',
        check: snapshotDateProblem,
      }),
      'key-file': optional(
        string({
          doc: "OpenPGP public key file holding the pinned keys (Gentoo's gentoo-release.asc holds both), relative to this recipe file; the build refuses one without them.",
        }),
      ),
      binhost: optional(
        string({
          doc: "Binary package host (binrepos.conf sync-uri). Default: Gentoo's official one on the mirror, <mirror>/releases/<arch>/binpackages/<suite>/<x86-64|arm64>.",
          check: gentooUrlProblem,
        }),
      ),
      profile: object(
        {
          openrc: optional(string({ doc: 'Profile for OpenRC images (default: the one the openrc stage3 comes with).', check: profileProblem })),
          systemd: optional(string({ doc: 'Profile for systemd images (default: the one the systemd stage3 comes with).', check: profileProblem })),
        },
        { doc: 'Profile to select (`eselect profile set`) per init system, as `eselect profile list` names it; absent keeps the stage3\'s.' },
      ),
      packages: list(
        object(
          {
            atom: string({ doc: 'Package atom', check: (atom) => atomProblem(atom) }),
            init: initOnly,
            why: optional(string({ doc: 'Why the image needs it.' })),
          },
          { doc: 'one package' },
        ),
        {
          doc: 'Gentoo packages emerged into the stage3 (added to @world): `{ atom, init?, why? }`, atoms like www-servers/nginx or dev-java/openjdk-bin:21.',
          default: [],
        },
      ),
      'package-use': list(
        object(
          {
            atom: string({ doc: 'Package atom (category/* allowed)', check: (atom) => atomProblem(atom, { wildcard: true }) }),
            flags: list(string({ doc: 'USE flag', check: useTokenProblem }), { doc: 'USE flags as package.use writes them', check: useFlagsProblem }),
            init: initOnly,
            why: optional(string({ doc: 'Why the image needs it.' })),
          },
          { doc: 'one package.use line' },
        ),
        {
          doc: 'Lines of /etc/portage/package.use: `{ atom, flags, init?, why? }`; flags like [headless-awt], or ["LUA_SINGLE_TARGET:", -*, lua5-4] (quote a USE_EXPAND name: YAML reads a bare trailing colon as a mapping).',
          default: [],
        },
      ),
      'accept-keywords': list(
        object(
          {
            atom: string({ doc: 'Package atom (category/* allowed)', check: (atom) => atomProblem(atom, { wildcard: true }) }),
            keywords: optional(list(string({ doc: 'keyword', check: keywordProblem }), { doc: 'Keywords to accept; absent accepts the testing (~) keyword of the image\'s architecture.' })),
            init: initOnly,
            architecture: optional(
              oneOf(ARCHITECTURES, { doc: 'Only for images of this architecture (a package may be stable on one and testing on another); absent means for all.' }),
            ),
            why: string({ doc: 'Why a testing version is needed (required: each one is a decision).' }),
          },
          { doc: 'one package.accept_keywords line' },
        ),
        { doc: 'Lines of /etc/portage/package.accept_keywords: `{ atom, keywords?, init?, architecture?, why }`.', default: [] },
      ),
      'make-conf': list(
        object(
          {
            name: string({ doc: 'Variable name', check: makeConfNameProblem }),
            value: string({ doc: 'Value (written in double quotes)', check: makeConfValueProblem }),
            why: optional(string({ doc: 'Why; written as a comment above it.' })),
          },
          { doc: 'one make.conf setting' },
        ),
        { doc: 'Extra make.conf settings, after the ones the build writes: `{ name, value, why? }`.', default: [] },
      ),
    },
    {
      doc: "Gentoo: where the stage3 and ebuild snapshot come from (mirror, pinned keys, snapshot date) and what portage installs (a later file's section replaces an earlier one's). See docs/gentoo.md.",
    },
  ),
);

/** What the build uses for a key no file of the recipe sets: the schema's declared fallbacks. */
export const RECIPE_FALLBACKS = {
  distro: fallbackOf(distroField),
  mirror: fallbackOf(mirrorField),
  variant: fallbackOf(variantField),
  components: fallbackOf(componentsField),
  sourceDateEpoch: fallbackOf(sourceDateEpochField),
};

export const recipeSchema = object(
  {
    include: list(string({ doc: 'path of a recipe part, relative to this file' }), {
      doc: 'Recipe parts merged into this one before it (lists appended, later scalars win).',
      default: [],
    }),
    description: optional(string({ doc: 'One line saying what this recipe builds.' })),
    base: object(
      {
        distro: distroField,
        suite: optional(string({ doc: 'Debian suite or codename: bookworm, trixie; for gentoo the profile release, 23.0. Must be set by the recipe or a part.' })),
        mirror: mirrorField,
        variant: variantField,
        components: componentsField,
        architecture: optional(string({ doc: 'Debian architecture (default: the host architecture).' })),
      },
      { doc: 'What is bootstrapped from where.' },
    ),
    'source-date-epoch': sourceDateEpochField,
    packages: list(
      object(
        {
          name: packageName,
          init: initOnly,
          why: optional(string({ doc: 'Why the image needs it.' })),
        },
        { doc: 'one package' },
      ),
      { doc: 'Packages installed on top of the variant: `{ name, init?, why? }`; `init: systemd` or `openrc` limits one to that init system.', default: [] },
    ),
    overlays: list(
      object(
        {
          path: string({ doc: 'Directory under overlays/ whose tree is copied onto the rootfs.' }),
          init: initOnly,
        },
        { doc: 'one overlay' },
      ),
      { doc: 'File trees copied into the image, in order: `{ path, init? }`, path below overlays/.', default: [] },
    ),
    'services-off': list(
      withShorthand(
        object(
          {
            service: string({
              doc: 'Service name: the systemd unit without .service, or the OpenRC script in /etc/init.d',
              check: (name) => (/^[A-Za-z0-9@._-]+$/.test(name) ? undefined : `'${name}' is not a service name`),
            }),
            init: initOnly,
            why: optional(string({ doc: 'Why it stays off, or why only for this init system.' })),
          },
          { doc: 'one service' },
        ),
        'service',
      ),
      {
        doc: 'Services installed but left disabled until the configurator enables them: a name, or `{ service, init?, why? }`; `init:` limits one to that init system (a service named differently per init system, like coturn\'s `turnserver` script on Gentoo\'s OpenRC).',
        default: [],
      },
    ),
    jitsi: jitsiField,
    gentoo: gentooField,
    cleanup: list(oneOf(CLEANUP_STEPS, { doc: 'cleanup step' }), {
      doc: `Cleanup steps to run (${CLEANUP_STEPS.join(', ')}).`,
      default: [],
    }),
  },
  { doc: 'A build recipe' },
);

/** One recipe file as written (before includes are merged). */
export type RecipeFile = Infer<typeof recipeSchema>;
/** The recipe's `jitsi` section. */
export type JitsiRecipe = NonNullable<RecipeFile['jitsi']>;
/** The recipe's `gentoo` section (its key-file made absolute by the loader). */
export type GentooRecipe = NonNullable<RecipeFile['gentoo']>;
/** The part of the `gentoo` section that says where the stage3 and snapshot come from. */
export type GentooSourceRecipe = Pick<GentooRecipe, 'mirror' | 'stage3-key-fingerprint' | 'snapshot-key-fingerprint' | 'snapshot-date' | 'key-file'>;

/** What the build uses: includes merged, filtered for one init system, defaults applied. */
export interface ResolvedRecipe {
  /** Absolute path of the top recipe file. */
  file: string;
  /** Every file read, top file first then includes depth-first. */
  files: string[];
  description: string;
  distro: RecipeDistro;
  suite: string;
  mirror: string;
  variant: string;
  components: string[];
  architecture?: string;
  sourceDateEpoch: number;
  init: InitSystem;
  /** Package names for this init system, in recipe order, without duplicates. */
  packages: string[];
  /**
   * Those of `packages` only this init system gets (`init:` set), in recipe order. The rest is
   * the same for every init system: the bootstrap installs it first, as a base both share.
   */
  initPackages: string[];
  /** Absolute overlay directories for this init system, in order. */
  overlays: string[];
  /** Services to leave off for this init system, in recipe order, without duplicates. */
  servicesOff: string[];
  /** Jitsi's packages and repository, when a file of the recipe has the section. */
  jitsi?: JitsiRecipe;
  /** Gentoo's mirror, keys and snapshot, when a file of the recipe has the section; `key-file` is absolute. */
  gentoo?: GentooRecipe;
  cleanup: CleanupStep[];
}
