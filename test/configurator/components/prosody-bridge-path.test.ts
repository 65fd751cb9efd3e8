/**
 * The bridge path in Debian's real prosody (on this host, in a network namespace of the test's
 * own, as the prosody user): with a bridge added, prosody also listens on the internal address,
 * and there mod_bridge_logins lets only the bridge's account in. Clients connect from the
 * namespace to that address (a non-loopback peer), and to 127.0.0.1 for comparison.
 * Requires root (namespaces, setpriv) and the packages of scripts/install-host-deps.sh.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { appendFile, chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { prosodyComponent, PROSODY_MODULES_DIR } from '../../../src/configurator/components/prosody/index.js';
import type { GeneratedFile } from '../../../src/configurator/components/types.js';
import { authTls, webTls } from '../../../src/configurator/paths.js';
import { fileAt, loadFixture, materialize, registerAccounts, rooted, selfSignedPair } from '../../helpers/generated-files.js';
import type { CheckResult, CheckSession } from '../../helpers/jitsi-standin/xmpp-check.js';
import { createNetns } from '../../helpers/netns.js';
import { withScratchDir } from '../../helpers/scratch.js';
import { DEBIAN, prosodyHostFiles as hostFilesOf } from '../../../src/configurator/distribution.js';

/** Debian's layout: where these tests expect prosody's files. */
const PROSODY_CONFIG = '/etc/prosody/prosody.cfg.lua';
const prosodyHostFiles = (hostname: string) => hostFilesOf(DEBIAN, hostname);

const CHECK = join(dirname(fileURLToPath(import.meta.url)), '../../helpers/jitsi-standin/xmpp-check.ts');
const BRIDGE_PASSWORD = randomBytes(32).toString('base64url');

async function rewrite(root: string, file: GeneratedFile, prefixes: readonly string[]): Promise<void> {
  await writeFile(join(root, file.path), rooted(file.content, root, prefixes));
}

test('prosody on the internal address: the bridge account logs in; a guest, the convener and focus are refused there but not on loopback', async (t) => {
  const base = await loadFixture('lan-live');
  const config = { ...base, bridges: [{ name: 'bridge2', password: BRIDGE_PASSWORD }] };
  const H = config.hostname;
  const address = config.internal_ip;
  const ns = await createNetns('brpath');
  t.teardown(() => ns.delete());
  await withScratchDir('prosody-bridge-path-', async (root) => {
    let prosody: ReturnType<typeof execa> | undefined;
    try {
      await chmod(root, 0o755);
      const files = prosodyComponent.plan(config, { distribution: DEBIAN, init: 'systemd' }).files;
      await materialize(files, root);
      const dirs = ['/var/lib/prosody', '/var/log/prosody', '/run/prosody'].map((dir) => join(root, dir));
      const uid = Number((await execa('id', ['-u', 'prosody'])).stdout);
      const gid = Number((await execa('id', ['-g', 'prosody'])).stdout);
      for (const dir of dirs) {
        await mkdir(dir, { recursive: true });
        await chown(dir, uid, gid);
      }
      const tlsDir = dirname(join(root, webTls(H).cert));
      await mkdir(tlsDir, { recursive: true });
      await selfSignedPair(tlsDir, H);
      await selfSignedPair(tlsDir, `auth.${H}`);
      for (const path of [webTls(H).key, authTls(H).key]) await chmod(join(root, path), 0o644);
      const trust = join(root, 'ca.pem');
      await writeFile(trust, (await readFile(join(root, webTls(H).cert), 'utf8')) + (await readFile(join(root, authTls(H).cert), 'utf8')));
      const prefixes = ['/etc/jitsi/tls/', '/var/log/prosody/', '/run/prosody/', PROSODY_MODULES_DIR];
      await rewrite(root, fileAt(files, PROSODY_CONFIG), prefixes);
      await rewrite(root, fileAt(files, prosodyHostFiles(H).available), prefixes);
      const prosodyConfig = join(root, PROSODY_CONFIG);
      await appendFile(prosodyConfig, `\n-- test only\ndata_path = "${root}/var/lib/prosody"\nlog = { debug = "${root}/var/log/prosody/debug.log" }\n`);
      for (const registered of await registerAccounts(prosodyConfig, config)) t.is(registered.exitCode, 0, registered.all);
      const bridge = await execa('prosodyctl', ['--config', prosodyConfig, 'register', 'jvb-bridge2', `auth.${H}`, BRIDGE_PASSWORD], { reject: false, all: true });
      t.is(bridge.exitCode, 0, bridge.all);

      await execa('ip', ['-n', ns.name, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan1']);
      await execa('ip', ['-n', ns.name, 'addr', 'add', `${address}/24`, 'dev', 'lan0']);
      await execa('ip', ['-n', ns.name, 'link', 'set', 'lan0', 'up']);
      await execa('ip', ['-n', ns.name, 'link', 'set', 'lan1', 'up']);
      prosody = execa('ip', ['netns', 'exec', ns.name, 'setpriv', '--reuid=prosody', '--regid=prosody', '--init-groups', 'prosody', '--config', prosodyConfig, '-F'], { reject: false, all: true });
      const deadline = Date.now() + 30_000;
      for (;;) {
        const listening = (await ns.exec(['ss', '-Hltn'])).stdout;
        if (listening.includes(`${address}:5222`) && listening.includes('127.0.0.1:5222')) break;
        if (Date.now() > deadline || prosody.exitCode !== null) throw new Error(`prosody does not listen on ${address}:5222 and 127.0.0.1:5222:\n${listening}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }

      const run = async (sessions: CheckSession[]) => {
        const result = await ns.exec([process.execPath, '--import', 'tsx', CHECK, JSON.stringify(sessions)], {
          env: { ...process.env, NODE_EXTRA_CA_CERTS: trust } as Record<string, string>,
          timeoutMs: 120_000,
          reject: false,
        });
        return JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '[]') as CheckResult[];
      };
      const remote = `xmpp://${address}:5222`;
      const local = 'xmpp://127.0.0.1:5222';
      const results = await run([
        { label: 'guest', service: remote, domain: `guest.${H}` },
        { label: 'convener', service: remote, domain: H, username: config.convener.username, password: config.convener.password },
        { label: 'focus', service: remote, domain: `auth.${H}`, username: 'focus', password: config.secrets.focus_password },
        { label: 'bridge', service: remote, domain: `auth.${H}`, username: 'jvb-bridge2', password: BRIDGE_PASSWORD },
        { label: 'convener-loopback', service: local, domain: H, username: config.convener.username, password: config.convener.password },
        { label: 'focus-loopback', service: local, domain: `auth.${H}`, username: 'focus', password: config.secrets.focus_password },
      ]);
      const log = async () => (await readFile(join(root, 'var/log/prosody/debug.log'), 'utf8').catch(() => '')).split('\n').filter((line) => /bridge_logins|refused|error/i.test(line)).slice(-30).join('\n');
      const byLabel = new Map(results.map((result) => [result.label, result.login]));
      for (const refused of ['guest', 'convener', 'focus']) {
        t.regex(String(byLabel.get(refused)), /policy-violation|only videobridges/i, `${refused}: ${byLabel.get(refused)}\n${await log()}`);
      }
      t.is(byLabel.get('bridge'), 'online', `${JSON.stringify(results)}\n${await log()}`);
      t.is(byLabel.get('convener-loopback'), 'online');
      t.is(byLabel.get('focus-loopback'), 'online');
    } finally {
      if (process.env.KEEP_LOG) await execa('cp', [join(root, 'var/log/prosody/debug.log'), '/tmp/prosody-debug.log']).catch(() => {});
      if (prosody?.pid) process.kill(prosody.pid, 'SIGTERM');
      await prosody?.catch(() => {});
    }
  });
});
