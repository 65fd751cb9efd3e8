/**
 * A stand-in for Jitsi's apt repository, built by the tests themselves, because the real one
 * is not reachable from our build and CI machines.
 *
 *   const key = await createSigningKey();                       // throwaway gpg key
 *   const repo = await buildStandinRepo({ dir, version: 'v1', signingKey: key });
 *   const served = await serveRepo(repo.dir);                   // http://127.0.0.1:<port>
 *   // deb [signed-by=<key.keyring>] <served.url> stable/
 *   ...; await served.close(); await key.dispose();
 *
 * What is real-like:
 * - the repository: flat, `stable/` with Packages, Packages.gz, Release, a clearsigned
 *   InRelease and a detached Release.gpg, checked by apt's own gpgv against `signed-by`;
 * - the packages jicofo, jitsi-videobridge2, jitsi-meet-web and jitsi-meet-prosody: Jitsi's
 *   names, version numbers (v1 = stable 11146; v2 = a made-up later release with higher
 *   versions), Architecture all, and the Depends that matter (a JRE 17/21 alternative,
 *   prosody >= 0.12, the Lua libraries of jitsi-meet-prosody, debconf, adduser);
 * - the maintainer scripts' side effects, debconf-driven from `jitsi-videobridge/jvb-hostname`:
 *   group jitsi and system users jvb and jicofo; /etc/jitsi/videobridge/{config,jvb.conf} and
 *   /etc/jitsi/jicofo/{config,jicofo.conf} with generated passwords (dirs 0750 owned by the
 *   service user and group jitsi); /var/log/jitsi 0770; /etc/sysctl.d/20-jvb-udp-buffers.conf;
 *   jitsi-videobridge2.service enabled through deb-systemd-helper (no sysv script);
 *   /etc/init.d/jicofo only (no unit), running jicofo.sh as user jicofo; the prosody host file
 *   for <H> with its link and the Include line; certificates for <H> and auth.<H>, the auth one
 *   in /usr/local/share/ca-certificates and the CA store; accounts focus and jvb on auth.<H>;
 *   focus@auth.<H>'s roster subscribed to focus.<H>;
 * - what breaks upgrades (v1 and v2 alike): jicofo's postinst, on EVERY configure, sets
 *   client-proxy in jicofo.conf to focus.<debconf hostname> and rewrites
 *   /etc/jitsi/jicofo/config unless it defines JICOFO_HOSTNAME, JICOFO_AUTH_DOMAIN,
 *   JICOFO_AUTH_USER and JICOFO_AUTH_PASSWORD for that hostname; jitsi-meet-prosody's
 *   re-subscribes the roster and creates a host file for the debconf hostname if it has none;
 * - the daemons: jicofo.jar and jitsi-videobridge.jar (one small Java program, compiled here
 *   from daemon/StandinDaemon.java) started by the real launch path (init script or unit ->
 *   jicofo.sh / jvb.sh -> java -Xmx... $JAVA_SYS_PROPS, -Dconfig.file= the real config file)
 *   as their users. They read the real keys (jicofo.xmpp.client.{hostname, port, domain,
 *   username, password, client-proxy, disable-certificate-verification},
 *   jicofo.bridge.brewery-jid, jicofo.rest.{host,port}; videobridge.apis.xmpp-client.configs.
 *   <shard>.{HOSTNAME, PORT, DOMAIN, USERNAME, PASSWORD, MUC_JIDS, MUC_NICKNAME,
 *   DISABLE_CERTIFICATE_VERIFICATION}, videobridge.http-servers.private.{host,port}), log in
 *   over c2s with STARTTLS and SCRAM-SHA-1 (certificate checked against the JRE's store, i.e.
 *   the system CA store, and the XMPP domain, unless verification is disabled), join the
 *   brewery (the bridge with its nickname and colibri stats, as a bridge presents itself),
 *   answer GET /about/health (bridge 127.0.0.1:8080, jicofo 127.0.0.1:8888; jicofo is healthy
 *   only once a bridge is in the brewery, as the real one) and exit with status 1 when they
 *   cannot log in or join (2 when an established connection drops);
 * - prosody plugins (under /usr/share/jitsi-meet/prosody-plugins/; tested with bookworm's
 *   prosody 0.12; they use only module APIs that prosody 13 still has, but no test here runs
 *   prosody 13): FUNCTIONAL are mod_roster_command
 *   (`prosodyctl mod_roster_command subscribe A B`: subscription "both" in the roster of each
 *   side that is an account), mod_client_proxy (forwards stanzas for focus.<H> to the session
 *   of target_address that announced its presence, and the answers back) and
 *   mod_auth_jitsi-anonymous (SASL ANONYMOUS logins). LOAD ONLY (they load and do nothing):
 *   the modules in LOAD_ONLY_PLUGINS (muc_domain_mapper, muc_rate_limit,
 *   muc_password_whitelist, muc_lobby_rooms, muc_breakout_rooms, muc_meeting_id, muc_hide_all,
 *   speakerstats(_component), conference_duration(_component), end_conference,
 *   av_moderation(_component), room_metadata(_component), polls, features_identity,
 *   limits_exception).
 *
 * What is simplified:
 * - no Jitsi code or text; the Java daemons do none of the media or conference work: jicofo
 *   answers a conference request (http://jitsi.org/protocol/focus) with ready=true once it
 *   sees a bridge, and nothing else; the bridge only sits in the brewery; only the first
 *   xmpp-client shard is used; neither reconnects (the real ones do);
 * - HOCON is read by a small parser (objects, dotted keys, = or :, quoted/unquoted scalars,
 *   arrays of scalars, comments); `include` and substitutions are ignored;
 * - jicofo's postinst edits client-proxy with sed (the real one uses a HOCON tool): a key
 *   `client-proxy` (bare, quoted or dotted) anywhere in jicofo.conf gets the new value, else a
 *   dotted line is appended;
 * - certificates are made with openssl (self-signed, RSA 2048, SAN <name> and *.<name>) instead
 *   of `prosodyctl cert generate`; no jaas.cfg.lua; the sysctl file is applied only where
 *   /proc/sys is writable (never in a container); jitsi-meet-web holds placeholders only;
 * - the debconf templates carry only the questions the scripts use.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { buildDaemonJar, buildPackage, PACKAGE_NAMES, VERSIONS, type PackageName, type StandinVersion } from './packages.js';
import { scratchDir } from '../scratch.js';
import { createSigningKey, serveRepo, SUITE, writeIndices, type ServedRepo, type SigningKey } from './repo.js';

export { createSigningKey, serveRepo, SUITE, type ServedRepo, type SigningKey } from './repo.js';
export { FUNCTIONAL_PLUGINS, LOAD_ONLY_PLUGINS, PACKAGE_NAMES, VERSIONS, type PackageName, type StandinVersion } from './packages.js';

export interface StandinRepo {
  /** Archive root: serve this directory; the suite is `stable/` below it. */
  dir: string;
  version: StandinVersion;
  /** The .deb of each package. */
  debs: Record<PackageName, string>;
}

/**
 * Builds the repository for one version set into `dir` (created; its `stable/` replaced).
 * `versions` builds several sets into one repository (apt then sees every version, as in
 * Jitsi's repository, and installs the newest unless told otherwise); `version` alone builds one.
 */
export async function buildStandinRepo(options: { dir: string; version: StandinVersion; signingKey: SigningKey; extraVersions?: StandinVersion[] }): Promise<StandinRepo> {
  const suiteDir = join(options.dir, SUITE);
  await rm(suiteDir, { recursive: true, force: true });
  await mkdir(suiteDir, { recursive: true });
  const work = await mkdtemp(join(tmpdir(), 'standin-build-'));
  try {
    const jar = join(work, 'standin-daemon.jar');
    await buildDaemonJar(jar, work);
    const debs = {} as Record<PackageName, string>;
    for (const version of [options.version, ...(options.extraVersions ?? [])]) {
      for (const name of PACKAGE_NAMES) {
        const deb = await buildPackage(name, version, work, suiteDir, jar);
        if (version === options.version) debs[name] = deb;
      }
    }
    await writeIndices(options.dir, options.signingKey, `Jitsi stand-in ${options.version} (tests only)`);
    return { dir: options.dir, version: options.version, debs };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** `name=version` arguments for apt-get install of one version set. */
export function pinnedPackages(version: StandinVersion): string[] {
  return PACKAGE_NAMES.map((name) => `${name}=${VERSIONS[version][name]}`);
}

/**
 * For a test file that needs the stand-in repository (v1) served on loopback: registers the
 * test.before that makes the signing key, builds and serves the repository, and the
 * test.after.always that stops serving it and removes the key. Read `key` and `served` inside
 * tests (they are set once test.before has run).
 */
export function serveStandinRepoForTests(test: { before(fn: () => Promise<void>): void; after: { always(fn: () => Promise<void>): void } }): {
  readonly key: SigningKey;
  readonly served: ServedRepo;
} {
  let key: SigningKey | undefined;
  let served: ServedRepo | undefined;
  test.before(async () => {
    key = await createSigningKey();
    const dir = await scratchDir('standin-repo-');
    await buildStandinRepo({ dir, version: 'v1', signingKey: key });
    served = await serveRepo(dir);
  });
  test.after.always(async () => {
    await served?.close();
    await key?.dispose();
  });
  return {
    get key() {
      if (!key) throw new Error('the stand-in repository is made in test.before; read it inside a test');
      return key;
    },
    get served() {
      if (!served) throw new Error('the stand-in repository is made in test.before; read it inside a test');
      return served;
    },
  };
}
