import test from 'ava';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { prosodyComponent, luaString, PROSODY_CONFIG, prosodyHostFiles } from '../../../src/configurator/components/prosody/index.js';
import { authTls, webTls } from '../../../src/configurator/paths.js';
import { FACT_VARIANTS, FIXTURES, loadFixture, materialize, PLUGINS_DIR, readProsodyConfig } from '../../helpers/generated-files.js';
import { withScratchDir } from '../../helpers/scratch.js';

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
    t.deepEqual(prosody.includes, ['conf.d/*.cfg.lua']);
    const g = prosody.global;
    t.deepEqual(g.plugin_paths, [PLUGINS_DIR]);
    t.deepEqual(g.http_ports, [5280]);
    t.deepEqual(g.http_interfaces, ['127.0.0.1']);
    t.deepEqual(g.c2s_ports, [5222]);
    t.deepEqual(g.c2s_interfaces, ['127.0.0.1']);
    t.is(g.consider_bosh_secure, true);
    t.is(g.consider_websocket_secure, true);
    t.deepEqual(g.modules_disabled, ['s2s']);
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
    t.false('plugin_paths' in prosody.global);
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
  const files = prosodyComponent.plan(config, { init: 'systemd' }).files;
  const { available, enabled } = prosodyHostFiles('localhost');
  const host = files.find((f) => f.path === available)!;
  t.is(host.mode, 0o640);
  t.is(host.owner, 'root:prosody');
  const link = files.find((f) => f.path === enabled)!;
  t.is(link.linkTo, '../conf.avail/localhost.cfg.lua');
});
