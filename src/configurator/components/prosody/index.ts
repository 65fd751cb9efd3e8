/**
 * Prosody (XMPP): the main config we own (`prosody.cfg.lua`) and one file per Jitsi host
 * (`conf.avail/<H>.cfg.lua`, enabled by a link from `conf.d/`).
 *
 * Layout of the host file, the "secure domain" Jitsi documents:
 * - `<H>` authenticates with passwords: the convener logs in here and only users of this
 *   domain may open a room;
 * - `guest.<H>` is anonymous: guests join rooms without credentials;
 * - `auth.<H>` holds the component accounts focus and jvb;
 * - `conference.<H>` is the conference MUC, `internal.auth.<H>` the bridges' brewery MUC;
 * - `focus.<H>` forwards conference requests to focus@auth.<H> (needs Jitsi's plugins).
 *
 * With Jitsi's prosody plugins installed (jitsi-meet-prosody) the file also carries what
 * current upstream Jitsi loads: lobby and breakout-room MUCs, the speaker-stats, conference
 * duration, end-conference, A/V moderation and room-metadata components, polls, rate limits on
 * MUC joins, and focus's roster subscription to focus.<H> (a plan entry, made with
 * mod_roster_command by the apply step). Without the plugins it is plain prosody: each of those
 * would fail to load.
 */
import { prosodyConfigFile, prosodyHostFiles, type DistributionLayout } from '../../distribution.js';
import { authTls, CA_STORE_DIR, webTls } from '../../paths.js';
import type { MasterConfig } from '../../master-config.js';
import { LOOPBACK, PORTS, remoteBridgeAccount, secret, xmppNames } from '../names.js';
import type { Component, GeneratedFile, HostFacts, RosterSubscription, XmppAccount } from '../types.js';
import { BRIDGE_LOGINS_MODULE } from './bridge-logins.js';
import { LOGIN_THROTTLE, LOGIN_THROTTLE_MODULE } from './login-throttle.js';

/** Where Jitsi's prosody plugins land when jitsi-meet-prosody is installed (a fact the apply step looks for). */
export const PROSODY_PLUGINS_DIR = '/usr/share/jitsi-meet/prosody-plugins';
/** Our own prosody modules (generated files, like the configs), first in plugin_paths. */
export const PROSODY_MODULES_DIR = '/usr/local/lib/jitsi-meet-config/prosody-modules';
/** What one client connection may send: prosody's own default, written out so it cannot drift. */
export const C2S_STANZA_SIZE_LIMIT = 256 * 1024;

/**
 * The major version of a Debian prosody version (`0.12.3-1+deb12u1` is 0, `13.0.1-1` is 13);
 * undefined when unknown. prosody went from 0.12 to 13.
 */
export function prosodyMajorVersion(version: string | undefined): number | undefined {
  const major = /^(?:\d+:)?(\d+)\./.exec(version ?? '')?.[1];
  return major === undefined ? undefined : Number(major);
}

/** Domains of the MUCs and components that only prosody's config names (clients find them through disco). */
export function jitsiComponentDomains(hostname: string) {
  return {
    lobbyMuc: `lobby.${hostname}`,
    breakoutMuc: `breakout.${hostname}`,
    speakerstats: `speakerstats.${hostname}`,
    conferenceDuration: `conferenceduration.${hostname}`,
    endConference: `endconference.${hostname}`,
    avModeration: `avmoderation.${hostname}`,
    roomMetadata: `metadata.${hostname}`,
  };
}

/** Stream management (XEP-0198), tuned as upstream Jitsi tunes it: short hibernation, one old session. */
export const SMACKS = { maxUnackedStanzas: 5, hibernationSeconds: 60, maxOldSessions: 1, componentHibernationSeconds: 15 } as const;

/** Directory name prosody's file storage uses for a host or user: every non-alphanumeric byte as %xx. */
export function encodeStorageName(name: string): string {
  return name.replace(/[^a-zA-Z0-9]/g, (char) => `%${char.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * What Jitsi's jitsi-meet-prosody package makes for the debconf hostname <H> on every
 * configure that finds no host file (or no certificate) for it: the host file and its link
 * (those are ours too, see prosodyHostFiles), self-signed certificates for <H> and auth.<H>
 * in prosody's data directory linked from its config directory's certs/, the auth one also
 * offered to the CA store, and the accounts focus and jvb on auth.<H> with focus's roster. Only
 * the files: the account store's directories stay (prosody makes them again as it needs them).
 */
export function jitsiPackageHostFiles(layout: DistributionLayout, hostname: string): string[] {
  const auth = xmppNames(hostname).authDomain;
  const { dataDir, configDir } = layout.prosody;
  const store = `${dataDir}/${encodeStorageName(auth)}`;
  return [
    ...[hostname, auth].flatMap((name) => [
      `${dataDir}/${name}.crt`,
      `${dataDir}/${name}.key`,
      `${configDir}/certs/${name}.crt`,
      `${configDir}/certs/${name}.key`,
    ]),
    `${CA_STORE_DIR}${auth}.crt`,
    `${store}/accounts/focus.dat`,
    `${store}/accounts/jvb.dat`,
    `${store}/roster/focus.dat`,
  ];
}

/** A Lua string literal holding exactly `value`. */
export function luaString(value: string): string {
  let out = '"';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (char === '\\' || char === '"') out += `\\${char}`;
    else if (char === '\n') out += '\\n';
    else if (code < 0x20 || code === 0x7f) out += `\\${code.toString().padStart(3, '0')}`;
    else out += char;
  }
  return `${out}"`;
}

function luaList(values: readonly string[]): string {
  return `{ ${values.map(luaString).join(', ')} }`;
}

/** Lua table of modules, one per line, as prosody's own examples write them. */
function moduleList(indent: string, modules: readonly string[]): string {
  return ['{', ...modules.map((name) => `${indent}    ${luaString(name)};`), `${indent}}`].join('\n');
}

/** The accounts of the videobridges on other hosts (`--add-bridge`), in the master config's order. */
export function remoteBridgeAccounts(config: MasterConfig): XmppAccount[] {
  const host = xmppNames(config.hostname).authDomain;
  return (config.bridges ?? []).map((bridge) => ({ username: remoteBridgeAccount(config.hostname, bridge.name).username, host, password: bridge.password }));
}

function mainConfig(config: MasterConfig, facts: HostFacts): string {
  const remoteBridges = remoteBridgeAccounts(config);
  const lines = [
    '-- Written by jitsi-meet-config from /etc/jitsi/master-config.yaml; edits here are replaced.',
    '-- Server-wide settings. Everything about the Jitsi host lives in conf.d/<hostname>.cfg.lua.',
    '',
    '-- Per-host admins are set where they are needed (the MUC components); nobody is a server-wide admin.',
    'admins = { }',
    '',
  ];
  const major = prosodyMajorVersion(facts.prosodyVersion);
  if (major !== undefined && major >= 13) {
    lines.push(
      `-- prosody ${facts.prosodyVersion}: since 13 a component's admins (focus on the MUCs) are no longer room`,
      '-- owners by themselves; jicofo must own the rooms it runs.',
      'component_admins_as_room_owners = true',
      '',
    );
  }
  if (facts.prosodyPluginsDir) {
    lines.push("-- Our own modules (login_throttle), then Jitsi's prosody plugins (jitsi-meet-prosody):");
    lines.push('-- client_proxy, jitsi-anonymous auth, MUC helpers.');
    lines.push(`plugin_paths = ${luaList([PROSODY_MODULES_DIR, facts.prosodyPluginsDir])}`);
  } else {
    lines.push("-- Our own modules (login_throttle). Jitsi's prosody plugins (jitsi-meet-prosody) are not");
    lines.push('-- installed in this image, so their directory is not listed.');
    lines.push(`plugin_paths = ${luaList([PROSODY_MODULES_DIR])}`);
  }
  lines.push(
    '',
    'modules_enabled = ' +
      moduleList('', [
        'roster', // focus's subscription to the focus.<H> client proxy lives in its roster
        'saslauth',
        'tls',
        'disco',
        'ping',
        'posix', // pidfile and daemonizing for the sysvinit/OpenRC script
        'smacks', // stream resumption for flaky client connections
        'limits', // bandwidth per client connection (limits, unlimited_jids below and in the host file)
        'login_throttle', // ours: failed logins per session and per address (see its file)
        'bridge_logins', // ours: only the bridges on other hosts log in from other addresses (see its file)
      ]),
    '',
    '-- No federation: an all-in-one Jitsi server talks to nobody but its own components and clients.',
    '-- No offline storage (mod_offline is loaded unless disabled): anyone, an anonymous guest',
    '-- included, could otherwise fill the disk with messages to an account that is not online.',
    '-- Such messages are refused (service-unavailable) instead, as upstream Jitsi configures prosody.',
    'modules_disabled = { "s2s", "offline" }',
    '',
    '-- Stream management (mod_smacks), as upstream Jitsi tunes it: a client that lost its connection',
    '-- may resume within a minute; one hibernated session per user, acknowledged every 5 stanzas.',
    `smacks_max_unacked_stanzas = ${SMACKS.maxUnackedStanzas}`,
    `smacks_hibernation_time = ${SMACKS.hibernationSeconds}`,
    `smacks_max_old_sessions = ${SMACKS.maxOldSessions}`,
    '',
    "-- What a client may send: 10 kB/s per connection (upstream Jitsi's rate; the components' accounts",
    '-- are exempt, see unlimited_jids in the host file) and at most 256 KiB per stanza.',
    'limits = {',
    '    c2s = { rate = "10kb/s" };',
    '}',
    `c2s_stanza_size_limit = ${C2S_STANZA_SIZE_LIMIT}`,
    '',
    '-- Failed logins (mod_login_throttle): a session that failed this many times is closed at its next',
    '-- attempt; an address is refused (temporary-auth-failure, nothing hashed) once that many of its',
    "-- logins failed, until the window (seconds from its first failure) is over.",
    `login_throttle_session_failures = ${LOGIN_THROTTLE.sessionFailures}`,
    `login_throttle_address_failures = ${LOGIN_THROTTLE.addressFailures}`,
    `login_throttle_window = ${LOGIN_THROTTLE.windowSeconds}`,
    '',
    ...(remoteBridges.length === 0
      ? [
          '-- Client connections (c2s) on loopback only: jicofo and the videobridge log in here;',
          '-- browsers and apps reach prosody through nginx (BOSH and websocket), never directly.',
          `c2s_ports = { ${PORTS.xmppClient} }`,
          `c2s_interfaces = ${luaList([LOOPBACK])}`,
        ]
      : [
          '-- Client connections (c2s): jicofo and the videobridge log in on loopback; the videobridges',
          `-- on other hosts (jitsi-meet-config --add-bridge) on ${config.internal_ip}, where mod_bridge_logins`,
          '-- lets nothing but their accounts in. Browsers and apps reach prosody through nginx (BOSH and',
          '-- websocket), never directly.',
          `c2s_ports = { ${PORTS.xmppClient} }`,
          `c2s_interfaces = ${luaList([LOOPBACK, config.internal_ip])}`,
        ]),
    '-- No login without TLS (STARTTLS), on any address.',
    'c2s_require_encryption = true',
    `remote_bridge_host = ${luaString(xmppNames(config.hostname).authDomain)}`,
    `remote_bridge_accounts = ${luaList(remoteBridges.map((account) => account.username))}`,
    '',
    "-- prosody's HTTP server (BOSH, websocket) on loopback, behind nginx, which terminates TLS.",
    `http_ports = { ${PORTS.prosodyHttp} }`,
    `http_interfaces = ${luaList([LOOPBACK])}`,
    'https_ports = { }',
    '-- nginx terminates TLS and proxies to loopback, so these sessions are as secure as the HTTPS in front.',
    'consider_bosh_secure = true',
    'consider_websocket_secure = true',
    '-- No cross_domain_bosh/cross_domain_websocket: the web app and these endpoints share one origin',
    '-- (https://<H>), and prosody 0.12 ignores cross_domain_websocket anyway.',
    '',
    `pidfile = ${luaString(facts.distribution.prosody.pidFile)}`,
    'log = {',
    `    info = ${luaString(`${facts.distribution.prosody.logDir}/prosody.log`)};`,
    `    error = ${luaString(`${facts.distribution.prosody.logDir}/prosody.err`)};`,
    '}',
    '',
    "-- Exactly our host's file, not Debian's `conf.d/*.cfg.lua`: that glob also loads Debian's",
    '-- VirtualHost "localhost" (linked into conf.d/ by the package on a fresh install) and anything',
    '-- else left there. This file is ours and rewritten on every run, so the choice survives prosody',
    "-- package upgrades whatever a package version's scripts do to conf.d/. Removing Debian's link",
    "-- instead would last only as long as no upgrade recreates it, and for a host named localhost",
    "-- (whose file has Debian's name) the link is our own.",
    `Include ${luaString(`conf.d/${config.hostname}.cfg.lua`)}`,
    '',
  );
  return lines.join('\n');
}

function hostConfig(config: MasterConfig, facts: HostFacts): string {
  const names = xmppNames(config.hostname);
  const extra = jitsiComponentDomains(config.hostname);
  const web = webTls(config.hostname);
  const auth = authTls(config.hostname);
  const turnSecret = secret(config, 'turn_secret');
  const plugins = Boolean(facts.prosodyPluginsDir);
  const bridgeJids = (config.bridges ?? []).map((bridge) => remoteBridgeAccount(config.hostname, bridge.name).jid);
  const ssl = (pair: { cert: string; key: string }) =>
    ['    ssl = {', `        certificate = ${luaString(pair.cert)};`, `        key = ${luaString(pair.key)};`, '    }'].join('\n');
  const clientModules = ['bosh', 'websocket', 'external_services'];
  const modules = (list: readonly string[]) => `    modules_enabled = ${moduleList('    ', list)}`;
  // What every MUC of the server shares: rooms in memory, open at once (no locking until
  // configured), occupants see each other's real JIDs (jicofo needs them), none kept or listed.
  const mucBasics = [
    '    storage = "memory"',
    '    muc_room_locking = false',
    '    muc_room_default_public = false',
    '    muc_room_default_public_jids = true',
    '    muc_tombstones = false',
  ];

  const lines = [
    `-- Jitsi Meet on ${names.domain}. Written by jitsi-meet-config from /etc/jitsi/master-config.yaml;`,
    '-- edits here are replaced on the next run.',
    '',
    '-- Requests to prosody\'s HTTP port that name no known host (health checks on 127.0.0.1) go to the Jitsi host.',
    `http_default_host = ${luaString(names.domain)}`,
    '',
    "-- Jitsi's own components send far more than a client (jicofo's Jingle, the bridges' stats):",
    "-- mod_limits lifts its rate limit for these accounts once they have logged in.",
    `unlimited_jids = ${luaList([names.focusJid, names.jvbJid, ...bridgeJids])}`,
    '',
  ];
  if (plugins) {
    lines.push(
      "-- Jitsi's component plugins find the conference MUC of a room (and of tenant subdomains) from this base.",
      `muc_mapper_domain_base = ${luaString(names.domain)}`,
      '',
    );
  }
  lines.push(
    '-- STUN/TURN for clients (XEP-0215), served by coturn on this machine. TURN credentials are',
    '-- derived from the shared secret that coturn checks (coturn: use-auth-secret, static-auth-secret).',
    `external_service_secret = ${luaString(turnSecret)}`,
    'external_services = {',
    `    { type = "stun", host = ${luaString(names.domain)}, port = ${PORTS.turn}, transport = "udp" },`,
    `    { type = "turn", host = ${luaString(names.domain)}, port = ${PORTS.turn}, transport = "udp", secret = true, ttl = 86400, algorithm = "turn" },`,
    `    { type = "turn", host = ${luaString(names.domain)}, port = ${PORTS.turn}, transport = "tcp", secret = true, ttl = 86400, algorithm = "turn" },`,
    `    { type = "turns", host = ${luaString(names.domain)}, port = ${PORTS.turns}, transport = "tcp", secret = true, ttl = 86400, algorithm = "turn" },`,
    '}',
    '',
    '-- The secure domain: the convener logs in here with a password. Being a user of this domain',
    '-- is what allows opening a room (restrict_room_creation = "local" on the conference MUC).',
    `VirtualHost ${luaString(names.domain)}`,
    '    authentication = "internal_hashed"',
    ssl(web),
  );
  if (plugins) {
    lines.push(
      "    -- Jitsi's meeting features. The host modules announce their components to clients (disco),",
      '    -- which is how the web app finds them; guests of guest.<H> ask this host too.',
      modules([
        ...clientModules,
        'features_identity',
        'conference_duration',
        'end_conference',
        'muc_lobby_rooms',
        'muc_breakout_rooms',
        'av_moderation',
        'room_metadata',
        'speakerstats',
      ]),
      `    main_muc = ${luaString(names.conferenceMuc)}`,
      `    lobby_muc = ${luaString(extra.lobbyMuc)}`,
      `    breakout_rooms_muc = ${luaString(extra.breakoutMuc)}`,
      `    speakerstats_component = ${luaString(extra.speakerstats)}`,
      `    conference_duration_component = ${luaString(extra.conferenceDuration)}`,
      `    end_conference_component = ${luaString(extra.endConference)}`,
      `    av_moderation_component = ${luaString(extra.avModeration)}`,
      `    room_metadata_component = ${luaString(extra.roomMetadata)}`,
    );
  } else {
    lines.push(modules(clientModules));
  }
  lines.push(
    '',
    '-- Guests: anonymous logins, as config.js hosts.anonymousdomain says. They may join rooms, not open them.',
    `VirtualHost ${luaString(names.guestDomain)}`,
    `    authentication = ${luaString(plugins ? 'jitsi-anonymous' : 'anonymous')}`,
    // No ssl: guests arrive over BOSH/websocket, whose TLS is nginx's; c2s is loopback only.
    modules(clientModules),
    '',
    '-- Accounts of Jitsi\'s own components (focus for jicofo, jvb for the videobridge).',
    `VirtualHost ${luaString(names.authDomain)}`,
    '    authentication = "internal_hashed"',
    ssl(auth),
    '    -- jicofo and the bridge reconnect at once; a dead session need not wait long for them.',
    `    smacks_hibernation_time = ${SMACKS.componentHibernationSeconds}`,
  );
  if (plugins) lines.push(modules(['limits_exception']));
  lines.push(
    '',
    '-- Conference rooms. Only admins (focus) and users of the parent domain (the convener) create',
    '-- rooms; guests of guest.<H> may only join existing ones.',
    `Component ${luaString(names.conferenceMuc)} "muc"`,
    ...mucBasics,
    `    admins = ${luaList([names.focusJid])}`,
    '    restrict_room_creation = "local"',
    '    muc_room_default_persistent = false',
    '    muc_room_allow_persistent = false',
    '    muc_room_cache_size = 1000',
  );
  if (plugins) {
    lines.push(
      modules(['muc_hide_all', 'muc_meeting_id', 'muc_domain_mapper', 'polls', 'muc_rate_limit', 'muc_password_whitelist']),
      '    -- jicofo enters rooms that a moderator protected with a password.',
      `    muc_password_whitelist = ${luaList([names.focusJid])}`,
    );
  } else {
    lines.push("    -- Jitsi's MUC plugins (meeting ids, hidden rooms, polls, join rate limits) are not installed: plain prosody MUC.");
  }
  lines.push(
    '',
    '-- The brewery, where jicofo finds the videobridges. Only focus and the bridges (admins, hence',
    '-- room owners) may enter: rooms are members-only, so a guest cannot pose as a bridge.',
    `Component ${luaString(names.internalMuc)} "muc"`,
    ...mucBasics,
    `    admins = ${luaList([names.focusJid, names.jvbJid, ...bridgeJids])}`,
    '    restrict_room_creation = true',
    '    muc_room_default_members_only = true',
    modules(plugins ? ['ping', 'muc_hide_all'] : ['ping']),
    '',
  );
  const proxy = [
    `Component ${luaString(names.focusComponent)} "client_proxy"`,
    `    target_address = ${luaString(names.focusJid)}`,
  ];
  if (!plugins) {
    lines.push(
      "-- Clients send conference requests to focus.<H>, which mod_client_proxy (part of Jitsi's prosody",
      '-- plugins, not installed in this image) hands to focus@auth.<H>. Without the module prosody would',
      '-- fail to load the component, so it stays disabled until the plugins are installed:',
      ...proxy.map((line) => `-- ${line}`),
      '',
    );
    return lines.join('\n');
  }
  const helper = (domain: string, module: string, what: string, more: string[] = []) => [
    `-- ${what}`,
    `Component ${luaString(domain)} ${luaString(module)}`,
    `    muc_component = ${luaString(names.conferenceMuc)}`,
    ...more,
    '',
  ];
  lines.push(
    "-- Clients send conference requests to focus.<H>; the proxy hands them to jicofo's account, whose",
    '-- session it learns from jicofo\'s presence (focus\'s roster is subscribed to focus.<H>).',
    ...proxy,
    '',
    '-- Breakout rooms: created by the breakout-rooms module for a conference\'s moderator, never by clients.',
    `Component ${luaString(extra.breakoutMuc)} "muc"`,
    ...mucBasics,
    `    admins = ${luaList([names.focusJid])}`,
    '    restrict_room_creation = true',
    modules(['muc_hide_all', 'muc_meeting_id', 'muc_domain_mapper', 'muc_rate_limit', 'polls']),
    '',
    '-- Lobbies (knocking before entering a locked conference): created by the lobby module.',
    `Component ${luaString(extra.lobbyMuc)} "muc"`,
    ...mucBasics,
    '    restrict_room_creation = true',
    modules(['muc_hide_all', 'muc_rate_limit', 'polls']),
    '',
    ...helper(extra.speakerstats, 'speakerstats_component', 'Who spoke how long.'),
    ...helper(extra.conferenceDuration, 'conference_duration_component', 'When a conference started.'),
    ...helper(extra.endConference, 'end_conference', 'A moderator ends the conference for everyone.'),
    ...helper(extra.avModeration, 'av_moderation_component', 'Audio/video moderation.'),
    ...helper(extra.roomMetadata, 'room_metadata_component', 'Room metadata (shared by a conference and its breakout rooms).', [
      `    breakout_rooms_component = ${luaString(extra.breakoutMuc)}`,
    ]),
  );
  return lines.join('\n');
}

/** focus@auth.<H> subscribed to focus.<H> (and back): only then does the client proxy see jicofo's presence. */
function focusSubscription(hostname: string, pluginsDir: string): RosterSubscription {
  const names = xmppNames(hostname);
  return { account: names.focusJid, contact: names.focusComponent, rosterCommandModule: `${pluginsDir}/mod_roster_command.lua` };
}

export const prosodyComponent: Component = {
  name: 'prosody',
  packages: ['prosody', 'jitsi-meet-prosody'],
  plan(config, facts) {
    const layout = facts.distribution;
    const host = prosodyHostFiles(layout, config.hostname);
    const mainFile = prosodyConfigFile(layout);
    const web = webTls(config.hostname);
    const auth = authTls(config.hostname);
    const owner = `root:${layout.prosody.group}`;
    const files: GeneratedFile[] = [
      // prosody reads both; the host file holds the TURN secret, so neither is world-readable.
      { path: mainFile, content: mainConfig(config, facts), mode: 0o640, owner },
      { path: host.available, content: hostConfig(config, facts), mode: 0o640, owner },
      { path: host.enabled, content: '', linkTo: `../conf.avail/${config.hostname}.cfg.lua` },
      // No secret in it: world-readable like prosody's own modules.
      { path: `${PROSODY_MODULES_DIR}/mod_login_throttle.lua`, content: LOGIN_THROTTLE_MODULE, mode: 0o644, owner: 'root:root' },
      { path: `${PROSODY_MODULES_DIR}/mod_bridge_logins.lua`, content: BRIDGE_LOGINS_MODULE, mode: 0o644, owner: 'root:root' },
    ];
    return {
      files,
      services: [
        {
          name: 'prosody',
          reads: [`${layout.prosody.configDir}/`, web.cert, web.key, auth.cert, auth.key, `group:${layout.prosody.user}`],
          // Where the distribution's init script cannot restart it (distribution.ts says why).
          ...(layout.prosody.openrcRestart ? { openrcRestart: layout.prosody.openrcRestart } : {}),
        },
      ],
      // The convener opens rooms; the components' own accounts come with their plans.
      // The bridges on other hosts log in with accounts of their own (revoked by --remove-bridge).
      accounts: [{ username: config.convener.username, host: xmppNames(config.hostname).domain, password: config.convener.password }, ...remoteBridgeAccounts(config)],
      accountStore: { config: mainFile, dataDir: layout.prosody.dataDir },
      keyReaders: [layout.prosody.user],
      packageFiles: jitsiPackageHostFiles(layout, config.hostname),
      // Made with Jitsi's mod_roster_command: only with the plugins (as is the client proxy itself).
      rosterSubscriptions: facts.prosodyPluginsDir ? [focusSubscription(config.hostname, facts.prosodyPluginsDir)] : [],
    };
  },
};
