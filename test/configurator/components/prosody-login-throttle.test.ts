/**
 * mod_login_throttle's logic, run by lua5.4 with prosody's own util.stanza and util.cache
 * (from Debian's prosody, the Lua prosody itself runs) and a stand-in for the module API and
 * the clock, so that each rule is checked alone and without waiting: the live services test
 * shows the module working inside prosody behind nginx; this one covers the cases it cannot
 * reach quickly (guests, direct connections, other addresses, the window's end, the bound).
 */
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { LOGIN_THROTTLE, LOGIN_THROTTLE_MODULE } from '../../../src/configurator/components/prosody/login-throttle.js';
import { withScratchDir } from '../../helpers/scratch.js';

const HARNESS = String.raw`
local module_file, max_addresses = arg[1], tonumber(arg[2])
package.path = "/usr/lib/prosody/?.lua;" .. package.path
package.cpath = "/usr/lib/prosody/?.so;" .. package.cpath

local clock = 1000
package.loaded["util.time"] = { now = function() return clock end }

local options = { login_throttle_max_addresses = max_addresses }
local handlers = {}
local global = false
local module = {
  set_global = function() global = true end,
  get_option_number = function(_, name, default) return options[name] or default end,
  log = function() end,
}
local env = setmetatable({ module = module }, { __index = _G })
assert(loadfile(module_file, "t", env))()
assert(global, "the module is global: one state for every host")

local host = { hook = function(_, name, handler, priority) handlers[name] = { handler = handler, priority = priority or 0 } end }
module.add_host(host)
local AUTH, RESPONSE = "stanza/urn:ietf:params:xml:ns:xmpp-sasl:auth", "stanza/urn:ietf:params:xml:ns:xmpp-sasl:response"
assert(handlers[AUTH].priority > 0 and handlers[RESPONSE].priority > 0, "runs before mod_saslauth (priority 0)")

local function session(ip, proxied)
  local s = { type = "c2s_unauthed", ip = ip, sent = {}, log = function() end }
  if proxied then s.websocket_request = {} end
  s.send = function(stanza) s.sent[#s.sent + 1] = tostring(stanza) end
  s.close = function(self, reason) self.closed = reason.condition end
  return s
end
local function auth(s, mechanism, name)
  local stanza = { name = name or "auth", attr = { mechanism = mechanism or "PLAIN" } }
  return handlers[name == "response" and RESPONSE or AUTH].handler({ origin = s, stanza = stanza })
end
local function fail(s) handlers["authentication-failure"].handler({ session = s }) end
local function refused(s) return s.sent[#s.sent] and s.sent[#s.sent]:find("<temporary%-auth%-failure/>") ~= nil end

local SESSION, ADDRESS, WINDOW = ${LOGIN_THROTTLE.sessionFailures}, ${LOGIN_THROTTLE.addressFailures}, ${LOGIN_THROTTLE.windowSeconds}

-- Per session: the attempt after the limit closes the stream.
local a1 = session("192.0.2.1", true)
for _ = 1, SESSION do assert(auth(a1) == nil, "attempts below the limits reach mod_saslauth"); fail(a1) end
assert(auth(a1) == true and a1.closed == "policy-violation", "a session over its limit is closed")

-- Per address: new sessions from the address continue its count; at the limit it is refused.
local failures = SESSION
while failures < ADDRESS do
  local s = session("192.0.2.1", true)
  while failures < ADDRESS and (s.login_throttle_failures or 0) < SESSION do
    assert(auth(s) == nil, "below the address limit"); fail(s); failures = failures + 1
  end
end
local a2 = session("192.0.2.1", true)
assert(auth(a2) == true and refused(a2) and not a2.closed, "the address is refused, the session stays open")
assert(auth(a2, "PLAIN", "response") == true and refused(a2), "a SASL response is refused too")
for _ = 3, SESSION do auth(a2) end
assert(auth(a2) == true and a2.closed == "policy-violation", "refusals count toward the session's limit")

-- What the address's refusal does not touch.
assert(auth(session("192.0.2.1", true), "ANONYMOUS") == nil, "guests (ANONYMOUS) are never refused")
assert(auth(session("192.0.2.1", false)) == nil, "direct connections are counted apart from proxied ones")
assert(auth(session("192.0.2.2", true)) == nil, "other addresses log in")
local bosh = session("192.0.2.1", false); bosh.bosh_version = "1.6"
assert(auth(bosh) == true and refused(bosh), "BOSH sessions count as proxied")
assert(auth({ type = "c2s", ip = "192.0.2.1", websocket_request = {} }) == nil, "authenticated sessions are left alone")

-- The window: counted from the address's first failure; afterwards the address starts afresh.
clock = clock + WINDOW - 1
assert(auth(session("192.0.2.1", true)) == true, "still refused just before the window ends")
clock = clock + 1
assert(auth(session("192.0.2.1", true)) == nil, "logins are checked again once the window has passed")

-- Bounded memory: with room for max_addresses, the least recently seen address is forgotten.
local old = session("203.0.113.1", true)
for _ = 1, ADDRESS do fail(old) end
assert(auth(session("203.0.113.1", true)) == true, "refused while remembered")
for i = 1, max_addresses do fail(session("198.51.100." .. i, true)) end
assert(auth(session("203.0.113.1", true)) == nil, "forgotten after max_addresses newer addresses")
io.write("ok")
`;

test('mod_login_throttle: per-session and per-address limits, window, exemptions, bounded memory', async (t) => {
  await withScratchDir('login-throttle-', async (dir) => {
    const modulePath = join(dir, 'mod_login_throttle.lua');
    const harness = join(dir, 'harness.lua');
    await writeFile(modulePath, LOGIN_THROTTLE_MODULE);
    await writeFile(harness, HARNESS);
    const run = await execa('lua5.4', [harness, modulePath, '50'], { reject: false, all: true });
    t.is(run.exitCode, 0, run.all);
    t.is(run.stdout, 'ok', run.all);
  });
});
