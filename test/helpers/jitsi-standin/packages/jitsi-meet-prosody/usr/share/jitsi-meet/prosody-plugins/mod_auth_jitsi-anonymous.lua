-- Test stand-in for Jitsi's jitsi-anonymous authentication (written for these tests, not
-- Jitsi's code): SASL ANONYMOUS logins with a random username, as guests of a Jitsi host get.
-- Jitsi's version also lets a reconnecting client keep its previous username; this one does not.
local new_sasl = require "util.sasl".new;

local provider = {};

function provider.test_password() return nil, "password logins are not supported on this host"; end
function provider.get_password() return nil, "no passwords on this host"; end
function provider.set_password() return nil, "no passwords on this host"; end
function provider.user_exists() return nil, "only anonymous users on this host"; end
function provider.create_user() return nil, "no accounts on this host"; end
function provider.delete_user() return nil, "no accounts on this host"; end
function provider.users() return function() return nil; end; end

function provider.get_sasl_handler()
	return new_sasl(module.host, {
		anonymous = function() return true; end,
	});
end

module:provides("auth", provider);
