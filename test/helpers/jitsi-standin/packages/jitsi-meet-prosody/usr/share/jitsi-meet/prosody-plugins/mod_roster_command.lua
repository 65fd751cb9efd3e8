-- Test stand-in for Jitsi's mod_roster_command (written for these tests, not Jitsi's code).
--
--   prosodyctl mod_roster_command subscribe <jid A> <jid B>
--
-- makes A and B subscribed to each other's presence: every side that is a local account gets
-- the other in its roster with subscription "both". A bare domain (a component such as
-- focus.<H>) has no roster, so only the account's side is written. Runs offline, inside
-- prosodyctl, against the storage the config names; idempotent.
local jid = require "util.jid";
local rostermanager = require "core.rostermanager";
local storagemanager = require "core.storagemanager";
local usermanager = require "core.usermanager";

local hosts = prosody.hosts;

local function usage()
	print("Usage: prosodyctl mod_roster_command subscribe <jid> <jid>");
	return 1;
end

-- Under prosodyctl the hosts are stubs with a null user provider and no storage yet.
local function prepare(host)
	local host_session = hosts[host];
	if not host_session then return nil, host .. " is not a host in the prosody config"; end
	if not host_session.users or host_session.users.name == "null" then
		storagemanager.initialize_host(host);
		usermanager.initialize_host(host);
	end
	return true;
end

local function add_both(owner, contact)
	local username, host = jid.split(owner);
	if not username then return true; end -- a domain: no roster of its own
	local ok, err = prepare(host);
	if not ok then return nil, err; end
	if not usermanager.user_exists(username, host) then return nil, owner .. " has no account"; end
	local roster, load_err = rostermanager.load_roster(username, host);
	if not roster then return nil, "cannot load the roster of " .. owner .. ": " .. tostring(load_err); end
	local item = roster[contact] or { groups = {} };
	item.subscription = "both";
	item.ask = nil;
	item.approved = nil;
	roster[contact] = item;
	local metadata = roster[false];
	if metadata and metadata.pending then metadata.pending[contact] = nil; end
	local saved, save_err = rostermanager.save_roster(username, host, roster, contact);
	if not saved then return nil, "cannot save the roster of " .. owner .. ": " .. tostring(save_err); end
	return true;
end

function module.command(arg)
	if arg[1] ~= "subscribe" or not arg[2] or not arg[3] then return usage(); end
	local a, b = jid.prep(arg[2]), jid.prep(arg[3]);
	if not a or not b then
		print("Invalid JID: " .. tostring(a and arg[3] or arg[2]));
		return 1;
	end
	for _, pair in ipairs({ { a, b }, { b, a } }) do
		local ok, err = add_both(pair[1], pair[2]);
		if not ok then
			print("Error: " .. err);
			return 1;
		end
	end
	return 0;
end
