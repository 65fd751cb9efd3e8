import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { nspawnSettings } from '../../../src/image/settings-file.js';
import { nspawnSettingsStage } from '../../../src/builder/stages/nspawn-settings.js';
import type { BuildContext } from '../../../src/builder/stage.js';
import { scratchDir } from '../../helpers/scratch.js';

test('the stage writes <out>/<base>.nspawn and lists it as an artifact', async (t) => {
  const outDir = await scratchDir('nspawn-settings-');
  const logged: string[] = [];
  const ctx = { init: 'openrc', outDir, artifactBase: 'debian-bookworm-jitsi-openrc-0.1.0-amd64', artifacts: [] as string[], log: (l: string) => logged.push(l) };
  await nspawnSettingsStage.run(ctx as unknown as BuildContext);
  const file = join(outDir, 'debian-bookworm-jitsi-openrc-0.1.0-amd64.nspawn');
  t.deepEqual(ctx.artifacts, [file]);
  t.is(await readFile(file, 'utf8'), nspawnSettings('openrc'));
});
