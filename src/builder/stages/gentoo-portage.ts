/**
 * gentoo-portage (Gentoo images only, docs/gentoo.md): writes portage's configuration from the recipe's `gentoo` section into the
 * unpacked stage3 (make.conf, binrepos.conf, repos.conf, package.use, package.accept_keywords;
 * see gentoo/portage-config.ts), then runs the emerge plan (getuto, the profile when the recipe
 * names one, emerge of the init system's atoms with binary packages, env-update; see
 * gentoo/emerge-plan.ts), each command in the stage3 under systemd-nspawn
 * (gentoo/nspawn-run.ts). It expects the verified snapshot at /var/db/repos/gentoo.
 * Exercised only in a stand-in stage3 whose portage commands are stand-in scripts: emerge has
 * never really run from our build.
 */
import { availableParallelism } from 'node:os';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../lib/errors.js';
import { emergePlan } from '../gentoo/emerge-plan.js';
import { nspawnRunArgs } from '../gentoo/nspawn-run.js';
import { GENTOO_REPOSITORY, portageConfigFiles } from '../gentoo/portage-config.js';
import { writePortageConfig } from '../gentoo/write-portage-config.js';
import { runLogged } from '../run-program.js';
import type { BuildContext, Stage } from '../stage.js';

export const gentooPortage: Stage = {
  name: 'gentoo-portage',
  title: "Install Gentoo's packages with portage",
  skip: (ctx) => (ctx.recipe.distro !== 'gentoo' ? 'not a Gentoo image' : undefined),
  async run(ctx: BuildContext) {
    const { gentoo, suite } = ctx.recipe;
    if (!gentoo) throw new UserError(`${ctx.recipe.file}: a gentoo recipe needs a gentoo section`);
    const repository = join(ctx.rootfs, GENTOO_REPOSITORY);
    if (!(await lstat(join(repository, 'profiles')).catch(() => undefined))?.isDirectory()) {
      throw new UserError(`${repository} holds no ebuild repository (no profiles/): the verified snapshot must be unpacked there first`);
    }
    const files = portageConfigFiles({ gentoo, suite, init: ctx.init, architecture: ctx.architecture });
    await writePortageConfig(ctx.rootfs, files);
    ctx.log(`wrote ${files.map((file) => `/${file.path}`).join(', ')}`);
    const plan = emergePlan({ gentoo, init: ctx.init, jobs: availableParallelism() });
    for (const command of plan.commands) {
      ctx.log(command.what);
      const args = nspawnRunArgs({ root: ctx.rootfs, machine: `nspawn-jitsi-build-${process.pid}`, env: plan.env, argv: command.argv });
      await runLogged(ctx, 'systemd-nspawn', args, { displayName: command.argv[0] });
    }
  },
};
