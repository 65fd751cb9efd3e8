-- Test stand-in for Jitsi's mod_client_proxy (written for these tests, not Jitsi's code).
--
--   Component "focus.<H>" "client_proxy"
--       target_address = "focus@auth.<H>"
--
-- Lets a client account (jicofo's focus@auth.<H>) answer for a component address. The target
-- must have focus.<H> in its roster (prosodyctl mod_roster_command subscribe ...): then its
-- presence reaches this component whenever it logs in or out, which is how the proxy knows
-- the full JID to forward to. Without that subscription the proxy never learns a session and
-- every request bounces with service-unavailable.
--
-- A stanza from X to focus.<H> goes to the target's session as from <escaped X>@focus.<H>;
-- the target's answer to <escaped X>@focus.<H> goes back to X as from focus.<H>.
local jid = require "util.jid";
local st = require "util.stanza";

local target = module:get_option_string("target_address");
if not target then
	module:log("error", "no target_address set for %s: nothing to proxy to", module.host);
	return;
end
local target_bare = jid.bare(target);

-- Full JIDs of the target that told us they are online, in order of arrival (latest wins).
local online = {};

local function current_session()
	return online[#online];
end

local function forget(full)
	for i = #online, 1, -1 do
		if online[i] == full then table.remove(online, i); end
	end
end

local function bounce(stanza)
	local type = stanza.attr.type;
	if type == "error" or type == "result" or stanza.name == "presence" then return true; end
	module:send(st.error_reply(stanza, "cancel", "service-unavailable", "the focus is not connected"));
	return true;
end

-- From the target: its presence (to the component itself) and its answers (to proxied JIDs).
local function from_target(event)
	local stanza = event.stanza;
	if stanza.name == "presence" and not stanza.attr.to:find("@", 1, true) then
		local type = stanza.attr.type;
		if type == nil then
			forget(stanza.attr.from);
			table.insert(online, stanza.attr.from);
			module:log("info", "%s is online: forwarding to it", stanza.attr.from);
		elseif type == "unavailable" then
			forget(stanza.attr.from);
			module:log("info", "%s went offline", stanza.attr.from);
		elseif type == "probe" then
			module:send(st.presence({ from = module.host, to = stanza.attr.from }));
		end
		return true;
	end
	local node = jid.node(stanza.attr.to);
	if not node then return nil; end
	local original = jid.unescape(node);
	local reply = st.clone(stanza);
	reply.attr.from = module.host;
	reply.attr.to = original;
	module:send(reply);
	return true;
end

local function from_client(event)
	local stanza = event.stanza;
	local session = current_session();
	if not session then return bounce(stanza); end
	local forwarded = st.clone(stanza);
	forwarded.attr.from = jid.join(jid.escape(stanza.attr.from), module.host);
	forwarded.attr.to = session;
	module:send(forwarded);
	return true;
end

local function route(event)
	local from = event.stanza.attr.from;
	if from and jid.bare(from) == target_bare then return from_target(event); end
	-- Only the host itself is a proxy address; <node>@focus.<H> is reserved for answers.
	if jid.node(event.stanza.attr.to) then return bounce(event.stanza); end
	return from_client(event);
end

for _, kind in ipairs({ "iq", "message", "presence" }) do
	for _, addressing in ipairs({ "host", "bare", "full" }) do
		module:hook(kind .. "/" .. addressing, route, 10);
	end
end
