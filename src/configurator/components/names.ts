/**
 * Every name, port and secret that two components must agree on, derived in one place from
 * the master config. Generators take them from here and never spell a domain or port
 * themselves: that is what keeps prosody, jicofo, the videobridge, config.js, nginx and coturn
 * in step (docs/ARCHITECTURE.md lists what they agree on).
 */
import type { MasterConfig } from '../master-config.js';

export interface XmppNames {
  /** The XMPP domain and public web name `<H>`; the convener's accounts live here. */
  domain: string;
  /** Anonymous guests log in here (Jitsi's "secure domain": config.js hosts.anonymousdomain). */
  guestDomain: string;
  /** Internal accounts of Jitsi's components: focus and jvb. */
  authDomain: string;
  /** MUC of the conferences. */
  conferenceMuc: string;
  /** MUC where bridges and jicofo meet. */
  internalMuc: string;
  /** Full JID of the bridge brewery room; the same string in jicofo.conf and jvb.conf. */
  breweryJid: string;
  /** Component that forwards clients' conference requests to focus@auth.<H>. */
  focusComponent: string;
  focusUser: string;
  focusJid: string;
  jvbUser: string;
  jvbJid: string;
}

/** Localpart of the brewery room; clients and jicofo compare it case-folded, we keep it as upstream spells it. */
export const BREWERY_ROOM = 'JvbBrewery';
/** Clients hard-code the focus user name, so it is not configurable. */
export const FOCUS_USER = 'focus';
export const JVB_USER = 'jvb';

export function xmppNames(hostname: string): XmppNames {
  const authDomain = `auth.${hostname}`;
  const internalMuc = `internal.${authDomain}`;
  return {
    domain: hostname,
    guestDomain: `guest.${hostname}`,
    authDomain,
    conferenceMuc: `conference.${hostname}`,
    internalMuc,
    breweryJid: `${BREWERY_ROOM}@${internalMuc}`,
    focusComponent: `focus.${hostname}`,
    focusUser: FOCUS_USER,
    focusJid: `${FOCUS_USER}@${authDomain}`,
    jvbUser: JVB_USER,
    jvbJid: `${JVB_USER}@${authDomain}`,
  };
}

/**
 * A videobridge on another host: its own account on auth.<H> (revocable alone) and its nickname
 * in the brewery. The prefix keeps it apart from this host's own bridge (`jvb`) and from focus.
 */
export function remoteBridgeAccount(hostname: string, name: string): { username: string; jid: string; nickname: string } {
  const username = `${JVB_USER}-${name}`;
  return { username, jid: `${username}@${xmppNames(hostname).authDomain}`, nickname: username };
}

/** Ports every component agrees on on an all-in-one host (the README lists the public ones for firewalls). */
export const PORTS = {
  http: 80,
  https: 443,
  /**
   * prosody c2s: jicofo and the videobridge log in here on loopback; with bridges on other
   * hosts also on the internal address, for their accounts only.
   */
  xmppClient: 5222,
  /** prosody HTTP (BOSH, websocket), loopback only, behind nginx. */
  prosodyHttp: 5280,
  /** coturn STUN and TURN over UDP and TCP. */
  turn: 3478,
  /** coturn TURN over TLS. */
  turns: 5349,
  /** videobridge media (ICE over UDP). */
  jvbMedia: 10000,
  /** videobridge public HTTP server (colibri websockets), loopback only, behind nginx. */
  jvbHttp: 9090,
  /** jicofo REST (health), loopback only. */
  jicofoRest: 8888,
} as const;

export const LOOPBACK = '127.0.0.1';

/** The colibri websocket server id of the videobridge; nginx proxies /colibri-ws/<id>/ to it. */
export const JVB_SERVER_ID = 'default-id';

/** Public URLs of prosody's HTTP endpoints, as browsers see them through nginx. */
export function publicUrls(hostname: string): { bosh: string; websocket: string; colibriWebsocketDomain: string } {
  return {
    bosh: `https://${hostname}/http-bind`,
    websocket: `wss://${hostname}/xmpp-websocket`,
    colibriWebsocketDomain: `${hostname}:${PORTS.https}`,
  };
}

/** Path of the web app's config.js for a host. */
export function webConfigPath(hostname: string): string {
  return `/etc/jitsi/meet/${hostname}-config.js`;
}

/**
 * Characters a generated secret may hold. The secrets module makes base64url and hex strings;
 * anything else would need quoting rules in six formats (Lua, HOCON, JS, coturn's key=value),
 * and a secret that one format reads differently from another is exactly the mismatch this
 * configurator exists to prevent. So other characters are refused rather than escaped.
 */
const SAFE_SECRET = /^[A-Za-z0-9_\-+/=.~]{16,}$/;

export type SecretKey = keyof MasterConfig['secrets'];

/** The secret, or an error naming its key and how to get a usable one. */
export function secret(config: MasterConfig, key: SecretKey): string {
  const value = config.secrets[key];
  if (!SAFE_SECRET.test(value)) {
    throw new Error(
      `secrets.${key} in the master config must be at least 16 characters of letters, digits and - _ + / = . ~ ` +
        `(it is generated that way); run jitsi-meet-config --rotate-secrets to replace it`,
    );
  }
  return value;
}

/** The image's media address is not the public one: the videobridge and coturn must map. */
export function behindNat(config: MasterConfig): boolean {
  return config.internal_ip !== config.external_ip;
}
