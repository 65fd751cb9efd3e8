/**
 * install-configurator: bundles the first-boot configurator (src/configurator/main.ts and
 * everything it imports, js-yaml and execa included) with esbuild into one CommonJS file for
 * Node.js 18 (bookworm's `nodejs`), and installs it as /usr/sbin/jitsi-meet-config (0755,
 * `#!/usr/bin/node`). CommonJS because an extension-less file is CommonJS to Node 18.
 * The image's package list must include `nodejs` (Gentoo: the atom net-libs/nodejs, for the image's
 * init system), which installs /usr/bin/node on both.
 */
import { build } from 'esbuild';
import { access, chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomically } from '../../lib/atomic-write.js';
import { UserError } from '../../lib/errors.js';
import { emergedAtoms } from '../gentoo/emerge-plan.js';
import type { BuildContext, Stage } from '../stage.js';

export const CONFIGURATOR_PATH = '/usr/sbin/jitsi-meet-config';
export const CONFIGURATOR_ENTRY = 'src/configurator/main.ts';
/** Oldest Node.js the bundle must run on: Debian bookworm's nodejs. */
export const CONFIGURATOR_NODE_TARGET = 'node18';
/** net-libs/nodejs with or without a version operator, version, slot or USE dependency. */
const NODEJS_ATOM = /^[<>=~]*net-libs\/nodejs(?:$|-\d|[:[])/;

/**
 * Bundles the configurator into `outFile` (written atomically, mode 0755). Deterministic:
 * the same sources give the same bytes, which keeps image builds reproducible.
 */
export async function bundleConfigurator(projectRoot: string, outFile: string): Promise<void> {
  const result = await build({
    entryPoints: [join(projectRoot, CONFIGURATOR_ENTRY)],
    absWorkingDir: projectRoot,
    bundle: true,
    platform: 'node',
    target: CONFIGURATOR_NODE_TARGET,
    format: 'cjs',
    banner: { js: '#!/usr/bin/node' },
    legalComments: 'eof',
    write: false,
    logLevel: 'silent',
  });
  if (result.warnings.length > 0) {
    // A warning here (an import esbuild could not resolve statically) is a crash in the image later.
    throw new Error(`bundling the configurator: ${result.warnings.map((warning) => warning.text).join('; ')}`);
  }
  const output = result.outputFiles[0];
  if (!output) throw new Error('bundling the configurator produced no output');
  await mkdir(dirname(outFile), { recursive: true });
  await writeFileAtomically(outFile, output.contents, { mode: 0o755 });
}

export const installConfigurator: Stage = {
  name: 'install-configurator',
  title: `Install the configurator as ${CONFIGURATOR_PATH}`,
  /** Before anything is downloaded: without nodejs the build would fail here after a whole bootstrap. */
  async verify(ctx: BuildContext) {
    if (ctx.recipe.distro === 'gentoo') {
      const atoms = ctx.recipe.gentoo ? emergedAtoms(ctx.recipe.gentoo, ctx.init) : [];
      if (!atoms.some((atom) => NODEJS_ATOM.test(atom))) {
        throw new UserError(`${ctx.recipe.file}: gentoo.packages: net-libs/nodejs is missing for ${ctx.init}; ${CONFIGURATOR_PATH} runs on it (add \`- { atom: net-libs/nodejs }\`, or --skip install-configurator)`);
      }
    } else if (!ctx.recipe.packages.includes('nodejs')) {
      throw new UserError(`${ctx.recipe.file}: packages: nodejs is missing; ${CONFIGURATOR_PATH} runs on it (add \`- { name: nodejs }\`, or --skip install-configurator)`);
    }
  },
  async run(ctx: BuildContext) {
    await access(join(ctx.rootfs, 'usr/bin/node')).catch(() => {
      throw new Error(`the image has no /usr/bin/node: add nodejs to the recipe's packages (${CONFIGURATOR_PATH} runs on it)`);
    });
    const bundled = join(ctx.workDir, 'jitsi-meet-config');
    await bundleConfigurator(ctx.projectRoot, bundled);
    const target = join(ctx.rootfs, CONFIGURATOR_PATH);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, await readFile(bundled), { mode: 0o755 });
    await chmod(target, 0o755);
    await chown(target, 0, 0);
    ctx.log(`${CONFIGURATOR_PATH}: ${(await readFile(target)).length} bytes`);
  },
};
