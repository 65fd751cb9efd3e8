/**
 * mod_bridge_logins's rules, run by lua5.4 with prosody's own util.set and a stand-in for the
 * module API: the two-container test shows the module refusing a guest and the convener inside
 * prosody; this one covers each rule alone (BOSH and websocket sessions, loopback, another
 * listener, focus with the right password, the bridge accounts).
 */
import test from 'ava';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { BRIDGE_LOGINS_MODULE } from '../../../src/configurator/components/prosody/bridge-logins.js';
import { prosodyComponent, remoteBridgeAccounts } from '../../../src/configurator/components/prosody/index.js';
import { FACT_VARIANTS, loadFixture, materialize } from '../../helpers/generated-files.js';
import { withScratchDir } from '../../helpers/scratch.js';
import { DEBIAN, prosodyHostFiles as hostFilesOf } from '../../../src/configurator/distribution.js';

/** Debian's layout: where these tests expect prosody's files. */
const PROSODY_CONFIG = '/etc/prosody/prosody.cfg.lua';
const prosodyHostFiles = (hostname: string) => hostFilesOf(DEBIAN, hostname);

const HARNESS = String.raw`
local module_file = arg[1]
package.path = "/usr/lib/prosody/?.lua;" .. package.path
package.cpath = "/usr/lib/prosody/?.so;" .. package.cpath
local set = require "util.set"

local options = { remote_bridge_host = "auth.meet.example.org", remote_bridge_accounts = { "jvb-bridge2" }, c2s_ports = { 5222 } }
local handlers = {}
local global = false
local module = {
  set_global = function() global = true end,
  get_option_string = function(_, name, default) return options[name] or default end,
  get_option_set = function(_, name, default) return set.new(options[name] or default) end,
  get_option_array = function(_, name, default) return options[name] or default end,
  log = function() end,
}
local env = setmetatable({ module = module }, { __index = _G })
assert(loadfile(module_file, "t", env))()
assert(global, "loaded once for every host")
module.add_host({ hook = function(_, name, handler, priority) handlers[name] = { handler = handler, priority = priority or 0 } end })
assert(handlers["stream-features"].priority > 0 and handlers["authentication-success"].priority > 0, "runs before prosody's own handlers")

local function session(opts)
  local s = { type = "c2s_unauthed", host = opts.host, ip = opts.ip, username = opts.username }
  -- LuaSocket reports the port as a string, as prosody sees it.
  s.conn = { serverport = function() return tostring(opts.port or 5222) end }
  if opts.bosh then s.bosh_version = "1.6" end
  if opts.websocket then s.websocket_request = {} end
  s.close = function(self, reason) self.closed = reason.condition end
  return s
end
local function open(s) return handlers["stream-features"].handler({ origin = s }) end
local function logged_in(s) s.type = "c2s"; return handlers["authentication-success"].handler({ session = s }) end

-- From another address, on the c2s port: streams to the Jitsi host and guests are closed at once.
for _, host in ipairs({ "meet.example.org", "guest.meet.example.org" }) do
  local s = session({ host = host, ip = "10.79.0.2" })
  assert(open(s) == true and s.closed == "policy-violation", "a remote stream to " .. host .. " is closed")
end
-- A stream to auth.<H> opens; only bridge accounts stay logged in.
local bridge = session({ host = "auth.meet.example.org", ip = "10.79.0.2", username = "jvb-bridge2" })
assert(open(bridge) == nil and bridge.closed == nil, "a remote stream to auth.<H> opens")
assert(logged_in(bridge) == nil and bridge.closed == nil, "a bridge account logs in remotely")
for _, name in ipairs({ "focus", "jvb", "jvb-bridge3" }) do
  local s = session({ host = "auth.meet.example.org", ip = "2001:db8::7", username = name })
  open(s)
  assert(logged_in(s) == true and s.closed == "policy-violation", name .. " is not a bridge account: closed after its login")
end
-- Not affected: loopback, BOSH and websocket (browsers through nginx), another listener.
for _, opts in ipairs({
  { host = "meet.example.org", ip = "127.0.0.1", username = "admin" },
  { host = "meet.example.org", ip = "::1", username = "admin" },
  { host = "guest.meet.example.org", ip = "198.51.100.4", bosh = true, username = "x" },
  { host = "meet.example.org", ip = "198.51.100.4", websocket = true, username = "admin" },
  { host = "meet.example.org", ip = "198.51.100.4", port = 5280, username = "admin" },
}) do
  local s = session(opts)
  assert(open(s) == nil and logged_in(s) == nil and s.closed == nil, "untouched: " .. opts.host .. " from " .. opts.ip)
end
print("ok")
`;

test('mod_bridge_logins: on the c2s port from another address only bridge accounts of auth.<H> get in; browsers and loopback are untouched', async (t) => {
  await withScratchDir('bridge-logins-', async (dir) => {
    const modulePath = join(dir, 'mod_bridge_logins.lua');
    const harness = join(dir, 'harness.lua');
    await writeFile(modulePath, BRIDGE_LOGINS_MODULE);
    await writeFile(harness, HARNESS);
    const run = await execa('lua5.4', [harness, modulePath], { reject: false, all: true });
    t.is(run.exitCode, 0, run.all);
    t.is(run.stdout.trim(), 'ok', run.all);
  });
});

test('with bridges: c2s also on the internal address, their accounts planned, in the brewery and exempt from rate limits; prosodyctl accepts it', async (t) => {
  const base = await loadFixture('public-nat');
  const config = { ...base, bridges: [{ name: 'bridge2', password: 'b'.repeat(43) }, { name: 'b3', password: 'c'.repeat(43) }] };
  const facts = FACT_VARIANTS[1]!.facts;
  const plan = prosodyComponent.plan(config, facts);
  const main = plan.files.find((file) => file.path === PROSODY_CONFIG)!.content;
  t.regex(main, new RegExp(`^c2s_interfaces = \\{ "127\\.0\\.0\\.1", "${config.internal_ip.replace(/\./g, '\\.')}" \\}$`, 'm'));
  t.regex(main, /^remote_bridge_accounts = \{ "jvb-bridge2", "jvb-b3" \}$/m);
  t.regex(main, /"bridge_logins";/);
  const host = plan.files.find((file) => file.path === prosodyHostFiles(config.hostname).available)!.content;
  t.regex(host, new RegExp(`admins = \\{ "focus@auth\\.${config.hostname.replace(/\./g, '\\.')}", "jvb@auth\\.[^"]+", "jvb-bridge2@auth\\.[^"]+", "jvb-b3@auth\\.[^"]+" \\}`));
  t.regex(host, /^unlimited_jids = \{ .*"jvb-bridge2@auth\.[^"]+", "jvb-b3@auth\.[^"]+" \}$/m);
  t.deepEqual(
    plan.accounts!.filter((account) => account.username.startsWith('jvb-')).map((account) => `${account.username}@${account.host}:${account.password.length}`),
    [`jvb-bridge2@auth.${config.hostname}:43`, `jvb-b3@auth.${config.hostname}:43`],
  );
  t.deepEqual(remoteBridgeAccounts(base), [], 'no bridges, no accounts');
  t.regex(prosodyComponent.plan(base, facts).files.find((file) => file.path === PROSODY_CONFIG)!.content, /^c2s_interfaces = \{ "127\.0\.0\.1" \}$/m, 'without bridges: loopback only');
  await withScratchDir('prosody-bridges-', async (root) => {
    await chmod(root, 0o755);
    await materialize(plan.files, root);
    const check = await execa('prosodyctl', ['--config', join(root, PROSODY_CONFIG), 'check', 'config'], { reject: false, all: true });
    t.regex(check.all ?? '', /All checks passed/, check.all);
  });
});
