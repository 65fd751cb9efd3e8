/**
 * The stand-in jicofo and videobridge daemons against a real prosody: Debian's prosody on this
 * host, run as user prosody inside a network namespace this test creates, with the files our
 * generators write (src/configurator/generators) and the stand-in's prosody plugins, exactly
 * where jitsi-meet-prosody puts them (extracted from the built .deb). The daemons (the jar the
 * stand-in packages ship) read the generated jicofo.conf and jvb.conf:
 * - with the right credentials both log in, join the brewery and stay; an XMPP client sees
 *   jicofo and the bridge (presenting itself as one) in it, and both health endpoints answer
 *   200; a conference request to focus.<H> reaches jicofo through mod_client_proxy, which
 *   learnt jicofo's session from the roster subscription mod_roster_command wrote;
 * - with a wrong password, or a brewery they may not enter, they exit with status 1; when
 *   prosody goes away, they exit non-zero too.
 *
 * Only path prefixes of the generated prosody files change (the test's root in front of
 * /etc/jitsi/tls, /run/prosody, ...), plus prosody's data_path; the daemons run as nobody (the
 * jicofo and jvb users exist only in images). Requires root and javac/jar.
 */
import test from 'ava';
import { appendFile, chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { generateAll } from '../../src/configurator/components/index.js';
import { authTls, webTls } from '../../src/configurator/paths.js';
import { fileAt, loadFixture, materialize, parseHocon, registerAccounts, rooted, selfSignedPair } from '../helpers/generated-files.js';
import { createNetns, type Netns } from '../helpers/netns.js';
import { scratchDir } from '../helpers/scratch.js';
import { buildStandinRepo, createSigningKey } from '../helpers/jitsi-standin/index.js';
import type { CheckResult, CheckSession } from '../helpers/jitsi-standin/xmpp-check.js';
import { DEBIAN } from '../../src/configurator/distribution.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '../..');
const CHECK = join(repoRoot, 'test/helpers/jitsi-standin/xmpp-check.ts');
const PLUGINS_DIR = '/usr/share/jitsi-meet/prosody-plugins';
const scratch = (prefix: string) => scratchDir(prefix);

interface Daemon {
  name: string;
  process: ResultPromise<{ all: true; reject: false }>;
}

async function ids(user: string): Promise<{ uid: number; gid: number }> {
  return { uid: Number((await execa('id', ['-u', user])).stdout), gid: Number((await execa('id', ['-g', user])).stdout) };
}

async function listening(ns: Netns, port: number): Promise<boolean> {
  const { stdout } = await ns.exec(['ss', '-Hltn', `sport = :${port}`], { reject: false });
  return stdout.trim().length > 0;
}

async function healthStatus(ns: Netns, port: number): Promise<number> {
  const script = `fetch('http://127.0.0.1:${port}/about/health').then((r) => console.log(r.status), () => console.log(0))`;
  const { stdout } = await ns.exec([process.execPath, '-e', script], { reject: false });
  return Number(stdout.trim()) || 0;
}

async function waitFor(what: string, check: () => Promise<boolean>, daemons: Daemon[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    for (const daemon of daemons) {
      if (daemon.process.exitCode !== null) throw new Error(`${daemon.name} exited ${daemon.process.exitCode} while waiting for ${what}: ${(await daemon.process).all}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
}

async function stop(daemon: Daemon): Promise<void> {
  if (daemon.process.exitCode === null) {
    daemon.process.kill('SIGTERM');
    const stopped = await Promise.race([daemon.process.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 5000))]);
    if (!stopped) daemon.process.kill('SIGKILL');
  }
  await daemon.process;
}

test('the stand-in daemons log in to a prosody configured by our generators, join the brewery, and fail when they cannot', async (t) => {
  const config = await loadFixture('lan-live');
  const H = config.hostname;
  const files = generateAll(config, { distribution: DEBIAN, init: 'systemd', prosodyPluginsDir: PLUGINS_DIR });
  const base = await scratch('standin-daemons-');
  await chmod(base, 0o755);
  const root = join(base, 'root');
  await mkdir(root, { mode: 0o755 });
  await materialize(files, root);

  // The stand-in packages, unpacked where the image would have them.
  const key = await createSigningKey();
  let repo;
  try {
    repo = await buildStandinRepo({ dir: join(base, 'repo'), version: 'v1', signingKey: key });
  } finally {
    await key.dispose();
  }
  for (const name of ['jicofo', 'jitsi-videobridge2', 'jitsi-meet-prosody'] as const) await execa('dpkg-deb', ['--extract', repo.debs[name], root]);

  // prosody: generated files with rooted paths, TLS material, accounts, the focus roster.
  const prosodyDirs = ['/var/lib/prosody', '/var/log/prosody', '/run/prosody'].map((dir) => join(root, dir));
  for (const dir of prosodyDirs) await mkdir(dir, { recursive: true });
  const prosodyUser = await ids('prosody');
  for (const dir of prosodyDirs) await chown(dir, prosodyUser.uid, prosodyUser.gid);
  const tlsDir = dirname(join(root, webTls(H).cert));
  await mkdir(tlsDir, { recursive: true });
  await selfSignedPair(tlsDir, H);
  await selfSignedPair(tlsDir, `auth.${H}`);
  for (const path of [webTls(H).key, authTls(H).key]) await chmod(join(root, path), 0o644);
  const prefixes = ['/etc/jitsi/tls/', '/var/log/prosody/', '/run/prosody/', PLUGINS_DIR];
  for (const path of ['/etc/prosody/prosody.cfg.lua', `/etc/prosody/conf.avail/${H}.cfg.lua`]) {
    await writeFile(join(root, path), rooted(fileAt(files, path).content, root, prefixes));
  }
  const prosodyConfig = join(root, 'etc/prosody/prosody.cfg.lua');
  await appendFile(prosodyConfig, `\n-- test only: keep accounts out of the host's /var/lib/prosody\ndata_path = "${root}/var/lib/prosody"\n`);
  for (const registered of await registerAccounts(prosodyConfig, config)) t.is(registered.exitCode, 0, `${registered.account}: ${registered.all}`);
  // What jitsi-meet-prosody's postinst runs; the stand-in module must really write the roster.
  const subscribed = await execa('prosodyctl', ['--config', prosodyConfig, 'mod_roster_command', 'subscribe', `focus.${H}`, `focus@auth.${H}`], { reject: false, all: true });
  t.is(subscribed.exitCode, 0, subscribed.all);
  const store = (host: string) => join(root, 'var/lib/prosody', host.replace(/[^A-Za-z0-9]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  const subscription = async (owner: string, host: string, contact: string) =>
    (await execa('lua5.4', ['-e', `print(dofile(${JSON.stringify(join(store(host), 'roster', `${owner}.dat`))})[${JSON.stringify(contact)}].subscription)`])).stdout.trim();
  t.is(await subscription('focus', `auth.${H}`, `focus.${H}`), 'both');
  // Between two accounts, each roster gets the other.
  const pair = await execa('prosodyctl', ['--config', prosodyConfig, 'mod_roster_command', 'subscribe', `${config.convener.username}@${H}`, `jvb@auth.${H}`], { reject: false, all: true });
  t.is(pair.exitCode, 0, pair.all);
  t.is(await subscription(config.convener.username, H, `jvb@auth.${H}`), 'both');
  t.is(await subscription('jvb', `auth.${H}`, `${config.convener.username}@${H}`), 'both');
  const unknown = await execa('prosodyctl', ['--config', prosodyConfig, 'mod_roster_command', 'subscribe', `focus.${H}`, `nobody@auth.${H}`], { reject: false, all: true });
  t.not(unknown.exitCode, 0, `a missing account is an error: ${unknown.all}`);

  // The daemons' config files: the generated ones, readable by the unprivileged user they run as.
  const jicofoConf = join(root, 'etc/jitsi/jicofo/jicofo.conf');
  const jvbConf = join(root, 'etc/jitsi/videobridge/jvb.conf');
  for (const path of [jicofoConf, jvbConf]) await chmod(path, 0o644);
  const jvbEnv = fileAt(files, '/etc/jitsi/videobridge/config').content;
  const jvbMemory = /^VIDEOBRIDGE_MAX_MEMORY=(\S+)$/m.exec(jvbEnv)?.[1] ?? '3072m';
  const brewery: string = (await parseHocon(fileAt(files, '/etc/jitsi/jicofo/jicofo.conf').content)).jicofo.bridge['brewery-jid'];
  const shard = (await parseHocon(fileAt(files, '/etc/jitsi/videobridge/jvb.conf').content)).videobridge.apis['xmpp-client'].configs.shard;
  const variant = async (path: string, from: string, to: string): Promise<string> => {
    const copy = `${path}.${to.replace(/[^a-z]/gi, '').slice(0, 12)}`;
    const text = await readFile(path, 'utf8');
    t.true(text.includes(from), `${path} holds ${from}`);
    await writeFile(copy, text.split(from).join(to), { mode: 0o644 });
    return copy;
  };

  const ns = await createNetns('standin');
  const running: Daemon[] = [];
  const start = (name: string, argv: string[]): Daemon => {
    const daemon = { name, process: execa('ip', ['netns', 'exec', ns.name, ...argv], { all: true, reject: false }) };
    running.push(daemon);
    return daemon;
  };
  // As jicofo.sh / jvb.sh run them: java, the heap limit, -Dconfig.file=, the jar, the role.
  const daemon = (role: 'jicofo' | 'videobridge', conf: string, memory = '256m'): Daemon => {
    const jar = role === 'jicofo' ? join(root, 'usr/share/jicofo/jicofo.jar') : join(root, 'usr/share/jitsi-videobridge/jitsi-videobridge.jar');
    return start(`${role} (${conf})`, ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', 'java', `-Xmx${memory}`, `-Dconfig.file=${conf}`, '-jar', jar, `--role=${role}`]);
  };
  const exitOf = async (d: Daemon): Promise<{ code: number | undefined; output: string }> => {
    const result = await Promise.race([d.process, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 60_000))]);
    if (!result) {
      await stop(d);
      return { code: undefined, output: `still running after 60 s: ${(await d.process).all}` };
    }
    return { code: result.exitCode, output: String(result.all ?? '') };
  };

  try {
    const prosody = start('prosody', ['setpriv', '--reuid=prosody', '--regid=prosody', '--init-groups', 'prosody', '--config', prosodyConfig, '-F']);
    await waitFor('prosody on 5222', () => listening(ns, 5222), [prosody]);

    // Failures first, while nothing holds the health ports: each must exit 1 and say why.
    const wrongJvb = await exitOf(daemon('videobridge', await variant(jvbConf, `"${config.secrets.jvb_password}"`, '"not-the-jvb-password"')));
    t.is(wrongJvb.code, 1, wrongJvb.output);
    t.regex(wrongJvb.output, /authentication as jvb@auth\.\S+ failed: not-authorized/);
    const wrongFocus = await exitOf(daemon('jicofo', await variant(jicofoConf, `"${config.secrets.focus_password}"`, '"not-the-focus-password"')));
    t.is(wrongFocus.code, 1, wrongFocus.output);
    t.regex(wrongFocus.output, /authentication as focus@auth\.\S+ failed: not-authorized/);
    const wrongRoom = await exitOf(daemon('videobridge', await variant(jvbConf, `"${shard.MUC_JIDS}"`, `"JvbBrewery@conference.${H}"`)));
    t.is(wrongRoom.code, 1, wrongRoom.output);
    t.regex(wrongRoom.output, /joining the brewery \S+ failed: \S+/);

    // The real thing: both join and stay.
    const jvb = daemon('videobridge', jvbConf, jvbMemory);
    await waitFor('the bridge healthy on 8080', async () => (await healthStatus(ns, 8080)) === 200, [prosody, jvb]);
    const jicofo = daemon('jicofo', jicofoConf);
    // jicofo reports itself healthy only once it sees a bridge in the brewery.
    await waitFor('jicofo healthy on 8888', async () => (await healthStatus(ns, 8888)) === 200, [prosody, jvb, jicofo]);

    const plan: CheckSession[] = [
      // focus is an admin of the members-only brewery: a second session of that account may look in.
      { label: 'observer', service: 'xmpp://127.0.0.1:5222', domain: `auth.${H}`, username: 'focus', password: config.secrets.focus_password, join: `${brewery}/observer` },
      {
        label: 'convener',
        service: 'xmpp://127.0.0.1:5222',
        domain: H,
        username: config.convener.username,
        password: config.convener.password,
        conferenceRequest: { to: `focus.${H}`, room: `standup@conference.${H}` },
      },
    ];
    const caBundle = join(base, 'ca-bundle.pem');
    await writeFile(caBundle, (await readFile(join(root, webTls(H).cert), 'utf8')) + (await readFile(join(root, authTls(H).cert), 'utf8')));
    const check = await ns.exec([process.execPath, '--import', 'tsx', CHECK, JSON.stringify(plan)], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: caBundle } as Record<string, string>,
      timeoutMs: 120_000,
    });
    const [observer, convener] = JSON.parse(check.stdout.trim().split('\n').at(-1)!) as CheckResult[];
    const report = JSON.stringify([observer, convener]);
    t.is(observer?.joined, 'joined', report);
    t.deepEqual(
      [...(observer?.occupants ?? [])].sort((a, b) => a.nick.localeCompare(b.nick)),
      [
        { nick: 'focus', bridge: false },
        { nick: shard.MUC_NICKNAME, bridge: true },
      ].sort((a, b) => a.nick.localeCompare(b.nick)),
      `jicofo and the bridge are in the brewery: ${report}`,
    );
    t.is(convener?.login, 'online', report);
    t.like(convener?.conference as object, { from: `focus.${H}`, ready: 'true', room: `standup@conference.${H}` }, `the proxy reached jicofo: ${report}`);

    // Without prosody neither can stay: both exit non-zero (their services fail).
    await stop(prosody);
    for (const d of [jvb, jicofo]) {
      const ended = await exitOf(d);
      t.true(ended.code !== undefined && ended.code !== 0, `${d.name}: ${ended.code} ${ended.output}`);
    }
  } finally {
    for (const d of running.reverse()) await stop(d);
    await ns.delete();
  }
});
