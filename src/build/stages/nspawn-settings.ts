/**
 * nspawn-settings: writes `<out>/<base>.nspawn`, the systemd-nspawn settings file published
 * beside the tarball (see src/build/nspawn-settings.ts for what it holds and why). Install it as
 * /etc/systemd/nspawn/<machine>.nspawn: host network, no user namespace, and for
 * OpenRC images the stop signal sysvinit acts on (`KillSignal=SIGPWR`), without which
 * `machinectl terminate` / `systemctl stop systemd-nspawn@<machine>` never stop the container.
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { nspawnSettings } from '../nspawn-settings.js';
import type { BuildContext, Stage } from '../stage.js';

export const nspawnSettingsStage: Stage = {
  name: 'nspawn-settings',
  title: 'Write the systemd-nspawn settings file',
  async run(ctx: BuildContext) {
    const file = join(ctx.outDir, `${ctx.artifactBase}.nspawn`);
    const temporary = `${file}.partial`;
    try {
      await writeFile(temporary, nspawnSettings(ctx.init), { mode: 0o644 });
      await rename(temporary, file);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    ctx.artifacts.push(file);
    ctx.log(`wrote ${file}`);
  },
};
