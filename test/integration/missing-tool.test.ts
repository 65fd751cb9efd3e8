/**
 * A missing host program stops the build before any work with one line naming the Debian
 * package. The program is hidden for real: the CLI runs in a private mount namespace where a
 * non-executable empty file is bind-mounted over it.
 */
import test from 'ava';
import { execa } from 'execa';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/builder/pipeline.js';
import { findInPath } from '../../src/host/tools.js';
import { scratchDir } from '../helpers/scratch.js';

// Runs inside the new mount namespace: hide argv[1] (the tool), then run the CLI with the rest.
const HIDE_AND_RUN = `
const { execFileSync, spawnSync } = require('node:child_process');
const [tool, blank, ...cli] = process.argv.slice(1);
execFileSync('mount', ['--bind', blank, tool]);
const result = spawnSync(process.execPath, cli, { stdio: 'inherit' });
process.exit(result.status ?? 1);
`;

for (const [tool, pkg] of [
  ['mmdebstrap', 'mmdebstrap'],
  ['zstd', 'zstd'],
] as const) {
  test(`without ${tool}: one line naming the package ${pkg}, exit 1, nothing written`, async (t) => {
    const path = await findInPath(tool);
    if (!path) return t.fail(`${tool} is not installed here; run scripts/install-host-deps.sh`);
    const scratch = await scratchDir('missing-tool-', '/var/tmp');
    const blank = join(scratch, 'blank');
    await writeFile(blank, '', { mode: 0o644 });
    const out = join(scratch, 'out');
    const env = { ...process.env };
    delete env.INIT_CWD;
    const result = await execa(
      'unshare',
      ['--mount', '--propagation=private', '--', process.execPath, '-e', HIDE_AND_RUN, path, blank, '--import', 'tsx', join(PROJECT_ROOT, 'src/cli/main.ts'), 'build', '--init', 'systemd', '--out', out, '--workdir', scratch, '--compression', 'zstd', '--level', '1', '--plain', '--jitsi-source', 'none', '--no-cache'],
      { cwd: PROJECT_ROOT, env, extendEnv: false, reject: false },
    );
    t.is(result.exitCode, 1, result.stderr);
    const errorLines = result.stderr.split('\n').filter((line) => line.startsWith('nspawn-jitsi build:'));
    t.deepEqual(errorLines, [`nspawn-jitsi build: missing host tool: ${tool}; install with: apt-get install ${pkg}`]);
    t.deepEqual(await readdir(out), [], 'no artifact, no staging directory');
    t.deepEqual((await readdir(scratch)).sort(), ['blank', 'out'], 'no work directory left');
  });
}
