/**
 * Our own prosody module, mod_login_throttle: limits failed logins per session and per client
 * address. Debian ships no such module (mod_limit_auth is in prosody-modules, which bookworm's
 * and trixie's prosody packages do not include), and every failed password login costs prosody a
 * full PBKDF2 derivation (SASL PLAIN against internal_hashed) on its only thread.
 *
 * Written from prosody's behaviour, using only what prosody 0.12 (bookworm) and 13 (trixie)
 * both provide: mod_saslauth handles `stanza/urn:ietf:params:xml:ns:xmpp-sasl:auth` (and
 * `:response`) at priority 0 and fires `authentication-failure` with `{ session }`; a handler
 * of those stanza events at a higher priority runs first and can answer without any hashing.
 */

/** Defaults the generated prosody.cfg.lua writes out (the module has the same built in). */
export const LOGIN_THROTTLE = {
  /** A session that has failed this often is closed at its next attempt. */
  sessionFailures: 5,
  /** Failures from one address within the window after which that address is refused. */
  addressFailures: 10,
  /** Seconds, counted from an address's first failure. */
  windowSeconds: 300,
} as const;

export const LOGIN_THROTTLE_MODULE = `-- mod_login_throttle. Written by jitsi-meet-config; edits here are replaced on the next run.
--
-- Limits failed logins (each failed password costs prosody a full PBKDF2 derivation):
-- * a session that has failed login_throttle_session_failures times is closed
--   (policy-violation) at its next attempt;
-- * once login_throttle_address_failures logins from one address have failed within
--   login_throttle_window seconds of its first failure, every further attempt from that
--   address is answered <temporary-auth-failure/> before any hashing, until the window ends.
-- ANONYMOUS (guests) is never refused: it costs nothing, and one person's typos must not shut
-- out the guests behind the same NAT address.
--
-- The address is session.ip, which prosody takes from nginx's X-Forwarded-For for BOSH and
-- websocket sessions (it trusts 127.0.0.1 as a proxy). Direct c2s connections (loopback only:
-- jicofo and the videobridge) are counted apart from proxied ones, so failures through nginx
-- never lock the components out.
--
-- Only APIs prosody 0.12 and 13 share: module:set_global, module.add_host, module:hook,
-- module:get_option_number, util.cache, util.time, util.stanza, session:close.

-- One state for all hosts: an address that fails on one host is refused on the others too.
module:set_global();

local st = require "util.stanza";
local new_cache = require "util.cache".new;
local now = require "util.time".now;

local xmlns_sasl = "urn:ietf:params:xml:ns:xmpp-sasl";

local session_limit = module:get_option_number("login_throttle_session_failures", ${LOGIN_THROTTLE.sessionFailures});
local address_limit = module:get_option_number("login_throttle_address_failures", ${LOGIN_THROTTLE.addressFailures});
local window = module:get_option_number("login_throttle_window", ${LOGIN_THROTTLE.windowSeconds});
-- Bounded memory whatever the number of addresses: the least recently seen are forgotten first.
local addresses = new_cache(module:get_option_number("login_throttle_max_addresses", 10000));

local function address_key(session)
	local proxied = session.websocket_request ~= nil or session.bosh_version ~= nil;
	return (proxied and "proxied " or "direct ") .. tostring(session.ip);
end

-- The address's record while its window lasts; nil (and forgotten) once it has passed.
local function current(key, t)
	local entry = addresses:get(key);
	if entry and t - entry.since >= window then
		addresses:set(key, nil);
		return nil;
	end
	return entry;
end

local function refuse_if_throttled(event)
	local session, stanza = event.origin, event.stanza;
	if session.type ~= "c2s_unauthed" then return; end
	if stanza.name == "auth" and stanza.attr.mechanism == "ANONYMOUS" then return; end
	local failures = session.login_throttle_failures or 0;
	if failures >= session_limit then
		session.log("info", "Closing the session after %d failed logins", failures);
		session:close({ condition = "policy-violation", text = "Too many failed logins" });
		return true;
	end
	local entry = current(address_key(session), now());
	if entry and entry.failures >= address_limit then
		-- Counts toward the session's limit too, so a session that keeps trying is closed.
		session.login_throttle_failures = failures + 1;
		session.send(st.stanza("failure", { xmlns = xmlns_sasl })
			:tag("temporary-auth-failure"):up()
			:tag("text"):text("Too many failed logins from this address; try again later"));
		return true;
	end
end

local function count_failure(event)
	local session = event.session;
	session.login_throttle_failures = (session.login_throttle_failures or 0) + 1;
	local key, t = address_key(session), now();
	local entry = current(key, t);
	if not entry then
		entry = { since = t, failures = 0 };
		addresses:set(key, entry);
	end
	entry.failures = entry.failures + 1;
	if entry.failures == address_limit then
		module:log("warn", "%d failed logins from %s: refusing its logins until %d s after its first failure", address_limit, key, window);
	end
end

function module.add_host(host_module)
	-- Priority 10: before mod_saslauth (0), so a refused attempt is never hashed.
	host_module:hook("stanza/" .. xmlns_sasl .. ":auth", refuse_if_throttled, 10);
	host_module:hook("stanza/" .. xmlns_sasl .. ":response", refuse_if_throttled, 10);
	host_module:hook("authentication-failure", count_failure);
end
`;
