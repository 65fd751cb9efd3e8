/**
 * package-list: writes `<out>/<base>.packages`, every installed package of the image with its
 * version and architecture (`name version arch`, one per line, sorted), read from the image's
 * dpkg database; for a Gentoo image from portage's /var/db/pkg, with the name as
 * `category/name:slot` (gentoo/installed-packages.ts). It is published beside the tarball so
 * users can check versions without unpacking it.
 */
import { join } from 'node:path';
import { packageListName } from '../../image/artifact-names.js';
import { writeFileAtomically } from '../../lib/atomic-write.js';
import { gentooPackageListText, readInstalledPackages } from '../gentoo/installed-packages.js';
import { runLogged } from '../run-program.js';
import type { BuildContext, Stage } from '../stage.js';

/** `dpkg-query -W` output (`status<TAB>name<TAB>version<TAB>arch`) to the .packages text. */
export function packageListText(query: string): string {
  const lines = query
    .split('\n')
    .map((line) => line.split('\t'))
    .filter((fields) => fields.length === 4 && fields[0].startsWith('ii'))
    .map(([, name, version, arch]) => `${name} ${version} ${arch}`)
    .sort();
  return lines.join('\n') + '\n';
}

async function dpkgPackageList(ctx: BuildContext): Promise<string> {
  const query = await runLogged(ctx, 'dpkg-query', [
    `--admindir=${join(ctx.rootfs, 'var/lib/dpkg')}`,
    '--show',
    '--showformat=${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\n',
  ]);
  return packageListText(query);
}

export const packageList: Stage = {
  name: 'package-list',
  title: 'Write the package list',
  async run(ctx: BuildContext) {
    const text = ctx.recipe.distro === 'gentoo' ? gentooPackageListText(await readInstalledPackages(ctx.rootfs, ctx.architecture)) : await dpkgPackageList(ctx);
    const file = join(ctx.outDir, packageListName(ctx.artifactBase));
    await writeFileAtomically(file, text, { mode: 0o644 });
    ctx.artifacts.push(file);
    ctx.log(`${text.split('\n').length - 1} packages`);
  },
};
