import test from 'ava';
import { build } from 'esbuild';
import { join } from 'node:path';
import { MAIN, REPO } from '../helpers/configurator-process.js';

test('the configurator entry pulls in nothing from src/builder, src/cli, src/release, src/boot, src/image or src/host (it ships in the image)', async (t) => {
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

test('components are pure: nothing they import touches the file system or runs a program', async (t) => {
  const result = await build({
    entryPoints: [join(REPO, 'src/configurator/components/index.ts')],
    absWorkingDir: REPO,
    bundle: true,
    platform: 'node',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.values(result.metafile.inputs);
  const impure = inputs.flatMap((input) => input.imports.map((entry) => entry.path)).filter((path) => /^(node:)?(fs|fs\/promises|child_process)$|execa/.test(path));
  t.deepEqual([...new Set(impure)], [], 'a component (or a module it imports) reads files or runs programs: move that to apply/');
  t.false(Object.keys(result.metafile.inputs).some((input) => input.startsWith('src/configurator/apply/')), 'components import nothing from apply/');
});
