/**
 * `jitsi-meet-config --apt-hook` (what apt runs after dpkg) through the real front end and
 * apply step on a temporary root: what dpkg's log says changed decides whether it re-applies,
 * and every outcome is one line and exit status 0.
 */
import test from 'ava';
import { appendFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { LOCK_PATH } from '../../src/configurator/run-lock.js';
import { MASTER_CONFIG_PATH, REAPPLY_LOG } from '../../src/configurator/paths.js';
import { runInProcess } from '../helpers/configurator-process.js';
import { scratchDir } from '../helpers/scratch.js';

const exists = (path: string) => stat(path).then(() => true, () => false);
const JICOFO_CONF = 'etc/jitsi/jicofo/jicofo.conf';
const PLACEHOLDER_HOST = 'etc/prosody/conf.avail/jitsi-placeholder.invalid.cfg.lua';

/** A root configured for meet.jitsi.test, with a dpkg log as a real system has. */
async function configuredRoot(): Promise<string> {
  const root = await scratchDir('apt-hook-');
  await mkdir(join(root, 'var/log'), { recursive: true });
  await writeFile(join(root, 'var/log/dpkg.log'), '2026-12-01 10:00:00 configure tzdata:all 2024a-0 <none>\n');
  const answers = join(root, 'answers.yaml');
  await writeFile(answers, 'hostname: meet.jitsi.test\nexternal_ip: 10.0.0.5\n');
  const configured = await runInProcess(['--root', root, '--answers', answers]);
  if (configured.code !== 0) throw new Error(configured.stdout + configured.stderr);
  return root;
}

/** What an upgrade of jicofo and jitsi-meet-prosody leaves: their log lines and their scripts' rewrites. */
async function upgradeJitsiPackages(root: string): Promise<void> {
  await appendFile(
    join(root, 'var/log/dpkg.log'),
    [
      '2026-12-02 09:00:00 upgrade jicofo:all 1.0-1100-1 1.0-1200-1',
      '2026-12-02 09:00:01 upgrade jitsi-meet-prosody:all 1.0.8000-1 1.0.8100-1',
      '2026-12-02 09:00:02 configure jicofo:all 1.0-1200-1 <none>',
      '2026-12-02 09:00:03 configure jitsi-meet-prosody:all 1.0.8100-1 <none>',
      '',
    ].join('\n'),
  );
  await writeFile(join(root, JICOFO_CONF), 'jicofo.xmpp.client.client-proxy = "focus.jitsi-placeholder.invalid"\n');
  await writeFile(join(root, PLACEHOLDER_HOST), 'plugin_paths = { "/usr/share/jitsi-meet/prosody-plugins/" }\nVirtualHost "jitsi-placeholder.invalid"\n');
}

test('without a master config (an image being built) it says and does nothing', async (t) => {
  const root = await scratchDir('apt-hook-');
  const run = await runInProcess(['--root', root, '--apt-hook']);
  t.deepEqual(run, { code: 0, stdout: '', stderr: '' });
  t.false(await exists(join(root, REAPPLY_LOG)));
});

test("after Jitsi's packages changed it re-applies, removes the package's placeholder host and says so in one line; then it stays quiet", async (t) => {
  const root = await configuredRoot();
  const configured = await readFile(join(root, JICOFO_CONF), 'utf8');
  t.deepEqual(await runInProcess(['--root', root, '--apt-hook']), { code: 0, stdout: '', stderr: '' }, 'nothing changed since configuring');

  await upgradeJitsiPackages(root);
  const run = await runInProcess(['--root', root, '--apt-hook']);
  t.is(run.code, 0);
  t.is(run.stderr, '');
  t.regex(
    run.stdout,
    new RegExp(`^jitsi-meet-config: re-applied the configuration after changes to jicofo, jitsi-meet-prosody \\(1 file\\(s\\) written, \\d+ unchanged, 1 removed; previous versions kept in \\S+\\); log: ${REAPPLY_LOG}\\n$`),
  );
  t.is(await readFile(join(root, JICOFO_CONF), 'utf8'), configured, "jicofo's config is the configurator's again");
  t.false(await exists(join(root, PLACEHOLDER_HOST)), 'the placeholder host is gone');
  const log = await readFile(join(root, REAPPLY_LOG), 'utf8');
  t.regex(log, /^=== \S+: re-applying after changes to jicofo, jitsi-meet-prosody$/m);
  t.regex(log, /^jitsi-meet-config: SUCCESS: /m);
  t.is((await stat(join(root, REAPPLY_LOG))).mode & 0o777, 0o600);

  t.deepEqual(await runInProcess(['--root', root, '--apt-hook']), { code: 0, stdout: '', stderr: '' }, 'handled: quiet until the next change');
  await appendFile(join(root, 'var/log/dpkg.log'), '2026-12-03 09:00:00 configure tzdata:all 2024b-0 <none>\n');
  t.deepEqual(await runInProcess(['--root', root, '--apt-hook']), { code: 0, stdout: '', stderr: '' }, 'other packages do not count');
});

test('while another run holds the lock it re-applies nothing and says what to run later', async (t) => {
  const root = await configuredRoot();
  await upgradeJitsiPackages(root);
  const other = execa('sleep', ['60']);
  try {
    await mkdir(join(root, LOCK_PATH, '..'), { recursive: true });
    await writeFile(join(root, LOCK_PATH), `${other.pid}\n`);
    const run = await runInProcess(['--root', root, '--apt-hook']);
    t.is(run.code, 0);
    t.is(
      run.stdout,
      `jitsi-meet-config: another jitsi-meet-config is running (PID ${other.pid}), so the configuration was not re-applied after changes to jicofo, jitsi-meet-prosody; run \`jitsi-meet-config --reapply\` once it has finished\n`,
    );
    t.true(await exists(join(root, PLACEHOLDER_HOST)), 'nothing was touched');
  } finally {
    other.kill();
    await other.catch(() => undefined);
  }
  // The change is still pending: the next apt run (or the admin) re-applies.
  t.regex((await runInProcess(['--root', root, '--apt-hook'])).stdout, /^jitsi-meet-config: re-applied /);
});

test('a re-apply that fails is one FAILED line naming the reason, the log and what to run, and still exit status 0', async (t) => {
  const root = await configuredRoot();
  await upgradeJitsiPackages(root);
  const configPath = join(root, MASTER_CONFIG_PATH);
  await writeFile(configPath, (await readFile(configPath, 'utf8')).replace(/^hostname: .*$/m, 'hostname: not a hostname'));
  const run = await runInProcess(['--root', root, '--apt-hook']);
  t.is(run.code, 0);
  t.regex(run.stdout, new RegExp(`^jitsi-meet-config: FAILED to re-apply the configuration after changes to jicofo, jitsi-meet-prosody: .*hostname.*; log: ${REAPPLY_LOG}\\. Fix that, then run \`jitsi-meet-config --reapply\`\\n$`));
  t.regex(await readFile(join(root, REAPPLY_LOG), 'utf8'), /FAILED/);
});

test('--reapply applies the existing configuration and refuses when there is none', async (t) => {
  const none = await runInProcess(['--root', await scratchDir('apt-hook-'), '--reapply']);
  t.is(none.code, 1);
  t.regex(none.stderr, /there is no master config at \S+ to re-apply: run jitsi-meet-config to configure first/);
  const root = await configuredRoot();
  await upgradeJitsiPackages(root);
  const run = await runInProcess(['--root', root, '--reapply']);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /removed \/etc\/prosody\/conf\.avail\/jitsi-placeholder\.invalid\.cfg\.lua \(it was for another hostname\)/);
  t.regex(run.stdout, /jitsi-meet-config: SUCCESS: the server https:\/\/meet\.jitsi\.test\//);
});
