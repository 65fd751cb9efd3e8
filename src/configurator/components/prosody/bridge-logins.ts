/**
 * Our own prosody module, mod_bridge_logins: with videobridges on other hosts, prosody's c2s
 * port also listens on the internal address, and this module lets nothing but those bridges
 * use it. A direct c2s connection from an address other than loopback:
 * - may only open a stream to auth.<H> (a stream to <H> or guest.<H> is closed with
 *   policy-violation before any login, so no convener password and no anonymous login can be
 *   tried there);
 * - may only log in as one of the bridge accounts listed in remote_bridge_accounts (focus and
 *   the local jvb stay loopback-only: a right password is closed with policy-violation too).
 * BOSH and websocket sessions (browsers, through nginx) are not direct c2s connections and are
 * not affected.
 *
 * Written from prosody's behaviour, using only what prosody 0.12 and 13 both provide: mod_c2s
 * fires `stream-features` on the session's host for every stream it opens and sets session.ip
 * from the connection; mod_saslauth fires `authentication-success` with `{ session }` before it
 * answers <success/>; a closed session sends nothing more.
 */

export const BRIDGE_LOGINS_MODULE = `-- mod_bridge_logins. Written by jitsi-meet-config; edits here are replaced on the next run.
--
-- Direct c2s connections from anywhere but loopback are for the videobridges on other hosts
-- (jitsi-meet-config --add-bridge): they may open a stream to remote_bridge_host only and log
-- in only as one of remote_bridge_accounts. Everything else is closed (policy-violation).
-- Browsers (BOSH, websocket through nginx) are not direct c2s connections: not affected.

-- Loaded once, hooked on every host (module.add_host).
module:set_global();

local set = require "util.set";

local bridge_host = module:get_option_string("remote_bridge_host");
local bridge_accounts = module:get_option_set("remote_bridge_accounts", {});
local c2s_ports = set.new();
for _, port in ipairs(module:get_option_array("c2s_ports", { 5222 })) do c2s_ports:add(tonumber(port)); end

local function is_loopback(ip)
	return ip == nil or ip == "127.0.0.1" or ip == "::1" or ip:match("^127%.") ~= nil or ip:match("^::ffff:127%.") ~= nil;
end

-- A session on our own c2s listener (not BOSH or websocket) from an address other than loopback.
local function is_remote_c2s(session)
	if session.bosh_version or session.websocket_request then return false; end
	local conn = session.conn;
	if type(conn) ~= "table" or not conn.serverport then return false; end
	-- LuaSocket may give the port as a string: compare numbers.
	if not c2s_ports:contains(tonumber(conn:serverport())) then return false; end
	return not is_loopback(session.ip);
end

local function refuse(session, why)
	module:log("warn", "refused %s from %s: %s", session.host or "?", session.ip or "?", why);
	session:close({ condition = "policy-violation", text = "only videobridges of this server log in on this address" });
	return true;
end

function module.add_host(host_module)
	host_module:hook("stream-features", function(event)
		local session = event.origin;
		module:log("debug", "stream to %s from %s, port %s (%s)", tostring(session.host), tostring(session.ip), tostring(session.conn and session.conn.serverport and session.conn:serverport()), is_remote_c2s(session) and "remote c2s" or "not remote c2s");
		if session.type == "c2s_unauthed" and is_remote_c2s(session) and session.host ~= bridge_host then
			return refuse(session, "stream to a host other than " .. tostring(bridge_host));
		end
	end, 1000);
	host_module:hook("authentication-success", function(event)
		local session = event.session;
		if not is_remote_c2s(session) then return; end
		if session.host ~= bridge_host or not bridge_accounts:contains(session.username) then
			return refuse(session, "login as " .. tostring(session.username) .. ", not a bridge account");
		end
	end, 1000);
end
`;
