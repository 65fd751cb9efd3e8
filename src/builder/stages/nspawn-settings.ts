/**
 * nspawn-settings: writes `<out>/<base>.nspawn`, the systemd-nspawn settings file published
 * beside the tarball (see src/image/settings-file.ts for what it holds and why). Install it as
 * /etc/systemd/nspawn/<machine>.nspawn: host network, no user namespace, and for
 * OpenRC images the stop signal sysvinit acts on (`KillSignal=SIGPWR`), without which
 * `machinectl terminate` / `systemctl stop systemd-nspawn@<machine>` never stop the container.
 */
import { join } from 'node:path';
import { writeFileAtomically } from '../../lib/atomic-write.js';
import { settingsFileName } from '../../image/artifact-names.js';
import { nspawnSettings } from '../../image/settings-file.js';
import type { BuildContext, Stage } from '../stage.js';

export const nspawnSettingsStage: Stage = {
  name: 'nspawn-settings',
  title: 'Write the systemd-nspawn settings file',
  async run(ctx: BuildContext) {
    const file = join(ctx.outDir, settingsFileName(ctx.artifactBase));
    await writeFileAtomically(file, nspawnSettings(ctx.init), { mode: 0o644 });
    ctx.artifacts.push(file);
    ctx.log(`wrote ${file}`);
  },
};
