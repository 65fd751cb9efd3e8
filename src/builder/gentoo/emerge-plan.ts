/**
 * What the Gentoo build runs inside the stage3 (under systemd-nspawn, after portage-config.ts's
 * files are written): the commands as argument arrays, in order, and the environment they run
 * with. A pure function of the recipe's `gentoo` section, the init system and the job count;
 * portage cannot run on our build machines, so this plan is what the tests check.
 *
 * 1. `getuto`: makes /etc/portage/gnupg, the keyring portage verifies binary packages with,
 *    trusting Gentoo's release keys from the stage3's openpgp-keys-gentoo-release. It holds a
 *    private key made for this machine, so the cleanup step `portage-gnupg` removes it: each
 *    installed image makes its own when portage next needs it (portage runs getuto itself).
 *    Run here explicitly so a failure stops the build at this step with getuto's message.
 * 2. `eselect profile set <profile>` when the recipe names one for this init system (the
 *    stage3's own profile otherwise, which already matches its init system).
 * 3. `emerge --getbinpkg --noreplace ... <atoms>`: the recipe's atoms for this init system,
 *    added to @world (so `emerge -uDN @world` keeps them). `--getbinpkg` without
 *    `--usepkgonly`: a binary package is used where the binary host has one built with the
 *    image's USE flags and keywords, and anything else is compiled. `--usepkgonly` would refuse
 *    the whole build for any package the host lacks, and it lacks exactly what a Jitsi image
 *    needs to differ in: testing versions (coturn is ~amd64/~arm64 only) and packages whose USE
 *    flags the recipe changes (prosody's Lua target, the JRE without X). `--noreplace` leaves
 *    what the stage3 has (iproute2, openssl, ca-certificates) as it is.
 * 4. `groupadd --system --force` for each of IMAGE_GROUPS: groups the configurator needs that
 *    on Debian a package makes and on Gentoo none does. After emerge, so that the acct-group
 *    packages have their fixed ids first; groupadd then takes the highest free system id,
 *    the same on every build from the same stage3 and packages. `--force`: an existing group
 *    stays as it is. Here and not with Jitsi's accounts (jitsi-effects.ts): the image needs
 *    it without Jitsi's packages too (prosody's and coturn's keys), and gentoo-jitsi is
 *    skipped with `--jitsi-source none`.
 * 5. `env-update`: /etc/profile.env and ld.so.conf from the env.d files the packages installed
 *    (the JRE's among them); emerge runs it after merging too, but the later stages must not
 *    depend on that.
 */
import type { InitSystem } from '../../lib/init-systems.js';
import type { GentooRecipe } from '../recipe/schema.js';
import { forInit } from './portage-config.js';

/** A group the image must have that no Gentoo package makes. */
export interface ImageGroup {
  name: string;
  why: string;
}

export const IMAGE_GROUPS: readonly ImageGroup[] = [
  {
    // The configurator's KEY_GROUP (src/configurator/paths.ts; a test holds the two equal).
    name: 'ssl-cert',
    why: "the group that may read TLS private keys, which the configurator puts prosody and turnserver in (Debian's ssl-cert package makes it)",
  },
];

export interface PlannedCommand {
  /** What the step does, for the build log. */
  what: string;
  argv: string[];
}

export interface EmergePlan {
  /** The environment every command runs with (nothing inherited from the build host). */
  env: Record<string, string>;
  commands: PlannedCommand[];
  /** The atoms emerged, in recipe order, each once. */
  atoms: string[];
}

export interface EmergePlanInput {
  gentoo: Pick<GentooRecipe, 'packages' | 'profile'>;
  init: InitSystem;
  /**
   * Packages built or merged at once (`emerge --jobs`) and make's jobs per package (MAKEOPTS);
   * both also stop starting work above this load average, so the two do not multiply.
   */
  jobs: number;
}

/** The atoms emerged into an image of `init`: the recipe's packages for it, each once. */
export function emergedAtoms(gentoo: Pick<GentooRecipe, 'packages'>, init: InitSystem): string[] {
  return [...new Set(forInit(gentoo.packages, init).map((pkg) => pkg.atom))];
}

export function emergePlan(input: EmergePlanInput): EmergePlan {
  const { gentoo, init, jobs } = input;
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`emerge jobs must be a whole number >= 1, not ${jobs}`);
  const atoms = emergedAtoms(gentoo, init);
  const env: Record<string, string> = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/root',
    // Portage requires a UTF-8 locale; C.UTF-8 is built into glibc, so no locale needs generating.
    LC_ALL: 'C.UTF-8',
    TERM: 'dumb',
    // No colours or spinner in the build log, no countdowns before merging or cleaning.
    NOCOLOR: 'true',
    EMERGE_WARNING_DELAY: '0',
    CLEAN_DELAY: '0',
    MAKEOPTS: `-j${jobs} -l${jobs}`,
  };
  const commands: PlannedCommand[] = [{ what: 'make /etc/portage/gnupg, the keyring binary packages are verified with', argv: ['getuto'] }];
  const profile = gentoo.profile?.[init];
  if (profile) commands.push({ what: `select the profile ${profile}`, argv: ['eselect', 'profile', 'set', profile] });
  if (atoms.length > 0) {
    commands.push({
      what: `emerge ${atoms.length} packages (binary packages where the binary host has them)`,
      argv: [
        'emerge',
        '--ask=n',
        '--getbinpkg',
        '--noreplace',
        '--verbose',
        '--color=n',
        '--nospinner',
        '--quiet-build=y',
        `--jobs=${jobs}`,
        `--load-average=${jobs}`,
        ...atoms,
      ],
    });
  }
  for (const group of IMAGE_GROUPS) commands.push({ what: `make group ${group.name}: ${group.why}`, argv: ['groupadd', '--system', '--force', group.name] });
  commands.push({ what: 'update the environment files the packages installed', argv: ['env-update'] });
  return { env, commands, atoms };
}
