/**
 * The additional-videobridge role (`jitsi-meet-config --role bridge`): the same image on another
 * host runs only jitsi-videobridge2, which logs in to the main server with its own account and
 * joins the main server's brewery, where jicofo finds it.
 *
 * Asked: the join token (printed by `--add-bridge NAME` on the main server), the address of the
 * main server's prosody (the token's by default), this host's external and internal address and
 * the bridge's memory. Before anything is written, the main server's auth certificate is fetched
 * over STARTTLS and must have the fingerprint the token names; the bridge then trusts exactly
 * that certificate (CA store) and verifies it at every login. Nothing of the main server's
 * components (nginx, prosody, coturn, jicofo) is configured, enabled or started here.
 */
import { readFile } from 'node:fs/promises';
import yaml from 'js-yaml';
import { formatIssue, object, optional, oneOf, SchemaError, string, validate, yamlSyntaxIssue, type Issue, type Schema } from '../lib/schema.js';
import { invalidConfigError, MASTER_CONFIG_MODE, ordered, parseConfigText } from './config-file.js';
import { loadYamlWithPositions } from '../lib/yaml-positions.js';
import { UserError } from '../lib/errors.js';
import { applyPlan } from './apply/apply-plan.js';
import { applySummary } from './apply/index.js';
import { writeFileAtomic, type WriteOutcome } from './apply/files.js';
import { waitForBoot } from './apply/services.js';
import type { ApplyOptions, ApplyReport } from './apply/types.js';
import { bridgeConfigSchema, certificateSha256, decodeJoinToken, sha256Fingerprint, type BridgeConfig, type JoinToken } from './bridge-config.js';
import { emptyPlan, type ServerPlan } from './components/index.js';
import { LOOPBACK, remoteBridgeAccount, xmppNames } from './components/names.js';
import { bridgePlan } from './components/videobridge/index.js';
import { fail, httpStatus, JVB_PRIVATE_HTTP_PORT, pass } from './check/checks.js';
import { initSaysRunning } from './check/facts.js';
import type { Check } from './check/types.js';
import { XmppSession } from './check/xmpp.js';
import type { DistributionLayout } from './distribution.js';
import { readDistribution } from './os-release.js';
import { caStoreCopy } from './paths.js';
import type { Prompter } from './prompts.js';
import { checkIp, checkMemory, isPublicAddress } from './validators.js';

/** The unit that starts what a bridge runs (overlays: a systemd target, an OpenRC service). */
export const BRIDGE_UNIT = 'jitsi-meet-bridge';

/** What an answers file of the bridge role may hold. */
export const bridgeAnswersSchema = object(
  {
    role: oneOf(['bridge'] as const, { doc: 'Configure this machine as an additional videobridge.' }),
    join_token: string({ doc: 'The line `jitsi-meet-config --add-bridge NAME` printed on the main server.' }),
    main_address: optional(string({ doc: 'Address of the main server\'s prosody, when this host reaches it elsewhere than the token says.', check: checkIp })),
    external_ip: optional(string({ doc: 'Address clients reach this bridge at.', check: checkIp })),
    internal_ip: optional(string({ doc: 'Address of this machine\'s interface (external_ip by default).', check: checkIp })),
    jvb_max_memory: optional(string({ doc: 'Maximum Java heap of the videobridge [1024m].', check: checkMemory })),
  },
  { doc: 'Answers for an additional videobridge' },
);

export interface BridgeAnswers {
  token: JoinToken;
  mainAddress: string;
  externalIp: string;
  internalIp: string;
  maxMemory: string;
}

/** The answers of an answers file in the bridge role, or every problem with file and line. */
export async function loadBridgeAnswers(file: string, primaryAddress: string | undefined): Promise<BridgeAnswers | Issue[]> {
  let loaded;
  try {
    loaded = loadYamlWithPositions(await readFile(file, 'utf8'), file);
  } catch (error) {
    return [yamlSyntaxIssue(error)];
  }
  const result = validate(bridgeAnswersSchema, loaded.value, loaded.lineOf);
  if (!result.ok) return result.issues;
  const token = decodeJoinToken(result.value.join_token);
  if (typeof token === 'string') return [{ path: 'join_token', line: loaded.lineOf(loaded.value, 'join_token'), message: token }];
  const externalIp = result.value.external_ip ?? primaryAddress;
  if (!externalIp) return [{ path: 'external_ip', message: 'this machine has no global address to default to: give external_ip' }];
  return {
    token,
    mainAddress: result.value.main_address ?? token.address,
    externalIp,
    internalIp: result.value.internal_ip ?? externalIp,
    maxMemory: result.value.jvb_max_memory ?? '1024m',
  };
}

/** Asks the bridge's questions, each checked as it is typed. */
export async function askBridgeQuestions(prompter: Prompter, primaryAddress: string | undefined): Promise<BridgeAnswers> {
  let token: JoinToken | undefined;
  while (!token) {
    const typed = await prompter.text('Join token (the line `jitsi-meet-config --add-bridge NAME` printed on the main server)', undefined);
    const decoded = decodeJoinToken(typed);
    if (typeof decoded === 'string') prompter.say(decoded);
    else token = decoded;
  }
  const ask = async (prompt: string, fallback: string | undefined, check: (value: string) => string | undefined) => {
    for (;;) {
      const value = await prompter.text(prompt, fallback);
      const problem = check(value);
      if (!problem) return value;
      prompter.say(problem);
    }
  };
  const mainAddress = await ask(`Address of the main server ${token.hostname} (its prosody, port ${token.port})`, token.address, checkIp);
  const externalIp = await ask('External IP address of this bridge (clients send media to it)', primaryAddress, checkIp);
  const internalIp = await ask('Internal IP address of this bridge (its interface; differs behind NAT)', externalIp, checkIp);
  const maxMemory = await ask('Maximum memory of the videobridge (k, m or g)', '1024m', checkMemory);
  return { token, mainAddress, externalIp, internalIp, maxMemory };
}

/**
 * The bridge's master config: the token's facts plus the main server's certificate, fetched now
 * and refused unless its fingerprint is the token's.
 */
export async function bridgeConfigFrom(answers: BridgeAnswers, timeoutMs = 10_000): Promise<BridgeConfig> {
  const { token } = answers;
  const authDomain = xmppNames(token.hostname).authDomain;
  let der: Uint8Array;
  try {
    der = await XmppSession.serverCertificate({ host: answers.mainAddress, port: token.port, domain: authDomain, timeoutMs });
  } catch (error) {
    throw new UserError(
      `cannot reach the main server's prosody at ${answers.mainAddress}:${token.port} (${(error as Error).message}): ` +
        `on the main server, allow TCP ${token.port} from this host's address (README: Adding videobridges), then run this again; nothing was changed`,
    );
  }
  const presented = sha256Fingerprint(der);
  if (presented !== token.certificateSha256) {
    throw new UserError(
      `the server at ${answers.mainAddress}:${token.port} presented a certificate for ${authDomain} with SHA-256 ${presented}, ` +
        `but the join token names ${token.certificateSha256}: this is not the main server that made the token (or its certificate changed: ` +
        `make a new token with --remove-bridge ${token.name} and --add-bridge ${token.name} there); nothing was changed`,
    );
  }
  const pem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
  const config: BridgeConfig = {
    role: 'bridge',
    main: { hostname: token.hostname, address: answers.mainAddress, port: token.port, brewery: token.brewery, certificate_sha256: token.certificateSha256, certificate: pem },
    bridge: { name: token.name, password: token.password },
    external_ip: answers.externalIp,
    internal_ip: answers.internalIp,
    jvb_max_memory: answers.maxMemory,
  };
  const result = validate(bridgeConfigSchema, config, () => undefined);
  if (!result.ok) throw new Error(`the bridge's answers made an invalid config: ${result.issues.map((issue) => formatIssue('answers', issue)).join('; ')}`);
  return result.value;
}

/** Everything a bridge host runs: the videobridge, logging in to the main server, trusting its certificate. */
export function planBridge(config: BridgeConfig, distribution: DistributionLayout): ServerPlan {
  const plan = emptyPlan(BRIDGE_UNIT, distribution);
  const names = xmppNames(config.main.hostname);
  const account = remoteBridgeAccount(config.main.hostname, config.bridge.name);
  const trusted = caStoreCopy(config.main.hostname);
  const part = bridgePlan({
    domain: names.domain,
    xmpp: {
      host: config.main.address,
      port: config.main.port,
      authDomain: names.authDomain,
      username: account.username,
      password: config.bridge.password,
      brewery: config.main.brewery,
      nickname: account.nickname,
      verifyCertificate: true,
    },
    externalIp: config.external_ip,
    internalIp: config.internal_ip,
    maxMemory: config.jvb_max_memory,
    requireValidAddress: isPublicAddress(config.external_ip),
    trusts: trusted,
  });
  // The main server's auth.<H> certificate, pinned by the token: the bridge's JRE trusts it through the CA store.
  plan.files = [...part.files, { path: trusted, content: config.main.certificate, mode: 0o644 }].sort((a, b) => (a.path < b.path ? -1 : 1));
  plan.services = part.services ?? [];
  plan.directories = part.directories ?? [];
  plan.kernelSettings = part.kernelSettings ?? [];
  return plan;
}

/** Writes and starts the bridge's plan (see apply-plan.ts); the same safety as a main server's apply. */
export async function applyBridge(config: BridgeConfig, options: ApplyOptions): Promise<ApplyReport> {
  if (options.init !== 'none') await waitForBoot(options.init, options.log);
  const report = await applyPlan(planBridge(config, readDistribution(options.root)), [], options);
  options.log(applySummary(report));
  return report;
}

// ---------------------------------------------------------------- the bridge's master config file

const HEADER = [
  '# Master config of an additional videobridge, written by jitsi-meet-config --role bridge.',
  '# The videobridge\'s configuration is generated from it: edit it and run `jitsi-meet-config',
  '# --reapply`. The password and the main server\'s certificate came with the join token.',
  '',
].join('\n');

export function serializeBridgeConfig(config: BridgeConfig): string {
  return HEADER + yaml.dump(ordered(bridgeConfigSchema as Schema<unknown>, config), { lineWidth: -1, noRefs: true, sortKeys: false, quotingType: '"' });
}

export function writeBridgeConfig(path: string, config: BridgeConfig): Promise<WriteOutcome> {
  return writeFileAtomic(path, serializeBridgeConfig(config), { mode: MASTER_CONFIG_MODE });
}

export function parseBridgeConfig(text: string, file: string): BridgeConfig {
  const config = parseConfigText(bridgeConfigSchema, text, file);
  if (certificateSha256(config.main.certificate) !== config.main.certificate_sha256) {
    throw new SchemaError(file, [{ path: 'main.certificate', message: 'does not have the fingerprint main.certificate_sha256: put both back as the join token made them' }]);
  }
  return config;
}

/** The `role` key of a YAML file: absent when the file is missing, undefined when it has none or is not YAML (its reader says why). */
async function roleKeyOf(path: string): Promise<{ role: unknown } | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const value = yaml.load(text) as { role?: unknown } | null;
    return { role: value && typeof value === 'object' ? value.role : undefined };
  } catch {
    return { role: undefined };
  }
}

/** Whether an answers file asks for a role (`role: bridge` or `role: main`), without judging the rest. */
export async function answersFileRole(file: string): Promise<'main' | 'bridge' | undefined> {
  const role = (await roleKeyOf(file))?.role;
  return role === 'bridge' || role === 'main' ? role : undefined;
}

/** The role a master config file is written for; undefined when there is none. */
export async function configFileRole(path: string): Promise<'main' | 'bridge' | undefined> {
  const found = await roleKeyOf(path);
  return found === undefined ? undefined : found.role === 'bridge' ? 'bridge' : 'main';
}

export async function readBridgeConfig(path: string): Promise<BridgeConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UserError(`cannot read the bridge's master config ${path}: ${(error as Error).message}`);
  }
  try {
    return parseBridgeConfig(text, path);
  } catch (error) {
    if (error instanceof SchemaError) throw invalidConfigError(path, error, "the bridge's master config");
    throw error;
  }
}

/** The config safe to print: the password masked, the certificate shortened to its fingerprint. */
export function maskedBridgeConfig(config: BridgeConfig): string {
  return serializeBridgeConfig({ ...config, bridge: { ...config.bridge, password: '********' }, main: { ...config.main, certificate: `(the certificate with SHA-256 ${config.main.certificate_sha256})` } });
}

// ---------------------------------------------------------------- --check in the bridge role

/** The checks of a bridge host: its videobridge runs, is healthy, and its account logs in to the main server over the pinned TLS. */
export const BRIDGE_CHECKS: readonly Check<BridgeConfig>[] = [
  {
    name: 'service:jitsi-videobridge2',
    what: 'the videobridge runs',
    needs: [],
    fix: 'run `jitsi-meet-config --reapply`, then read /var/log/jitsi/jvb.log',
    async run(ctx) {
      return (await initSaysRunning(ctx.init, 'jitsi-videobridge2'))
        ? pass('jitsi-videobridge2 is running')
        : fail('jitsi-videobridge2 is not running', ctx.init === 'systemd' ? 'run `systemctl start jitsi-meet-bridge.target` and read `journalctl -u jitsi-videobridge2`' : 'run `rc-service jitsi-meet-bridge start` and read /var/log/jitsi/jvb.log');
    },
  },
  {
    name: 'bridge:login',
    what: 'the bridge account logs in to the main server over TLS with the pinned certificate',
    needs: [],
    fix: 'on the main server: `jitsi-meet-config --list-bridges` must list this bridge and TCP 5222 must be open from this host',
    async run(ctx) {
      const { main, bridge } = ctx.config;
      const account = remoteBridgeAccount(main.hostname, bridge.name);
      const domain = xmppNames(main.hostname).authDomain;
      let session: XmppSession;
      try {
        session = await XmppSession.login({ host: main.address, port: main.port, domain, username: account.username, password: bridge.password, timeoutMs: ctx.timeoutMs }, `check-${Date.now().toString(36)}`);
      } catch (error) {
        return fail(`${account.jid} cannot log in at ${main.address}:${main.port}: ${(error as Error).message}`, `on the main server, \`jitsi-meet-config --list-bridges\` must list ${bridge.name} (else add it again and configure this bridge with the new token), and TCP ${main.port} must be open from this host`);
      }
      const presented = session.certificate ? sha256Fingerprint(session.certificate) : 'none';
      session.close();
      if (presented !== main.certificate_sha256) {
        return fail(`${main.address}:${main.port} presents SHA-256 ${presented}, not the pinned ${main.certificate_sha256}`, 'the main server\'s auth certificate changed: make a new token there (--remove-bridge, --add-bridge) and configure this bridge with it');
      }
      return pass(`${account.jid} logs in at ${main.address}:${main.port} (certificate as pinned)`);
    },
  },
  {
    name: 'health:videobridge',
    what: 'the videobridge reports itself healthy',
    needs: ['service:jitsi-videobridge2'],
    fix: 'read /var/log/jitsi/jvb.log',
    async run(ctx) {
      const url = `http://${LOOPBACK}:${JVB_PRIVATE_HTTP_PORT}/about/health`;
      // A bridge (re)started a moment ago is unhealthy until its login and brewery join are
      // done, which takes a few seconds across hosts: ask again for a while before judging.
      const deadline = Date.now() + 2 * ctx.timeoutMs;
      let answer = await httpStatus(url, ctx.timeoutMs);
      while (answer.status !== 200 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        answer = await httpStatus(url, ctx.timeoutMs);
      }
      return answer.status === 200 ? pass(`${url} answers 200`) : fail(`${url} answers ${answer.status ?? answer.error}`, 'read /var/log/jitsi/jvb.log: a bridge that cannot log in to the main server is unhealthy');
    },
  },
];
