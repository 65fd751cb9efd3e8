import test from 'ava';
import { chmod, lstat, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import {
  prosodyComponent,
  prosodyMajorVersion,
  luaString,
  PROSODY_MODULES_DIR,
} from '../../../src/configurator/components/prosody/index.js';
import { LOAD_ONLY_PLUGINS, FUNCTIONAL_PLUGINS } from '../../helpers/jitsi-standin/index.js';
import { authTls, webTls } from '../../../src/configurator/paths.js';
import { FACT_VARIANTS, FIXTURES, loadFixture, materialize, PLUGINS_DIR, readProsodyConfig } from '../../helpers/generated-files.js';
import { withScratchDir } from '../../helpers/scratch.js';
import { DEBIAN, prosodyHostFiles as hostFilesOf } from '../../../src/configurator/distribution.js';

/** Debian's layout: where these tests expect prosody's files. */
const PROSODY_CONFIG = '/etc/prosody/prosody.cfg.lua';
const prosodyHostFiles = (hostname: string) => hostFilesOf(DEBIAN, hostname);

test('luaString round-trips awkward strings through lua5.4', async (t) => {
  const samples = ['plain', 'quote " and back\\slash', 'new\nline and tab\t', 'bell\u0007 del\u007f', 'ünïcode ✓', ']]--[['];
  const script = `io.write(${samples.map(luaString).join(', "\\0", ')})`;
  const { stdout } = await execa('lua5.4', ['-e', script], { stripFinalNewline: false });
  t.deepEqual(stdout.split('\0'), samples);
});

for (const fixture of FIXTURES) {
  for (const { label, facts } of FACT_VARIANTS) {
    test(`${fixture}, ${label}: valid Lua, and prosodyctl accepts the config`, async (t) => {
      const config = await loadFixture(fixture);
      const files = prosodyComponent.plan(config, facts).files;
      await withScratchDir('prosody-check-', async (root) => {
        await chmod(root, 0o755); // prosodyctl reads the config as the prosody user
        await materialize(files, root);
        for (const path of [PROSODY_CONFIG, prosodyHostFiles(config.hostname).available]) {
          await t.notThrowsAsync(execa('luac5.4', ['-p', join(root, path)]), `luac5.4 -p ${path}`);
        }
        // prosody's own check: loads the config with prosody's loader, including conf.d/.
        const check = await execa('prosodyctl', ['--config', join(root, PROSODY_CONFIG), 'check', 'config'], { reject: false, all: true });
        t.regex(check.all ?? '', /All checks passed/, check.all);
        t.regex(check.all ?? '', new RegExp(`conf\\.d/${config.hostname.replace(/\./g, '\\.')}\\.cfg\\.lua`), 'host file included');
      });
    });
  }
}

test('the host file wires the secure domain, guests, components and TURN (public-nat, with plugins)', async (t) => {
  const config = await loadFixture('public-nat');
  const H = config.hostname;
  await withScratchDir('prosody-read-', async (root) => {
    await materialize(prosodyComponent.plan(config, FACT_VARIANTS[1]!.facts).files, root);
    const prosody = await readProsodyConfig(root);
    t.deepEqual(prosody.includes, [`conf.d/${H}.cfg.lua`]);
    const g = prosody.global;
    t.deepEqual(g.plugin_paths, [PROSODY_MODULES_DIR, PLUGINS_DIR]);
    t.deepEqual(g.http_ports, [5280]);
    t.deepEqual(g.http_interfaces, ['127.0.0.1']);
    t.deepEqual(g.c2s_ports, [5222]);
    t.deepEqual(g.c2s_interfaces, ['127.0.0.1']);
    t.is(g.consider_bosh_secure, true);
    t.is(g.consider_websocket_secure, true);
    t.deepEqual(g.modules_disabled, ['s2s', 'offline']);
    t.is(g.pidfile, '/run/prosody/prosody.pid');
    t.regex(String((g.log as Record<string, string>).info), /^\/var\/log\/prosody\//);
    t.is(g.http_default_host, H);
    t.is(g.external_service_secret, config.secrets.turn_secret);

    const main = prosody.hosts[H]!;
    t.is(main.kind, 'VirtualHost');
    t.is(main.options.authentication, 'internal_hashed');
    t.deepEqual(main.options.ssl, { certificate: webTls(H).cert, key: webTls(H).key });
    t.true((['bosh', 'websocket'] as const).every((m) => (main.options.modules_enabled as string[]).includes(m)));

    const guest = prosody.hosts[`guest.${H}`]!;
    t.is(guest.kind, 'VirtualHost');
    t.is(guest.options.authentication, 'jitsi-anonymous');

    const auth = prosody.hosts[`auth.${H}`]!;
    t.is(auth.options.authentication, 'internal_hashed');
    t.deepEqual(auth.options.ssl, { certificate: authTls(H).cert, key: authTls(H).key });

    const conference = prosody.hosts[`conference.${H}`]!;
    t.is(conference.module, 'muc');
    t.deepEqual(conference.options.admins, [`focus@auth.${H}`]);
    t.is(conference.options.muc_room_locking, false);
    t.is(conference.options.restrict_room_creation, 'local');
    t.is(conference.options.muc_room_default_public_jids, true);

    const internal = prosody.hosts[`internal.auth.${H}`]!;
    t.is(internal.module, 'muc');
    t.deepEqual(internal.options.admins, [`focus@auth.${H}`, `jvb@auth.${H}`]);
    t.is(internal.options.muc_room_default_members_only, true);
    t.is(internal.options.muc_room_locking, false);

    const proxy = prosody.hosts[`focus.${H}`]!;
    t.is(proxy.module, 'client_proxy');
    t.is(proxy.options.target_address, `focus@auth.${H}`);
  });
});

test('without Jitsi plugins: plain anonymous guests, no plugin path, the client proxy left out (documented)', async (t) => {
  const config = await loadFixture('localhost');
  const files = prosodyComponent.plan(config, FACT_VARIANTS[0]!.facts).files;
  await withScratchDir('prosody-read-', async (root) => {
    await materialize(files, root);
    const prosody = await readProsodyConfig(root);
    t.deepEqual(prosody.global.plugin_paths, [PROSODY_MODULES_DIR], 'our own modules, not Jitsi\'s');
    t.is(prosody.hosts['guest.localhost']!.options.authentication, 'anonymous');
    t.false('focus.localhost' in prosody.hosts);
    t.false('modules_enabled' in prosody.hosts['conference.localhost']!.options);
  });
  const host = files.find((file) => file.path === prosodyHostFiles('localhost').available)!;
  t.regex(host.content, /^-- Component "focus\.localhost" "client_proxy"$/m, 'the disabled component is shown, commented');
});

test('external services: STUN and TURN on 3478, TURNS on 5349, TURN entries use the shared secret', async (t) => {
  const config = await loadFixture('letsencrypt');
  await withScratchDir('prosody-read-', async (root) => {
    await materialize(prosodyComponent.plan(config, FACT_VARIANTS[0]!.facts).files, root);
    const services = (await readProsodyConfig(root)).global.external_services as Array<Record<string, unknown>>;
    const summary = services.map((s) => `${s.type}/${s.transport}:${s.port}${s.secret === true ? ' secret' : ''}@${s.host}`);
    t.deepEqual(summary, [
      'stun/udp:3478@conf.example.com',
      'turn/udp:3478 secret@conf.example.com',
      'turn/tcp:3478 secret@conf.example.com',
      'turns/tcp:5349 secret@conf.example.com',
    ]);
  });
});

test('file modes: host file (TURN secret) is root:prosody 0640, conf.d entry is a relative link', async (t) => {
  const config = await loadFixture('localhost');
  const files = prosodyComponent.plan(config, { distribution: DEBIAN, init: 'systemd' }).files;
  const { available, enabled } = prosodyHostFiles('localhost');
  const host = files.find((f) => f.path === available)!;
  t.is(host.mode, 0o640);
  t.is(host.owner, 'root:prosody');
  const link = files.find((f) => f.path === enabled)!;
  t.is(link.linkTo, '../conf.avail/localhost.cfg.lua');
});

// Debian's prosody package ships `VirtualHost "localhost"` and links it from conf.d/ on a fresh install.
async function addDebianLocalhost(root: string): Promise<void> {
  await mkdir(join(root, 'etc/prosody/conf.avail'), { recursive: true });
  await mkdir(join(root, 'etc/prosody/conf.d'), { recursive: true });
  const file = join(root, 'etc/prosody/conf.avail/localhost.cfg.lua');
  if (!(await lstat(file).catch(() => undefined))) await writeFile(file, '-- Section for localhost\nVirtualHost "localhost"\n');
  const link = join(root, 'etc/prosody/conf.d/localhost.cfg.lua');
  if (!(await lstat(link).catch(() => undefined))) await symlink('../conf.avail/localhost.cfg.lua', link);
}

for (const fixture of FIXTURES) {
  test(`${fixture}: only our host file is loaded, not Debian's VirtualHost "localhost" or other leftovers in conf.d/`, async (t) => {
    const config = await loadFixture(fixture);
    await withScratchDir('prosody-debian-', async (root) => {
      await materialize(prosodyComponent.plan(config, FACT_VARIANTS[0]!.facts).files, root);
      await addDebianLocalhost(root);
      await writeFile(join(root, 'etc/prosody/conf.d/leftover.example.cfg.lua'), 'VirtualHost "leftover.example"\n');
      const prosody = await readProsodyConfig(root);
      const hosts = Object.entries(prosody.hosts).filter(([, host]) => host.kind === 'VirtualHost').map(([name]) => name).sort();
      const H = config.hostname;
      t.deepEqual(hosts, [H, `auth.${H}`, `guest.${H}`].sort());
      t.deepEqual(prosody.includes, [`conf.d/${H}.cfg.lua`]);
    });
  });
}

test('offline storage is off and clients are rate-limited, except focus and jvb', async (t) => {
  const config = await loadFixture('public-nat');
  const H = config.hostname;
  for (const { facts } of FACT_VARIANTS) {
    await withScratchDir('prosody-limits-', async (root) => {
      await materialize(prosodyComponent.plan(config, facts).files, root);
      const g = (await readProsodyConfig(root)).global;
      // mod_offline is auto-loaded: only modules_disabled keeps it from storing what guests send.
      t.true((g.modules_disabled as string[]).includes('offline'));
      t.false((g.modules_enabled as string[]).includes('offline'));
      t.true((g.modules_enabled as string[]).includes('limits'));
      t.deepEqual(g.limits, { c2s: { rate: '10kb/s' } });
      t.deepEqual(g.unlimited_jids, [`focus@auth.${H}`, `jvb@auth.${H}`]);
      t.is(g.c2s_stanza_size_limit, 256 * 1024);
    });
  }
});

test('failed logins are throttled by our own module, loaded globally from our module directory', async (t) => {
  const config = await loadFixture('localhost');
  for (const { facts } of FACT_VARIANTS) {
    const files = prosodyComponent.plan(config, facts).files;
    const module = files.find((file) => file.path === `${PROSODY_MODULES_DIR}/mod_login_throttle.lua`);
    t.truthy(module, 'the module is a generated file');
    t.is(module?.mode, 0o644);
    await withScratchDir('prosody-throttle-', async (root) => {
      await materialize(files, root);
      await t.notThrowsAsync(execa('luac5.4', ['-p', join(root, PROSODY_MODULES_DIR, 'mod_login_throttle.lua')]));
      const g = (await readProsodyConfig(root)).global;
      t.true((g.modules_enabled as string[]).includes('login_throttle'));
      t.is((g.plugin_paths as string[])[0], PROSODY_MODULES_DIR);
      t.is(g.login_throttle_session_failures, 5);
      t.is(g.login_throttle_address_failures, 10);
      t.is(g.login_throttle_window, 300);
    });
  }
});

test("prosody's major version is read from Debian's version string", (t) => {
  t.is(prosodyMajorVersion('0.12.3-1+deb12u1'), 0);
  t.is(prosodyMajorVersion('13.0.1-1'), 13);
  t.is(prosodyMajorVersion('1:13.0.2-1'), 13, 'with an epoch');
  t.is(prosodyMajorVersion(undefined), undefined);
  t.is(prosodyMajorVersion('trunk'), undefined);
});

test('component admins are room owners only where prosody 13 needs it said; smacks is tuned as upstream everywhere', async (t) => {
  const config = await loadFixture('public-nat');
  for (const { label, facts } of [...FACT_VARIANTS, { label: 'bookworm prosody', facts: { distribution: DEBIAN, init: 'systemd' as const, prosodyVersion: '0.12.3-1+deb12u1' } }]) {
    await withScratchDir('prosody-13-', async (root) => {
      await materialize(prosodyComponent.plan(config, facts).files, root);
      const g = (await readProsodyConfig(root)).global;
      t.is(g.component_admins_as_room_owners, facts.prosodyVersion?.startsWith('13') ? true : undefined, label);
      t.is(g.smacks_max_unacked_stanzas, 5, label);
      t.is(g.smacks_hibernation_time, 60, label);
      t.is(g.smacks_max_old_sessions, 1, label);
      t.true((g.modules_enabled as string[]).includes('smacks'), label);
    });
  }
});

test("with Jitsi's plugins: upstream's current components and modules, each on the host that needs it", async (t) => {
  const config = await loadFixture('public-nat');
  const H = config.hostname;
  await withScratchDir('prosody-upstream-', async (root) => {
    await materialize(prosodyComponent.plan(config, FACT_VARIANTS[1]!.facts).files, root);
    const prosody = await readProsodyConfig(root);
    t.is(prosody.global.muc_mapper_domain_base, H);
    const main = prosody.hosts[H]!.options;
    t.deepEqual(
      [...(main.modules_enabled as string[])].sort(),
      ['bosh', 'websocket', 'external_services', 'features_identity', 'conference_duration', 'end_conference', 'muc_lobby_rooms', 'muc_breakout_rooms', 'av_moderation', 'room_metadata', 'speakerstats'].sort(),
    );
    t.like(main, {
      main_muc: `conference.${H}`,
      lobby_muc: `lobby.${H}`,
      breakout_rooms_muc: `breakout.${H}`,
      speakerstats_component: `speakerstats.${H}`,
      conference_duration_component: `conferenceduration.${H}`,
      end_conference_component: `endconference.${H}`,
      av_moderation_component: `avmoderation.${H}`,
      room_metadata_component: `metadata.${H}`,
    });
    t.is(prosody.hosts[`guest.${H}`]!.options.authentication, 'jitsi-anonymous');
    const auth = prosody.hosts[`auth.${H}`]!.options;
    t.deepEqual(auth.modules_enabled, ['limits_exception']);
    t.is(auth.smacks_hibernation_time, 15);

    const conference = prosody.hosts[`conference.${H}`]!.options;
    t.deepEqual(conference.modules_enabled, ['muc_hide_all', 'muc_meeting_id', 'muc_domain_mapper', 'polls', 'muc_rate_limit', 'muc_password_whitelist']);
    t.deepEqual(conference.muc_password_whitelist, [`focus@auth.${H}`]);
    t.is(conference.restrict_room_creation, 'local', 'still only the convener opens rooms');
    t.deepEqual(prosody.hosts[`internal.auth.${H}`]!.options.modules_enabled, ['ping', 'muc_hide_all']);

    for (const [domain, module] of [
      [`breakout.${H}`, 'muc'],
      [`lobby.${H}`, 'muc'],
      [`speakerstats.${H}`, 'speakerstats_component'],
      [`conferenceduration.${H}`, 'conference_duration_component'],
      [`endconference.${H}`, 'end_conference'],
      [`avmoderation.${H}`, 'av_moderation_component'],
      [`metadata.${H}`, 'room_metadata_component'],
      [`focus.${H}`, 'client_proxy'],
    ] as const) {
      const component = prosody.hosts[domain];
      t.is(component?.kind, 'Component', domain);
      t.is(component?.module, module, domain);
      if (module !== 'muc' && module !== 'client_proxy') t.is(component?.options.muc_component, `conference.${H}`, domain);
    }
    t.is(prosody.hosts[`metadata.${H}`]!.options.breakout_rooms_component, `breakout.${H}`);
    for (const muc of [`breakout.${H}`, `lobby.${H}`]) t.is(prosody.hosts[muc]!.options.restrict_room_creation, true, `${muc}: only the modules create rooms`);

    // Every Jitsi module named is one the stand-in of jitsi-meet-prosody provides (or prosody's own).
    const provided = new Set([...Object.keys(LOAD_ONLY_PLUGINS), ...FUNCTIONAL_PLUGINS.map((name) => name.replace(/^auth_/, ''))]);
    const prosodyOwn = new Set(['bosh', 'websocket', 'external_services', 'ping', 'muc', 'smacks', 'limits', 'roster', 'saslauth', 'tls', 'disco', 'posix', 'login_throttle']);
    for (const host of Object.values(prosody.hosts)) {
      for (const name of [...((host.options.modules_enabled as string[] | undefined) ?? []), ...(host.module ? [host.module] : [])]) {
        t.true(provided.has(name) || prosodyOwn.has(name), `module ${name} is provided`);
      }
    }
  });
});

test('without the plugins none of the plugin components or options appear', async (t) => {
  const config = await loadFixture('public-nat');
  const H = config.hostname;
  await withScratchDir('prosody-plain-', async (root) => {
    await materialize(prosodyComponent.plan(config, FACT_VARIANTS[0]!.facts).files, root);
    const prosody = await readProsodyConfig(root);
    t.is(prosody.global.muc_mapper_domain_base, undefined);
    t.deepEqual(Object.keys(prosody.hosts).sort(), [H, `guest.${H}`, `auth.${H}`, `conference.${H}`, `internal.auth.${H}`].sort());
    t.deepEqual(prosody.hosts[`internal.auth.${H}`]!.options.modules_enabled, ['ping']);
  });
  t.deepEqual(prosodyComponent.plan(config, FACT_VARIANTS[0]!.facts).rosterSubscriptions, []);
});
