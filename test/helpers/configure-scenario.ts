/**
 * The issue-3 acceptance scenario against a real booted image, shared by
 * test/integration/configure-systemd.test.ts and configure-openrc.test.ts: boot the cached test
 * image in a fresh network namespace, run `jitsi-meet-config --answers` inside, then talk to the
 * server from outside the container (same namespace, host programs) the way clients do.
 *
 * The namespace gets a veth pair with 10.77.0.2 besides loopback: TURN needs an address that is
 * not loopback (coturn refuses to relay to loopback peers), and the master config needs an
 * external address. Everything else goes through 127.0.0.1, where /etc/hosts in the container
 * (localhost_alias) also puts the hostname.
 */
import { X509Certificate } from 'node:crypto';
import { lstat, readFile, readdir, readlink, writeFile, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import yaml from 'js-yaml';
import { bootContainer, type Container } from '../../src/boot/index.js';
import { authTls, webTls } from '../../src/configurator/paths.js';
import { evaluateWebConfig, parseHocon } from './generated-files.js';
import type { InitSystem } from '../../src/lib/init-systems.js';
import { testImage, PROJECT_ROOT } from './images.js';
import type { ProbeReport, ProbeRequest, XmppLogin } from './jitsi-probe.js';
import { createNetns, type Netns } from './netns.js';
import { scratchDir } from './scratch.js';

export const HOST = 'meet.jitsi.test';
export const ADDRESS = '10.77.0.2';
/** Answers for a LAN-only server on the namespace's address, with a self-signed certificate. */
export const LAN_ANSWERS = {
  hostname: HOST,
  external_ip: ADDRESS,
  internal_ip: ADDRESS,
  localhost_alias: true,
  write_etc_hostname: true,
  jvb_max_memory: '512m',
  convener: { username: 'admin' },
  tls: { mode: 'self-signed' },
} as const;
const PROBE = join(PROJECT_ROOT, 'test/helpers/jitsi-probe.ts');
const CONFIGURE_TIMEOUT_MS = 240_000;

/**
 * Gives the network namespace `ns` the LAN address ADDRESS on one end of a veth pair whose
 * other end stays in it too (a LAN nobody else is on): what the answers' internal and public
 * address must be one of, since a container on the host's network sees the namespace's.
 */
export async function giveLanAddress(ns: string): Promise<void> {
  const ip = (...args: string[]) => execa('ip', ['-n', ns, ...args]);
  await ip('link', 'add', 'jm0', 'type', 'veth', 'peer', 'name', 'jm1');
  await ip('addr', 'add', `${ADDRESS}/24`, 'dev', 'jm0');
  await ip('link', 'set', 'jm0', 'up');
  await ip('link', 'set', 'jm1', 'up');
}

export interface Credentials {
  focus: string;
  jvb: string;
  convener: { username: string; password: string };
  /** prosody's external_service_secret: what clients' TURN credentials are derived from. */
  turnSecret: string;
  breweryJid: string;
}

export class Scenario {
  container!: Container;
  ns!: Netns;
  scratch!: string;
  /** The hostname the server is configured for: what the probe, credentials and trust anchors are read for. */
  host = HOST;
  private readonly cleanups: Array<() => Promise<unknown>> = [];

  /** `image`: boot this tarball and settings file instead of the cached test image of `init`. */
  constructor(
    readonly init: InitSystem,
    private readonly image?: { tarball: string; nspawn: string },
  ) {}

  /** Boots the image in its own namespace. Call `dispose` in `test.after.always`. */
  async start(): Promise<void> {
    const image = this.image ?? (await testImage(this.init));
    this.scratch = await scratchDir(`configure-${this.init}-`);
    this.ns = await createNetns(`cfg-${this.init === 'systemd' ? 'sd' : 'rc'}`);
    this.cleanups.push(() => this.ns.delete());
    await giveLanAddress(this.ns.name);
    this.container = await bootContainer({
      tarball: image.tarball,
      init: this.init,
      netns: this.ns.name,
      settingsFile: image.nspawn,
    });
    this.cleanups.push(() => this.container.dispose());
    await this.container.waitUntilUp();
  }

  async dispose(): Promise<void> {
    const errors: unknown[] = [];
    for (const cleanup of this.cleanups.reverse()) await cleanup().catch((error: unknown) => errors.push(error));
    this.cleanups.length = 0;
    if (errors.length > 0) throw errors[0];
  }

  /** Registers something to undo in `dispose` (before the container and namespace go). */
  onDispose(cleanup: () => Promise<unknown>): void {
    this.cleanups.push(cleanup);
  }

  path(imagePath: string): string {
    return join(this.container.rootfs, imagePath);
  }

  /** Writes an answers file into the container and runs the configurator on it. */
  async configure(answers: Record<string, unknown>, extraArgs: string[] = [], env: Record<string, string> = {}) {
    await writeFile(this.path('/root/answers.yaml'), yaml.dump(answers));
    const result = await this.container.exec(['jitsi-meet-config', '--answers', '/root/answers.yaml', ...extraArgs], {
      timeoutMs: CONFIGURE_TIMEOUT_MS,
      reject: false,
      env,
    });
    if (result.exitCode !== 0) {
      throw new Error(`jitsi-meet-config exited with ${result.exitCode}:\n${result.stdout}\n${result.stderr}\n--- console:\n${await this.container.logTail(40)}`);
    }
    return result;
  }

  /** Passwords as the components read them: from the generated jicofo.conf, jvb.conf and prosody config. */
  async credentials(): Promise<Credentials> {
    const jicofo = (await parseHocon(await readFile(this.path('/etc/jitsi/jicofo/jicofo.conf'), 'utf8'))).jicofo;
    const jvb = (await parseHocon(await readFile(this.path('/etc/jitsi/videobridge/jvb.conf'), 'utf8'))).videobridge;
    const shards = Object.values(jvb.apis['xmpp-client'].configs) as Array<Record<string, string>>;
    if (shards.length !== 1) throw new Error(`jvb.conf has ${shards.length} xmpp-client configs, expected 1`);
    const shard = shards[0]!;
    if (jicofo.xmpp.client.username !== 'focus' || shard.USERNAME !== 'jvb') throw new Error('unexpected focus/jvb user names');
    const master = yaml.load(await readFile(this.path('/etc/jitsi/master-config.yaml'), 'utf8')) as { convener: { username: string; password: string } };
    const prosodyHost = await readFile(this.path(`/etc/prosody/conf.avail/${this.host}.cfg.lua`), 'utf8');
    const turnSecret = /^external_service_secret\s*=\s*"([^"]+)"/m.exec(prosodyHost)?.[1];
    if (!turnSecret) throw new Error('no external_service_secret in the prosody config');
    return {
      focus: String(jicofo.xmpp.client.password),
      jvb: String(shard.PASSWORD),
      convener: master.convener,
      turnSecret,
      breweryJid: String(jicofo.bridge['brewery-jid']),
    };
  }

  /** config.js as a browser would evaluate it, read from the container's file (to compare with what is served). */
  async webConfigOnDisk(): Promise<Record<string, any>> {
    return evaluateWebConfig(await readFile(this.path(`/etc/jitsi/meet/${this.host}-config.js`), 'utf8'));
  }

  /** A CA file holding the generated web and auth certificates (trust anchors for the probe). */
  async trustFile(extra: string[] = []): Promise<string> {
    const file = join(this.scratch, `ca-${Date.now()}.pem`);
    const parts = [webTls(this.host).cert, authTls(this.host).cert].map((path) => readFile(this.path(path), 'utf8'));
    await writeFile(file, [...(await Promise.all(parts)), ...extra].join('\n'));
    return file;
  }

  /** Runs the client probe inside the namespace (outside the container). */
  async probe(request: Omit<ProbeRequest, 'host' | 'address'>, trust?: string): Promise<ProbeReport> {
    const result = await this.ns.exec([process.execPath, '--import', 'tsx', PROBE], {
      input: JSON.stringify({ host: this.host, address: '127.0.0.1', ...request }),
      // Set explicitly: this machine presets it to the system bundle.
      env: { NODE_EXTRA_CA_CERTS: trust ?? (await this.trustFile()) },
      timeoutMs: 180_000,
    });
    return JSON.parse(result.stdout) as ProbeReport;
  }

  /** The logins of the acceptance criteria: focus and jvb into the brewery, the convener opens a room, a guest joins it. */
  clientLogins(credentials: Credentials, webConfig: Record<string, any>): XmppLogin[] {
    const hosts = webConfig.hosts as { domain: string; anonymousdomain: string; muc: string };
    const authDomain = credentials.breweryJid.split('@')[1]!.replace(/^internal\./, '');
    const websocket = String(webConfig.websocket);
    return [
      { name: 'focus', service: 'xmpp://127.0.0.1:5222', domain: authDomain, username: 'focus', password: credentials.focus, join: [`${credentials.breweryJid}/focus`] },
      { name: 'jvb', service: 'xmpp://127.0.0.1:5222', domain: authDomain, username: 'jvb', password: credentials.jvb, join: [`${credentials.breweryJid}/jvb-probe`] },
      {
        name: 'convener',
        service: websocket,
        domain: hosts.domain,
        username: credentials.convener.username,
        password: credentials.convener.password,
        join: [`probe-room@${hosts.muc}/convener`],
      },
      // Guests log in anonymously on hosts.anonymousdomain (the secure domain's guest host).
      { name: 'guest', service: websocket, domain: hosts.anonymousdomain ?? hosts.domain, join: [`probe-room@${hosts.muc}/guest`, `guest-own-room@${hosts.muc}/guest`] },
    ];
  }

  /** A TURN allocation on coturn with credentials derived from `secret` (turnutils_uclient -W). */
  async turnAllocation(secret: string): Promise<{ ok: boolean; output: string }> {
    const result = await this.ns.exec(['turnutils_uclient', '-v', '-W', secret, '-n', '0', '-m', '1', '-e', ADDRESS, ADDRESS], {
      reject: false,
      timeoutMs: 60_000,
    });
    const output = `${result.stdout}\n${result.stderr}`;
    return { ok: result.exitCode === 0 && /Received relay addr/.test(output), output: output.slice(-1500) };
  }

  /** Fingerprint of the certificate nginx serves on 443 for the hostname. */
  async servedCertificate(): Promise<X509Certificate> {
    const result = await this.ns.exec(['openssl', 's_client', '-connect', '127.0.0.1:443', '-servername', this.host, '-showcerts'], {
      input: '',
      reject: false,
      timeoutMs: 30_000,
    });
    const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(result.stdout)?.[0];
    if (!pem) throw new Error(`no certificate from 127.0.0.1:443: ${result.stderr}`);
    return new X509Certificate(pem);
  }

  /**
   * Every file the configurator owns or touches, with bytes, mode, owner and mtime: equal
   * snapshots mean nothing was written at all.
   */
  async snapshot(): Promise<Map<string, string>> {
    const roots = [
      '/etc/jitsi', '/etc/prosody', '/etc/nginx', '/etc/turnserver.conf', '/etc/default/coturn', '/etc/hosts', '/etc/hostname',
      '/etc/group', '/etc/ssl/certs', '/usr/local/share/ca-certificates', '/var/lib/prosody', '/etc/letsencrypt',
      '/etc/systemd/system', '/etc/runlevels',
    ];
    const result = new Map<string, string>();
    const visit = async (path: string): Promise<void> => {
      const info = await lstat(path).catch(() => undefined);
      if (!info) return;
      if (info.isDirectory()) {
        for (const entry of (await readdir(path)).sort()) await visit(join(path, entry));
      } else if (info.isSymbolicLink()) {
        result.set(path, `link ${await readlink(path)}`);
      } else if (info.isFile()) {
        result.set(path, `${info.mode.toString(8)} ${info.uid}:${info.gid} ${info.mtimeMs} ${(await readFile(path)).toString('base64')}`);
      }
    };
    for (const root of roots) await visit(this.path(root));
    return result;
  }
}

/** Local ACME server (Debian's pebble) with pebble-challtestsrv answering every DNS query with 127.0.0.1, in the namespace. */
export async function startPebble(scenario: Scenario): Promise<{ directory: string; caFileInContainer: string; rootCa: () => Promise<string> }> {
  const dir = join(scenario.scratch, 'pebble');
  await execa('mkdir', ['-p', dir]);
  await execa('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=pebble', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ]);
  await writeFile(
    join(dir, 'config.json'),
    JSON.stringify({
      pebble: {
        listenAddress: '127.0.0.1:14000',
        managementListenAddress: '127.0.0.1:15000',
        certificate: join(dir, 'cert.pem'),
        privateKey: join(dir, 'key.pem'),
        // Validate http-01 on the real port 80: the container's nginx answers it from the webroot.
        httpPort: 80,
        tlsPort: 443,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  const spawn = (argv: string[], env: Record<string, string> = {}): ResultPromise => {
    const child = execa('ip', ['netns', 'exec', scenario.ns.name, ...argv], { env, reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' });
    scenario.onDispose(async () => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
      await child;
    });
    return child;
  };
  spawn(['pebble-challtestsrv', '-dns01', '127.0.0.1:8053', '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', '127.0.0.1:8055', '-defaultIPv6', '']);
  spawn(['pebble', '-config', join(dir, 'config.json'), '-dnsserver', '127.0.0.1:8053'], { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' });
  // Wait until the directory answers.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const up = await scenario.ns.exec(['openssl', 's_client', '-connect', '127.0.0.1:14000'], { input: '', reject: false, timeoutMs: 10_000 });
    if (up.stdout.includes('BEGIN CERTIFICATE')) break;
    if (Date.now() > deadline) throw new Error('pebble did not start listening on 127.0.0.1:14000');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const caFileInContainer = '/root/pebble-tls.pem';
  await copyFile(join(dir, 'cert.pem'), scenario.path(caFileInContainer));
  return {
    directory: 'https://127.0.0.1:14000/dir',
    caFileInContainer,
    // Root of the chains pebble issues (a new one on every pebble start), from its management API.
    rootCa: async () => {
      const fetched = await scenario.ns.exec(
        [process.execPath, '-e', "require('https').get('https://127.0.0.1:15000/roots/0',{ca:require('fs').readFileSync(process.argv[1])},r=>r.pipe(process.stdout))", join(dir, 'cert.pem')],
        { timeoutMs: 30_000 },
      );
      return fetched.stdout;
    },
  };
}
