import test from 'ava';
import { build } from 'esbuild';
import { MAIN, REPO } from '../helpers/configurator-process.js';

test('the configurator entry pulls in nothing from src/build, src/cli, src/release or src/boot (it ships in the image)', async (t) => {
  const result = await build({
    entryPoints: [MAIN],
    absWorkingDir: REPO,
    bundle: true,
    platform: 'node',
    target: 'node18',
    format: 'cjs',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(result.metafile.inputs);
  t.true(inputs.includes('src/configurator/main.ts'));
  t.true(inputs.includes('src/configurator/apply/index.ts'), 'the apply step is bundled statically, not loaded at run time');
  const walled = inputs.filter((input) => /^src\/(builder|cli|release|boot|image|host)\//.test(input));
  t.deepEqual(walled, [], `imported across the wall: ${walled.join(', ')}`);
  t.deepEqual(result.warnings.map((w) => w.text), []);
});
