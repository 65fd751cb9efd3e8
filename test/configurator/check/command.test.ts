import test from 'ava';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfiguratorArgs, UsageError } from '../../../src/configurator/cli.js';
import { FIXTURE_DIR } from '../../helpers/generated-files.js';
import { runInProcess } from '../../helpers/configurator-process.js';
import { scratchDir } from '../../helpers/scratch.js';

test('--check and --json parse; --json alone and --check with a configuring option are usage errors', (t) => {
  t.like(parseConfiguratorArgs(['--check']), { check: true, json: false });
  t.like(parseConfiguratorArgs(['--check', '--json']), { check: true, json: true });
  t.throws(() => parseConfiguratorArgs(['--json']), { instanceOf: UsageError, message: '--json is an option of --check' });
  for (const other of ['--yes', '--reapply', '--rotate-secrets', '--no-apply', '--show']) {
    t.throws(() => parseConfiguratorArgs(['--check', other]), { instanceOf: UsageError, message: /--check only looks at the running server/ }, other);
  }
});

test('--check without a master config, or not on a running server, says so and exits 1', async (t) => {
  const dir = await scratchDir('check-command-');
  const missing = await runInProcess(['--check', '--config', join(dir, 'none.yaml')]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /there is no master config at .*none\.yaml: run jitsi-meet-config to configure first/);
  await copyFile(join(FIXTURE_DIR, 'localhost.yaml'), join(dir, 'master.yaml'));
  const prefixed = await runInProcess(['--check', '--root', dir, '--config', join(dir, 'master.yaml')]);
  t.is(prefixed.code, 1);
  t.regex(prefixed.stderr, /--check looks at the running server: run it inside the booted container/);
  t.is(prefixed.stdout, '');
});
