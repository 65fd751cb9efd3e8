/**
 * Issue 11: a videobridge on another host joins a main server. Two containers of the stand-in
 * image (test/helpers/jitsi-standin: Jitsi's package names, users and units, with stand-in
 * daemons that log in over STARTTLS and check the certificate against the JRE's store) boot in
 * two network namespaces this test makes, joined by a veth pair:
 * - the main server on 10.79.0.1, configured as usual; `--add-bridge bridge2` prints a token;
 * - the bridge host on 10.79.0.2, configured with `role: bridge` and that token: only its
 *   videobridge runs, it logs in to the main server's prosody across the link and joins the
 *   brewery, where an observer on the main server then sees two bridges;
 * - from the bridge's namespace a guest (anonymous) and the convener cannot log in on that path,
 *   while the bridge's own account can;
 * - after `--remove-bridge bridge2` that account cannot log in any more and the brewery holds the
 *   main server's bridge alone.
 * Both containers run the same image, once with systemd and once with OpenRC.
 * Requires root (systemd-nspawn, ip netns), the test images and the Debian mirror.
 */
import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import yaml from 'js-yaml';
import { bootContainer, type Container } from '../../src/boot/index.js';
import type { InitSystem } from '../../src/lib/init-systems.js';
import { LAN_ANSWERS, HOST } from '../helpers/configure-scenario.js';
import { until } from '../helpers/jitsi-health.js';
import { serveStandinRepoForTests } from '../helpers/jitsi-standin/index.js';
import { imageWithStandin } from '../helpers/jitsi-standin/install.js';
import type { CheckResult, CheckSession } from '../helpers/jitsi-standin/xmpp-check.js';
import { createNetns, type Netns } from '../helpers/netns.js';
import { scratchDir } from '../helpers/scratch.js';

const CHECK = join(dirname(fileURLToPath(import.meta.url)), '../helpers/jitsi-standin/xmpp-check.ts');
const MAIN_ADDRESS = '10.79.0.1';
const BRIDGE_ADDRESS = '10.79.0.2';
const AUTH = `auth.${HOST}`;
const BREWERY = `JvbBrewery@internal.${AUTH}`;

const standin = serveStandinRepoForTests(test);

/** XMPP sessions from inside `ns` (one process; see xmpp-check.ts), trusting the main server's certificates. */
async function xmpp(ns: Netns, sessions: CheckSession[], trust: string): Promise<CheckResult[]> {
  const result = await ns.exec([process.execPath, '--import', 'tsx', CHECK, JSON.stringify(sessions)], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: trust } as Record<string, string>,
    timeoutMs: 120_000,
    reject: false,
  });
  const line = result.stdout.trim().split('\n').at(-1) ?? '';
  if (!line.startsWith('[')) throw new Error(`xmpp-check printed no result: ${result.stdout}\n${result.stderr.slice(-2000)}`);
  return JSON.parse(line) as CheckResult[];
}

/** Whether the init of `container` runs `service`. */
async function running(container: Container, init: InitSystem, service: string): Promise<boolean> {
  const argv = init === 'systemd' ? ['systemctl', 'is-active', '--quiet', service] : ['rc-service', service, 'status'];
  return (await container.exec(argv, { reject: false, timeoutMs: 30_000 })).exitCode === 0;
}

/** Whether `unit` (a target on systemd, a service on OpenRC) starts at boot. */
async function startsAtBoot(container: Container, init: InitSystem, unit: string): Promise<boolean> {
  const argv = init === 'systemd' ? ['systemctl', 'is-enabled', '--quiet', `${unit}.target`] : ['test', '-e', `/etc/runlevels/default/${unit}`];
  return (await container.exec(argv, { reject: false, timeoutMs: 30_000 })).exitCode === 0;
}

for (const init of ['systemd', 'openrc'] as const) test.serial(`${init}: a bridge on another host joins the brewery with its token; guests and the convener are refused on its path; a removed bridge cannot log in`, async (t) => {
  const main = await imageWithStandin(init, standin.served.url, standin.key);
  const bridgeRoot = join(await scratchDir('bridges-bridge-root-'), 'rootfs');
  await execa('cp', ['-a', '--reflink=auto', main.root, bridgeRoot]);

  const mainNs = await createNetns(`brm-${init === 'systemd' ? 'sd' : 'rc'}`);
  const bridgeNs = await createNetns(`brb-${init === 'systemd' ? 'sd' : 'rc'}`);
  const containers: Container[] = [];
  t.teardown(async () => {
    for (const container of containers.reverse()) await container.dispose().catch(() => {});
    await bridgeNs.delete();
    await mainNs.delete();
  });
  // One link between the two namespaces: the main server's and the bridge's only way to each other.
  await execa('ip', ['link', 'add', 'jb0', 'netns', mainNs.name, 'type', 'veth', 'peer', 'name', 'jb1', 'netns', bridgeNs.name]);
  await execa('ip', ['-n', mainNs.name, 'addr', 'add', `${MAIN_ADDRESS}/24`, 'dev', 'jb0']);
  await execa('ip', ['-n', bridgeNs.name, 'addr', 'add', `${BRIDGE_ADDRESS}/24`, 'dev', 'jb1']);
  await execa('ip', ['-n', mainNs.name, 'link', 'set', 'jb0', 'up']);
  await execa('ip', ['-n', bridgeNs.name, 'link', 'set', 'jb1', 'up']);

  const mainContainer = await bootContainer({ directory: main.root, init, netns: mainNs.name, settingsFile: main.nspawn });
  containers.push(mainContainer);
  await mainContainer.waitUntilUp(180_000);
  const onMain = (argv: string[]) => mainContainer.exec(argv, { reject: false, timeoutMs: 300_000 });
  await writeFile(join(main.root, 'root/answers.yaml'), yaml.dump({ ...LAN_ANSWERS, external_ip: MAIN_ADDRESS, internal_ip: MAIN_ADDRESS }));
  const configured = await onMain(['jitsi-meet-config', '--answers', '/root/answers.yaml']);
  t.is(configured.exitCode, 0, `${configured.stdout}${configured.stderr}`);

  // The token: one line, printed once the bridge's account exists.
  const added = await onMain(['jitsi-meet-config', '--add-bridge', 'bridge2']);
  const addedOutput = `${added.stdout}${added.stderr}`;
  t.is(added.exitCode, 0, addedOutput);
  t.regex(added.stdout, /^prosody account jvb-bridge2@auth\.meet\.jitsi\.test: password set$/m, addedOutput);
  const token = /^jitsi-bridge-1:\S+$/m.exec(added.stdout)?.[0];
  if (!token) {
    t.fail(`no join token in:\n${addedOutput}`);
    return;
  }
  t.regex((await onMain(['jitsi-meet-config', '--list-bridges'])).stdout, /^bridge2\tjvb-bridge2@auth\.meet\.jitsi\.test$/m);
  const again = await onMain(['jitsi-meet-config', '--add-bridge', 'bridge2']);
  t.is(again.exitCode, 1, 'the same name twice is refused');
  t.regex(again.stderr, /bridge2 is already a bridge of this server/);

  // The bridge host.
  const bridgeContainer = await bootContainer({ directory: bridgeRoot, init, netns: bridgeNs.name, settingsFile: main.nspawn });
  containers.push(bridgeContainer);
  await bridgeContainer.waitUntilUp(180_000);
  const onBridge = (argv: string[]) => bridgeContainer.exec(argv, { reject: false, timeoutMs: 300_000 });
  await writeFile(join(bridgeRoot, 'root/bridge.yaml'), yaml.dump({ role: 'bridge', join_token: token, external_ip: BRIDGE_ADDRESS, jvb_max_memory: '512m' }));
  const joined = await onBridge(['jitsi-meet-config', '--answers', '/root/bridge.yaml']);
  const joinedOutput = `${joined.stdout}${joined.stderr}`;
  t.is(joined.exitCode, 0, joinedOutput);
  t.regex(joined.stdout.trimEnd().split('\n').at(-1) ?? '', /^jitsi-meet-config: SUCCESS: this videobridge \(jvb-bridge2@auth\.meet\.jitsi\.test\) is configured and running/, joinedOutput);
  t.regex(joined.stdout, /^✔ bridge:login: /m, joinedOutput);
  t.regex(joined.stdout, /^✔ health:videobridge: /m, joinedOutput);
  t.notRegex(joinedOutput, new RegExp(/"?password"?: /.source), 'the password is not printed');

  // Only the videobridge on the bridge host.
  const states: Record<string, boolean> = {};
  for (const service of ['prosody', 'nginx', 'coturn', 'jicofo', 'jitsi-videobridge2']) states[service] = await running(bridgeContainer, init, service);
  t.deepEqual(states, { prosody: false, nginx: false, coturn: false, jicofo: false, 'jitsi-videobridge2': true });
  t.true(await startsAtBoot(bridgeContainer, init, 'jitsi-meet-bridge'), 'the bridge starts at boot');
  t.false(await startsAtBoot(bridgeContainer, init, 'jitsi-meet-server'), 'the main server does not');
  const jvbConf = await readFile(join(bridgeRoot, 'etc/jitsi/videobridge/jvb.conf'), 'utf8');
  t.regex(jvbConf, new RegExp(`HOSTNAME = "?${MAIN_ADDRESS.replace(/\./g, '\\.')}"?`));
  t.regex(jvbConf, /DISABLE_CERTIFICATE_VERIFICATION = false/);

  // The main server's brewery holds both bridges.
  const mainMaster = yaml.load(await readFile(join(main.root, 'etc/jitsi/master-config.yaml'), 'utf8')) as { convener: { username: string; password: string }; secrets: { focus_password: string }; bridges: Array<{ name: string; password: string }> };
  const trust = join(await scratchDir('bridges-ca-'), 'ca.pem');
  await writeFile(trust, (await readFile(join(main.root, `etc/jitsi/tls/${HOST}.crt`), 'utf8')) + (await readFile(join(main.root, `etc/jitsi/tls/${AUTH}.crt`), 'utf8')));
  const observer: CheckSession = { label: 'observer', service: 'xmpp://127.0.0.1:5222', domain: AUTH, username: 'focus', password: mainMaster.secrets.focus_password, join: `${BREWERY}/observer` };
  const bridgesInBrewery = async () => {
    const [seen] = await xmpp(mainNs, [observer], trust);
    return (seen?.occupants ?? []).filter((occupant) => occupant.bridge).map((occupant) => occupant.nick).sort();
  };
  let last: string[] = [];
  await until('both bridges in the brewery', async () => {
    last = await bridgesInBrewery();
    return last.length === 2;
  }, 120_000).catch(() => {});
  t.deepEqual(last, ['jvb-bridge2', `jvb-${HOST}`], `${joinedOutput}\n${(await onBridge(['sh', '-c', 'tail -n 30 /var/log/jitsi/jvb.log; journalctl -u jitsi-videobridge2 -n 30 --no-pager 2>/dev/null'])).stdout}`);

  // The bridge path from the bridge's namespace: only the bridge account gets in.
  const bridgePassword = mainMaster.bridges.find((bridge) => bridge.name === 'bridge2')!.password;
  const remote = `xmpp://${MAIN_ADDRESS}:5222`;
  const [guest, convener, bridgeLogin] = await xmpp(bridgeNs, [
    { label: 'guest', service: remote, domain: `guest.${HOST}` },
    { label: 'convener', service: remote, domain: HOST, username: mainMaster.convener.username, password: mainMaster.convener.password },
    { label: 'bridge', service: remote, domain: AUTH, username: 'jvb-bridge2', password: bridgePassword, resource: 'second-login' },
  ], trust);
  t.not(guest?.login, 'online', 'no guest login on the bridge path');
  t.regex(String(guest?.login), /policy-violation|only videobridges/i, JSON.stringify(guest));
  t.not(convener?.login, 'online', 'no convener login on the bridge path');
  t.regex(String(convener?.login), /policy-violation|only videobridges/i, JSON.stringify(convener));
  t.is(bridgeLogin?.login, 'online', JSON.stringify(bridgeLogin));
  // The same convener logs in on loopback, inside the main server: the refusal is the path's.
  const [local] = await xmpp(mainNs, [{ label: 'convener-local', service: 'xmpp://127.0.0.1:5222', domain: HOST, username: mainMaster.convener.username, password: mainMaster.convener.password }], trust);
  t.is(local?.login, 'online', JSON.stringify(local));

  // --check and --show in the bridge role.
  const checked = await onBridge(['jitsi-meet-config', '--check']);
  t.is(checked.exitCode, 0, `${checked.stdout}${checked.stderr}`);
  t.regex(checked.stdout, /^✔ health:videobridge: /m);
  const shown = await onBridge(['jitsi-meet-config', '--show']);
  t.regex(shown.stdout, /^role: bridge$/m);
  t.regex(shown.stdout, /password: "?\*{8}"?/);
  t.false(shown.stdout.includes(bridgePassword), '--show masks the password');

  const reapplied = await onBridge(['jitsi-meet-config', '--reapply']);
  t.is(reapplied.exitCode, 0, `${reapplied.stdout}${reapplied.stderr}`);
  t.regex(reapplied.stdout, /^0 file\(s\) written, \d+ unchanged, 0 removed$/m, 're-applying the same bridge config changes nothing and restarts nothing');

  // Revoked.
  const removed = await onMain(['jitsi-meet-config', '--remove-bridge', 'bridge2']);
  t.is(removed.exitCode, 0, `${removed.stdout}${removed.stderr}`);
  t.regex(removed.stdout, /^prosody account jvb-bridge2@auth\.meet\.jitsi\.test: deleted$/m);
  const [afterRemoval] = await xmpp(bridgeNs, [{ label: 'bridge', service: remote, domain: AUTH, username: 'jvb-bridge2', password: bridgePassword }], trust);
  t.not(afterRemoval?.login, 'online', 'the removed bridge cannot log in');
  t.regex(String(afterRemoval?.login), /not-authorized|ECONNREFUSED/, JSON.stringify(afterRemoval));
  await until('only the main server\'s bridge in the brewery', async () => {
    last = await bridgesInBrewery();
    return last.length === 1;
  }, 120_000).catch(() => {});
  t.deepEqual(last, [`jvb-${HOST}`]);
  const failing = await onBridge(['jitsi-meet-config', '--check']);
  t.is(failing.exitCode, 1, 'the bridge\'s own check says it can no longer log in');
  t.regex(failing.stdout, /^✘ bridge:login: /m, failing.stdout);
});
