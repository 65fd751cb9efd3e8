/**
 * Issue 8, the configurator's part, against the stand-in of Jitsi's packages
 * (test/helpers/jitsi-standin): for each init system the stand-in packages are installed with
 * apt into the unpacked test image (debconf preseeded with a placeholder hostname, as a build
 * does; the placeholder's files stay, as if the build's cleanup had missed them), the image is
 * booted in a network namespace of its own and `jitsi-meet-config --answers` runs inside with
 * LAN-only answers. Then:
 * - jicofo and the videobridge run as their users with the heap limit of the master config, and
 *   both are in the brewery (the bridge's health, jicofo's health which needs a bridge, and an
 *   observer in the brewery room);
 * - focus's roster holds focus.<H> with subscription both, and a conference request to
 *   focus.<H> is answered by jicofo through the client proxy;
 * - prosody's whole config passes `prosodyctl check config`;
 * - jicofo.conf and jvb.conf parse as HOCON with keys of upstream's reference.conf only, are
 *   readable by their users only, and the bridge does not require a public address;
 * - a bridge killed by its PID is started again by its init (supervise-daemon, the unit's drop-in);
 * - a re-run changes nothing.
 *
 * The real Jitsi packages are not used: their repository is not reachable from our machines.
 * Requires root (systemd-nspawn), gpg, dpkg-deb, javac/jar and the Debian mirror.
 */
import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import yaml from 'js-yaml';
import { bootContainer, type Container } from '../../src/boot/index.js';
import { JVB_KERNEL_SETTINGS } from '../../src/configurator/components/videobridge/index.js';
import { JICOFO_REFERENCE_KEYS, VIDEOBRIDGE_REFERENCE_KEYS } from '../fixtures/jitsi-reference-keys.js';
import { parseHocon, unknownHoconKeys } from '../helpers/generated-files.js';
import { serveStandinRepoForTests } from '../helpers/jitsi-standin/index.js';
import { imageWithStandin } from '../helpers/jitsi-standin/install.js';
import type { CheckResult, CheckSession } from '../helpers/jitsi-standin/xmpp-check.js';
import { createNetns } from '../helpers/netns.js';
import { standinHealth, until } from '../helpers/jitsi-health.js';
import { scratchDir } from '../helpers/scratch.js';
// The container's only address besides loopback is private (ADDRESS), so the server is LAN-only.
import { giveLanAddress, HOST, LAN_ANSWERS } from '../helpers/configure-scenario.js';

const AUTH = `auth.${HOST}`;
const CHECK = join(dirname(fileURLToPath(import.meta.url)), '../helpers/jitsi-standin/xmpp-check.ts');

const standin = serveStandinRepoForTests(test);

/** A prosody data file read by Lua itself, one expression printed. */
async function luaField(file: string, expression: string): Promise<string> {
  const { stdout } = await execa('lua5.4', ['-e', `local data = dofile(${JSON.stringify(file)}); print(${expression})`], { reject: false });
  return stdout.trim();
}

async function configure(container: Container, root: string) {
  await writeFile(join(root, 'root/answers.yaml'), yaml.dump(LAN_ANSWERS));
  return container.exec(['jitsi-meet-config', '--answers', '/root/answers.yaml'], { timeoutMs: 300_000, reject: false });
}

for (const init of ['systemd', 'openrc'] as const) {
  test.serial(`${init}: configured with the stand-in packages, jicofo and the bridge run as their users, meet in the brewery and answer through focus.<H>`, async (t) => {
    const { root, nspawn } = await imageWithStandin(init, standin.served.url, standin.key);
    const ns = await createNetns(`jcfg-${init === 'systemd' ? 'sd' : 'rc'}`);
    let container: Container | undefined;
    try {
      await giveLanAddress(ns.name);
      container = await bootContainer({ directory: root, init, netns: ns.name, settingsFile: nspawn });
      await container.waitUntilUp(180_000);
      const run = (argv: string[]) => container!.exec(argv, { reject: false, timeoutMs: 120_000 });

      const diagnostics = async () => {
        const status = init === 'systemd' ? 'systemctl status --no-pager prosody jicofo jitsi-videobridge2' : 'rc-status; rc-service jitsi-videobridge2 status; rc-service jicofo status';
        const logs = await run(['sh', '-c', `${status}; tail -n 20 /var/log/jitsi/*.log; tail -n 20 /var/log/prosody/prosody.log /var/log/prosody/prosody.err`]);
        return `${logs.stdout}${logs.stderr}`;
      };
      const first = await configure(container, root);
      const output = `${first.stdout}${first.stderr}`;
      if (first.exitCode !== 0) {
        t.fail(`jitsi-meet-config exited ${first.exitCode}:\n${output}\n${await diagnostics()}`);
        return;
      }
      t.regex(first.stdout.trimEnd().split('\n').at(-1) ?? '', /^jitsi-meet-config: SUCCESS: /, output);
      t.regex(first.stdout, new RegExp(`^prosody roster of focus@${AUTH.replace(/\./g, '\\.')}: subscribed to focus\\.`, 'm'), output);
      // The host's UDP buffer settings: a warning (not a failure) exactly when they are lower than upstream's.
      const rmemMax = Number((await readFile('/proc/sys/net/core/rmem_max', 'utf8')).trim());
      const wanted = JVB_KERNEL_SETTINGS.find((setting) => setting.name === 'net.core.rmem_max')!.minimum;
      if (rmemMax < wanted) t.regex(first.stdout, /^warning: net\.core\.rmem_max is \d+, below the 10485760 /m, output);
      else t.notRegex(first.stdout, /net\.core\.rmem_max is \d+, below/);
      // Whatever it warned about, it says where to fix it.
      if (/^warning: net\.core\./m.test(first.stdout)) t.regex(first.stdout, /^warning: these are the HOST's kernel settings/m, output);

      try {
        await until('the bridge healthy', async () => (await standinHealth(ns, 8080)) === 200);
        await until('jicofo healthy (it sees a bridge in the brewery)', async () => (await standinHealth(ns, 8888)) === 200);
      } catch (error) {
        t.fail(`${(error as Error).message}\n${output}\n${await diagnostics()}`);
        return;
      }

      // As their users, with the master config's heap limit.
      const processes = (await run(['ps', '-eo', 'user:12,args'])).stdout;
      const java = processes.split('\n').filter((line) => line.includes(' java '));
      t.truthy(java.find((line) => /^jvb\s.*--role=videobridge/.test(line)), processes);
      t.truthy(java.find((line) => /^jicofo\s.*--role=jicofo/.test(line)), processes);
      t.true(java.length === 2 && java.every((line) => line.includes('-Xmx512m')), java.join('\n'));

      // The limits of upstream's unit (LimitNPROC, LimitNOFILE: 65000), or the host's hard limit
      // when that is lower (a container cannot raise it); OpenRC's script runs under dash on Debian.
      // The bridge's java process, by its user; its PID is the container's, so /proc is read there.
      const bridgePid = async () =>
        (await run(['ps', '-eo', 'pid=,user:12=,args='])).stdout
          .split('\n')
          .map((line) => line.trim().split(/\s+/))
          .find(([, user, program]) => user === 'jvb' && program?.endsWith('java'))?.[0];
      const limits = (await run(['cat', `/proc/${await bridgePid()}/limits`])).stdout;
      for (const [name, flag] of [['Max processes', 'u'], ['Max open files', 'n']] as const) {
        const [soft, hard] = new RegExp(`^${name}\\s+(\\S+)\\s+(\\S+)`, 'm').exec(limits)?.slice(1) ?? [];
        const expected = hard === 'unlimited' || Number(hard) >= 65000 ? '65000' : hard;
        t.is(soft, expected, `${name} of the bridge (ulimit -${flag}):\n${limits}`);
      }

      // Config files: readable by their users only; HOCON with upstream's keys; LAN-only health check.
      const modes = (await run(['stat', '-c', '%n %U:%G %a', '/etc/jitsi/jicofo/jicofo.conf', '/etc/jitsi/jicofo/config', '/etc/jitsi/videobridge/jvb.conf', '/etc/jitsi/videobridge/config'])).stdout;
      t.deepEqual(modes.trim().split('\n'), [
        '/etc/jitsi/jicofo/jicofo.conf jicofo:jitsi 640',
        '/etc/jitsi/jicofo/config jicofo:jitsi 640',
        '/etc/jitsi/videobridge/jvb.conf jvb:jitsi 640',
        '/etc/jitsi/videobridge/config jvb:jitsi 640',
      ]);
      const jicofoConf = await parseHocon(await readFile(join(root, 'etc/jitsi/jicofo/jicofo.conf'), 'utf8'));
      const jvbConf = await parseHocon(await readFile(join(root, 'etc/jitsi/videobridge/jvb.conf'), 'utf8'));
      t.deepEqual(unknownHoconKeys(jicofoConf, JICOFO_REFERENCE_KEYS), []);
      t.deepEqual(unknownHoconKeys(jvbConf, VIDEOBRIDGE_REFERENCE_KEYS), []);
      t.is(jvbConf.videobridge.health['require-valid-address'], false, 'a LAN-only bridge does not require a public address');

      // focus's roster, as prosody stores it.
      const roster = join(root, 'var/lib/prosody', AUTH.replace(/\./g, '%2e'), 'roster', 'focus.dat');
      t.is(await luaField(roster, `data["focus.${HOST}"].subscription`), 'both');

      // prosody's own check of the whole configuration.
      const check = await run(['prosodyctl', 'check', 'config']);
      t.is(check.exitCode, 0, `${check.stdout}${check.stderr}`);
      t.regex(check.stdout, /All checks passed/, `${check.stdout}${check.stderr}`);

      // From the namespace: focus and the bridge in the brewery, and the convener's conference
      // request to focus.<H> answered by jicofo (client proxy + roster subscription).
      const master = yaml.load(await readFile(join(root, 'etc/jitsi/master-config.yaml'), 'utf8')) as { convener: { username: string; password: string } };
      const caBundle = join(await scratchDir('jitsi-configure-ca-'), 'ca.pem');
      await writeFile(caBundle, (await readFile(join(root, `etc/jitsi/tls/${HOST}.crt`), 'utf8')) + (await readFile(join(root, `etc/jitsi/tls/${AUTH}.crt`), 'utf8')));
      const sessions: CheckSession[] = [
        { label: 'observer', service: 'xmpp://127.0.0.1:5222', domain: AUTH, username: 'focus', password: String(jicofoConf.jicofo.xmpp.client.password), join: `JvbBrewery@internal.${AUTH}/observer` },
        { label: 'convener', service: 'xmpp://127.0.0.1:5222', domain: HOST, username: master.convener.username, password: master.convener.password, conferenceRequest: { to: `focus.${HOST}`, room: `standup@conference.${HOST}` } },
      ];
      const xmpp = await ns.exec([process.execPath, '--import', 'tsx', CHECK, JSON.stringify(sessions)], {
        env: { ...process.env, NODE_EXTRA_CA_CERTS: caBundle } as Record<string, string>,
        timeoutMs: 120_000,
        reject: false,
      });
      const [observer, convener] = JSON.parse(xmpp.stdout.trim().split('\n').at(-1) ?? '[]') as CheckResult[];
      const report = `${JSON.stringify([observer, convener])}\n${xmpp.stderr.slice(-2000)}`;
      t.is(observer?.joined, 'joined', report);
      const nicks = (observer?.occupants ?? []).map((occupant) => `${occupant.nick}${occupant.bridge ? ' (bridge)' : ''}`).sort();
      t.deepEqual(nicks, ['focus', `jvb-${HOST} (bridge)`], report);
      t.is(convener?.login, 'online', report);
      t.like(convener?.conference as object, { from: `focus.${HOST}`, ready: 'true' }, report);

      // A crashed bridge (killed by its PID, no stop through the init) is started again by its
      // init: supervise-daemon under OpenRC, the unit's drop-in under systemd.
      const crashed = await bridgePid();
      t.regex(crashed ?? '', /^\d+$/, processes);
      await run(['kill', '-KILL', crashed!]);
      try {
        await until('the bridge running again under a new PID', async () => {
          const now = await bridgePid();
          return now !== undefined && now !== crashed;
        }, 60_000);
        await until('the restarted bridge healthy', async () => (await standinHealth(ns, 8080)) === 200);
        await until('jicofo sees the restarted bridge', async () => (await standinHealth(ns, 8888)) === 200);
      } catch (error) {
        t.fail(`${(error as Error).message}\n${await diagnostics()}`);
        return;
      }

      // Nothing to do on a re-run: no file, no subscription, no restart.
      const again = await configure(container, root);
      t.is(again.exitCode, 0, again.stdout);
      t.regex(again.stdout, /^0 file\(s\) written, \d+ unchanged, 0 removed$/m, again.stdout);
      t.notRegex(again.stdout, /^(restart|reload) |roster of/m, again.stdout);

      const stopped = await container.stop();
      t.true(stopped.clean, `stop was forced after ${stopped.seconds} s`);
    } finally {
      await container?.stop().catch(() => undefined);
      await container?.dispose();
      await ns.delete();
    }
  });
}
