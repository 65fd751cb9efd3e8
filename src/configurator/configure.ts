/**
 * What `jitsi-meet-config` does, start to end: work out the answers (asked, from a file, or
 * all defaults), add the secrets (kept, or fresh on first configure or with
 * --rotate-secrets), write the master config, and hand it to the apply step.
 *
 * Nothing is written before every answer is known and valid: an invalid answers file or
 * stdin ending mid-flow leaves the system as it was.
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import yaml from 'js-yaml';
import { formatIssue } from '../lib/schema.js';
import { systemErrorAsUserError, UserError } from '../lib/errors.js';
import { loadAnswersFile, resolveAnswers } from './answers.js';
import { applyConfiguration, type ApplyInit } from './apply/index.js';
import { helpText, parseConfiguratorArgs, PROGRAM, UsageError, VERSION, type ConfiguratorOptions } from './cli.js';
import { readMasterConfig, serializeMasterConfig, writeMasterConfig } from './config-file.js';
import { crossFieldProblems, type MasterConfig } from './master-config.js';
import { MASTER_CONFIG_PATH } from './paths.js';
import { askQuestions, LineReader, Prompter } from './prompts.js';
import { APPLY_QUESTION, buildMasterConfig, QUESTIONS, REUSE_QUESTION, WRITE_QUESTION, type Answers, type Environment } from './questions.js';
import { hostNetworkProblem, internalAddressProblem, readNetworkSnapshot, type NetworkSnapshot } from './network-check.js';
import { maskedConfig, PLACEHOLDER_SECRETS, secretsForRun } from './secrets.js';
import { pathInRoot } from './validators.js';
import { removeLeftovers } from './apply/files.js';
import { acquireRunLock, LOCK_PATH } from './run-lock.js';
import { runAptHook } from './apt-hook.js';
import { currentDpkgLogPosition, recordDpkgLogPosition } from './package-changes.js';
import { checkContext, checkServer, exitCode as checkExitCode, formatResults, resultsJson, runningInit, summaryLine } from './check/index.js';
import { runChecks } from './check/run.js';
import type { CheckResult } from './check/types.js';
import {
  answersFileRole,
  applyBridge,
  askBridgeQuestions,
  BRIDGE_CHECKS,
  bridgeConfigFrom,
  configFileRole,
  loadBridgeAnswers,
  maskedBridgeConfig,
  readBridgeConfig,
  writeBridgeConfig,
  type BridgeAnswers,
} from './bridge-role.js';
import { certificateSha256, encodeJoinToken, type BridgeConfig } from './bridge-config.js';
import { PORTS, remoteBridgeAccount, xmppNames } from './components/names.js';
import { authTls } from './paths.js';
import { generateBridgePassword } from './secrets.js';

export interface ConfiguratorIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** stdin is a terminal: the terminal echoes answers, so we do not. */
  stdinIsTerminal: boolean;
}

/** The machine's first global address: IPv4 preferred, no loopback or link-local. */
export function primaryAddress(): string | undefined {
  const all = Object.values(networkInterfaces()).flatMap((entries) => entries ?? []);
  const global = all.filter((entry) => !entry.internal);
  const v4 = global.find((entry) => entry.family === 'IPv4' && !entry.address.startsWith('169.254.'));
  if (v4) return v4.address;
  return global.find((entry) => entry.family === 'IPv6' && !/^fe[89ab]/i.test(entry.address))?.address;
}

async function environment(root: string, previous: MasterConfig | undefined): Promise<Environment> {
  const etcHostname = await readFile(pathInRoot(root, '/etc/hostname'), 'utf8')
    .then((text) => text.split('\n')[0].trim() || undefined)
    .catch(() => undefined);
  return { root, etcHostname, primaryAddress: primaryAddress(), previous };
}

/** Init system to drive: none when working on a root prefix (tests, builds), else what is running. */
function detectInit(root: string): ApplyInit {
  if (root !== '/') return 'none';
  if (existsSync('/run/systemd/system')) return 'systemd';
  if (existsSync('/run/openrc') || existsSync('/sbin/openrc-run')) return 'openrc';
  return 'none';
}

function answersYaml(answers: Answers): string {
  const built = buildMasterConfig(answers, PLACEHOLDER_SECRETS);
  if (!built.ok) return '';
  const { secrets: _secrets, ...shown } = built.config;
  return yaml.dump(JSON.parse(JSON.stringify(shown)), { lineWidth: -1, sortKeys: false });
}

interface Plan {
  config: MasterConfig;
  rotated: boolean;
  apply: boolean;
  /** The master config before this run, if any (the apply step removes an old host's files). */
  previous?: MasterConfig;
  /** `--add-bridge`: the bridge whose join token to print once applied. */
  addedBridge?: string;
}

/** The admin chose the bridge role at the first question: the bridge's own answers follow. */
interface BridgeChosen {
  bridge: BridgeAnswers;
}

const ROLE_QUESTION = 'Is this machine the main server, or an additional videobridge of a main server elsewhere? (main/bridge)';

async function plan(options: ConfiguratorOptions, io: ConfiguratorIo, configPath: string, network: NetworkSnapshot | undefined): Promise<Plan | BridgeChosen | number> {
  // Before any question: a container on the wrong network is found out at once, not after twelve answers.
  const networkProblem = network && !options.noApply ? hostNetworkProblem(network) : undefined;
  if (networkProblem) throw new UserError(networkProblem);
  const previous = await readMasterConfig(configPath, { secretsBeingReplaced: options.rotateSecrets });
  const env = await environment(options.root, previous);
  const withSecrets = (answers: Answers) => {
    const { secrets, rotated } = secretsForRun(previous?.secrets, options.rotateSecrets);
    const built = buildMasterConfig(answers, secrets);
    // The questions check every answer as it is given, so a problem here is a bug in the flow, not bad input.
    const issues = built.ok ? crossFieldProblems(built.config) : built.issues;
    if (!built.ok || issues.length > 0) {
      throw new Error(`the answers did not make a valid master config: ${issues.map((i) => formatIssue(configPath, i)).join('; ')}`);
    }
    return { config: built.config, rotated };
  };
  const reuse = (config: MasterConfig) => {
    const { secrets, rotated } = secretsForRun(config.secrets, options.rotateSecrets);
    return { config: { ...config, secrets }, rotated };
  };

  if (options.answers || options.yes) {
    if (options.yes && previous) return { ...reuse(previous), apply: !options.noApply, previous };
    const outcome = options.answers ? await loadAnswersFile(options.answers, env) : resolveAnswers(undefined, env);
    if (!outcome.ok) {
      const source = options.answers ?? '--yes';
      io.stderr.write(`${PROGRAM}: the answers are not valid; nothing was written:\n`);
      for (const issue of outcome.issues) io.stderr.write(`  ${formatIssue(source, issue)}\n`);
      return 2;
    }
    const { answers, defaulted } = outcome.resolved;
    const result = withSecrets(answers);
    if (defaulted.has('convener.password') && !previous) {
      io.stdout.write(`Generated password of the convener ${result.config.convener.username}: ${result.config.convener.password}\n`);
      io.stdout.write(`(note it down; it is also in ${configPath})\n`);
    }
    return { ...result, apply: !options.noApply, previous };
  }

  if (options.addBridge || options.removeBridge) {
    if (!previous) throw new UserError(`there is no master config at ${configPath}: configure this main server first (${PROGRAM}), then add bridges`);
    const bridges = previous.bridges ?? [];
    if (options.addBridge) {
      if (bridges.some((bridge) => bridge.name === options.addBridge)) {
        throw new UserError(`${options.addBridge} is already a bridge of this server (see --list-bridges); to give it a new token, --remove-bridge ${options.addBridge} first`);
      }
      const config = { ...previous, bridges: [...bridges, { name: options.addBridge, password: generateBridgePassword() }] };
      return { config, rotated: false, apply: true, previous, addedBridge: options.addBridge };
    }
    if (!bridges.some((bridge) => bridge.name === options.removeBridge)) {
      throw new UserError(`${options.removeBridge} is not a bridge of this server (${bridges.length === 0 ? 'it has none' : `it has ${bridges.map((bridge) => bridge.name).join(', ')}`}); nothing was changed`);
    }
    const rest = bridges.filter((bridge) => bridge.name !== options.removeBridge);
    const { bridges: _removed, ...withoutBridges } = previous;
    return { config: rest.length > 0 ? { ...previous, bridges: rest } : withoutBridges, rotated: false, apply: true, previous };
  }

  if (options.reapply) {
    if (!previous) throw new UserError(`there is no master config at ${configPath} to re-apply: run ${PROGRAM} to configure first`);
    return { ...reuse(previous), apply: true, previous };
  }

  if (options.rotateSecrets) {
    if (!previous) throw new UserError(`there is no master config at ${configPath} yet: run ${PROGRAM} to configure first`);
    return { ...reuse(previous), apply: !options.noApply, previous };
  }

  const reader = new LineReader(io.stdin);
  const prompter = new Prompter(reader, io.stdout, !io.stdinIsTerminal);
  try {
    if (previous && (await prompter.yesNo(`${REUSE_QUESTION} (${previous.hostname}, ${configPath})`, true))) {
      const apply = !options.noApply && (await prompter.yesNo(APPLY_QUESTION, true));
      return { ...reuse(previous), apply, previous };
    }
    if (!previous && options.role === undefined) {
      prompter.say('Enter accepts the default in brackets.');
      for (;;) {
        const role = (await prompter.text(ROLE_QUESTION, 'main')).toLowerCase();
        if (role === 'bridge') return { bridge: await askBridgeQuestions(prompter, env.primaryAddress) };
        if (role === 'main') break;
        prompter.say('answer main or bridge');
      }
    }
    if (!previous) prompter.say(`Configuring this Jitsi Meet server. Enter accepts the default in brackets.`);
    const answers = await askQuestions(QUESTIONS, prompter, env);
    prompter.say('\nThe configuration (secrets are generated and not shown):');
    prompter.say(answersYaml(answers).trimEnd().replace(/^/gm, '  '));
    if (!(await prompter.yesNo(WRITE_QUESTION(configPath), true))) {
      prompter.say('Nothing was written.');
      io.stdout.write(`${PROGRAM}: SUCCESS: nothing was changed, as asked.\n`);
      return 0;
    }
    const apply = !options.noApply && (await prompter.yesNo(APPLY_QUESTION, true));
    return { ...withSecrets(answers), apply, previous };
  } finally {
    reader.close();
  }
}

/** A command that only reads (--show, --check, --list-bridges): a UserError is its message and exit code, and no SUCCESS line follows. */
async function readOnlyCommand(io: ConfiguratorIo, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    io.stderr.write(`${PROGRAM}: ${error.message}\n`);
    return error.exitCode;
  }
}

/** `--check`'s report: one line per check and a last line in words, or JSON; the exit status. */
function reportChecks(io: ConfiguratorIo, results: CheckResult[], hostname: string, json: boolean): number {
  if (json) io.stdout.write(resultsJson(results, hostname, new Date()));
  else io.stdout.write(`${formatResults(results)}${PROGRAM}: ${checkExitCode(results) === 0 ? 'OK' : 'PROBLEMS'}: ${summaryLine(results)}.\n`);
  return checkExitCode(results);
}

/**
 * The last line of every configuring run says plainly how it ended: through `machinectl shell`
 * (systemd 252) the exit status does not reach the admin, so this line is what they go by.
 */
function finalLine(io: ConfiguratorIo, code: number, detail: string): number {
  (code === 0 ? io.stdout : io.stderr).write(`${PROGRAM}: ${code === 0 ? 'SUCCESS' : 'FAILED'}: ${detail}\n`);
  return code;
}

export async function runConfigurator(argv: readonly string[], io: ConfiguratorIo): Promise<number> {
  let options: ConfiguratorOptions;
  try {
    options = parseConfiguratorArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`${PROGRAM}: ${error.message}\nRun '${PROGRAM} --help' for usage.\n`);
      return finalLine(io, 2, 'bad command line; nothing was changed.');
    }
    throw error;
  }
  if (options.help) {
    io.stdout.write(helpText());
    return 0;
  }
  if (options.version) {
    io.stdout.write(`${PROGRAM} ${VERSION}\n`);
    return 0;
  }
  const configPath = options.config ?? pathInRoot(options.root, MASTER_CONFIG_PATH);
  if (options.aptHook) return runAptHook({ root: options.root, config: options.config, runConfigurator }, io.stdout);
  if (options.listBridges) {
    return readOnlyCommand(io, async () => {
      if ((await configFileRole(configPath)) === 'bridge') throw new UserError('this machine is an additional videobridge: list the bridges on the main server');
      const config = await readMasterConfig(configPath);
      if (!config) throw new UserError(`there is no master config at ${configPath} yet: run ${PROGRAM} to configure first`);
      const bridges = config.bridges ?? [];
      if (bridges.length === 0) io.stdout.write(`No bridges on other hosts; add one with ${PROGRAM} --add-bridge NAME.\n`);
      for (const bridge of bridges) io.stdout.write(`${bridge.name}\t${remoteBridgeAccount(config.hostname, bridge.name).jid}\n`);
      return 0;
    });
  }
  if ((options.show || options.check) && (await configFileRole(configPath)) === 'bridge') {
    return readOnlyCommand(io, async () => {
      const config = await readBridgeConfig(configPath);
      if (options.show) {
        io.stdout.write(maskedBridgeConfig(config));
        return 0;
      }
      const init = runningInit(options.root);
      if (!init) throw new UserError('--check looks at the running bridge: run it inside the booted container (no systemd or OpenRC runs here)');
      return reportChecks(io, await runChecks(BRIDGE_CHECKS, checkContext(config, init)), config.main.hostname, options.json);
    });
  }
  if (options.show) {
    // Prints data only: no SUCCESS line to get in the way of a pipe.
    return readOnlyCommand(io, async () => {
      const config = await readMasterConfig(configPath);
      if (!config) throw new UserError(`there is no master config at ${configPath} yet: run ${PROGRAM} to configure first`);
      io.stdout.write(serializeMasterConfig(maskedConfig(config)));
      return 0;
    });
  }
  if (options.check) {
    // Reads only: no run lock, no SUCCESS line (its own last line says how it went).
    return readOnlyCommand(io, async () => {
      const config = await readMasterConfig(configPath);
      if (!config) throw new UserError(`there is no master config at ${configPath}: run ${PROGRAM} to configure first`);
      const init = runningInit(options.root);
      if (!init) throw new UserError('--check looks at the running server: run it inside the booted container (no systemd or OpenRC runs here)');
      return reportChecks(io, await checkServer(config, init), config.hostname, options.json);
    });
  }
  /** Becomes true once the master config may have been written: from then on a failure is not "nothing changed". */
  let touched = false;
  let releaseLock: (() => void) | undefined;
  try {
    releaseLock = acquireRunLock(pathInRoot(options.root, LOCK_PATH), PROGRAM);
    // A run killed while writing the master config leaves a temporary copy, secrets and all.
    await removeLeftovers([dirname(configPath)]);
    // Package changes dpkg logs from here on are the next apt hook's to look at.
    const dpkgLogAtStart = await currentDpkgLogPosition(options.root);
    // Read only when about to apply: --no-apply writes the master config alone.
    const network = options.noApply ? undefined : await readNetworkSnapshot(options.root);
    const fileRole = await configFileRole(configPath);
    const wantedRole = options.role ?? (options.answers ? await answersFileRole(options.answers) : undefined);
    if ((options.addBridge || options.removeBridge) && fileRole === 'bridge') {
      throw new UserError('this machine is an additional videobridge: add and remove bridges on the main server');
    }
    if (wantedRole !== undefined && fileRole !== undefined && wantedRole !== fileRole && !options.rotateSecrets) {
      throw new UserError(
        `this machine is configured as ${fileRole === 'bridge' ? 'an additional videobridge' : 'the main server'} (${configPath}); ` +
          `to make it ${wantedRole === 'bridge' ? 'a bridge' : 'the main server'} instead, move that file away first`,
      );
    }
    if ((wantedRole ?? fileRole) === 'bridge') {
      if (options.rotateSecrets) throw new UserError('a bridge has no secrets of its own to rotate: its password comes from the main server (--remove-bridge and --add-bridge there make a new one)');
      return await configureBridge(options, io, configPath, network, fileRole === 'bridge' ? await readBridgeConfig(configPath) : undefined, undefined, dpkgLogAtStart, () => {
        touched = true;
      });
    }
    const planned = await plan(options, io, configPath, network);
    if (typeof planned === 'number') {
      return planned === 0 ? planned : finalLine(io, planned, 'the answers are not valid; nothing was changed.');
    }
    if ('bridge' in planned) {
      return await configureBridge(options, io, configPath, network, undefined, planned.bridge, dpkgLogAtStart, () => {
        touched = true;
      });
    }
    // The internal address is checked on a real system only: under a root prefix (tests,
    // images being prepared) this machine's addresses are not the server's.
    if (planned.apply && network && options.root === '/') {
      const problem = internalAddressProblem(network, planned.config.internal_ip, configPath);
      if (problem) throw new UserError(problem);
    }
    touched = true;
    const outcome = await writeMasterConfig(configPath, planned.config);
    io.stdout.write(
      outcome === 'unchanged' ? `${configPath} is unchanged.\n` : `Wrote ${configPath}${planned.rotated ? ' with new secrets' : ''}.\n`,
    );
    if (!planned.apply) {
      io.stdout.write(`Not applied: run ${PROGRAM} again and re-use the configuration to build the component configurations.\n`);
      return finalLine(io, 0, `the configuration is in ${configPath}; it is not applied yet.`);
    }
    // The apply step logs what it wrote, removed and restarted; its failures are UserErrors.
    const init = detectInit(options.root);
    await applyConfiguration(planned.config, {
      root: options.root,
      init,
      previousConfig: planned.previous,
      rotatedSecrets: planned.rotated,
      log: (line) => io.stdout.write(`${line}\n`),
    });
    if (dpkgLogAtStart) await recordDpkgLogPosition(options.root, dpkgLogAtStart);
    const state = init === 'none' ? 'configured (no init system here: services were not started)' : 'configured and running';
    let checked = '';
    if (init !== 'none') {
      // The summary: what --check says about the server just configured. It does not change
      // how the run ended (the configuration was applied), but the last line says what failed.
      io.stdout.write('Checking the server (jitsi-meet-config --check):\n');
      const results = await checkServer(planned.config, init);
      io.stdout.write(formatResults(results));
      checked = `; checks: ${summaryLine(results)}${checkExitCode(results) === 0 ? '' : ' (the fixes are above)'}`;
    }
    if (planned.addedBridge) {
      const auth = await readFile(pathInRoot(options.root, authTls(planned.config.hostname).cert), 'utf8');
      const bridge = planned.config.bridges!.find((entry) => entry.name === planned.addedBridge)!;
      const token = encodeJoinToken({
        hostname: planned.config.hostname,
        address: planned.config.internal_ip,
        port: PORTS.xmppClient,
        name: bridge.name,
        password: bridge.password,
        brewery: xmppNames(planned.config.hostname).breweryJid,
        certificateSha256: certificateSha256(auth),
      });
      io.stdout.write(
        `\nJoin token of the bridge ${bridge.name} (it holds the bridge's password: copy it to the bridge host, keep it private):\n${token}\n` +
          `On the bridge host: ${PROGRAM} --role bridge, and paste it. Allow TCP ${PORTS.xmppClient} to ${planned.config.internal_ip} from the bridge's address (README: Adding videobridges).\n`,
      );
    }
    if (options.removeBridge) io.stdout.write(`The bridge ${options.removeBridge} can no longer log in (its account is deleted).\n`);
    return finalLine(io, 0, `the server https://${planned.config.hostname}/ is ${state}${checked}; \`${PROGRAM} --show\` prints the configuration.`);
  } catch (caught) {
    const error = caught instanceof UserError ? caught : systemErrorAsUserError(caught);
    if (!error) throw caught;
    io.stderr.write(`${PROGRAM}: ${error.message}\n`);
    return finalLine(io, error.exitCode, touched ? 'see the message above; run it again once that is fixed.' : 'nothing was changed.');
  } finally {
    releaseLock?.();
  }
}

/**
 * The bridge role, start to end: the answers (asked, from a file, or the existing config),
 * the main server's certificate fetched and checked against the token, the config written,
 * the videobridge applied and started, and the bridge's checks as the summary.
 */
async function configureBridge(
  options: ConfiguratorOptions,
  io: ConfiguratorIo,
  configPath: string,
  network: NetworkSnapshot | undefined,
  previous: BridgeConfig | undefined,
  asked: BridgeAnswers | undefined,
  dpkgLogAtStart: Awaited<ReturnType<typeof currentDpkgLogPosition>>,
  markTouched: () => void,
): Promise<number> {
  const networkProblem = network && !options.noApply ? hostNetworkProblem(network) : undefined;
  if (networkProblem) throw new UserError(networkProblem);
  let config: BridgeConfig | undefined;
  let answers = asked;
  if (!answers && options.answers) {
    const loaded = await loadBridgeAnswers(options.answers, primaryAddress());
    if (Array.isArray(loaded)) {
      io.stderr.write(`${PROGRAM}: the answers are not valid; nothing was written:\n`);
      for (const issue of loaded) io.stderr.write(`  ${formatIssue(options.answers, issue)}\n`);
      return finalLine(io, 2, 'the answers are not valid; nothing was changed.');
    }
    answers = loaded;
  }
  if (!answers) {
    if (previous && (options.reapply || options.yes)) config = previous;
    else if (options.reapply || options.yes) {
      throw new UserError(`the bridge role needs the main server's join token: run ${PROGRAM} --role bridge and paste it, or give --answers FILE with join_token`);
    } else {
      const reader = new LineReader(io.stdin);
      const prompter = new Prompter(reader, io.stdout, !io.stdinIsTerminal);
      try {
        if (previous && (await prompter.yesNo(`${REUSE_QUESTION} (bridge ${previous.bridge.name} of ${previous.main.hostname}, ${configPath})`, true))) config = previous;
        else {
          prompter.say('Configuring this machine as an additional videobridge. Enter accepts the default in brackets.');
          answers = await askBridgeQuestions(prompter, primaryAddress());
        }
      } finally {
        reader.close();
      }
    }
  }
  if (!config) {
    io.stdout.write(`Fetching the certificate of ${answers!.token.hostname}'s prosody at ${answers!.mainAddress}:${answers!.token.port}...\n`);
    config = await bridgeConfigFrom(answers!);
    io.stdout.write(`Its certificate has the SHA-256 the token names (${config.main.certificate_sha256}).\n`);
  }
  if (network && options.root === '/' && !options.noApply) {
    const problem = internalAddressProblem(network, config.internal_ip, configPath);
    if (problem) throw new UserError(problem);
  }
  markTouched();
  const outcome = await writeBridgeConfig(configPath, config);
  io.stdout.write(outcome === 'unchanged' ? `${configPath} is unchanged.\n` : `Wrote ${configPath}.\n`);
  if (options.noApply) return finalLine(io, 0, `the bridge's configuration is in ${configPath}; it is not applied yet.`);
  const init = detectInit(options.root);
  await applyBridge(config, { root: options.root, init, log: (line) => io.stdout.write(`${line}\n`) });
  // Package changes dpkg logged before this run are applied now: the apt hook need not re-apply for them.
  if (dpkgLogAtStart) await recordDpkgLogPosition(options.root, dpkgLogAtStart);
  const account = remoteBridgeAccount(config.main.hostname, config.bridge.name);
  let checked = '';
  if (init !== 'none') {
    io.stdout.write('Checking the bridge (jitsi-meet-config --check):\n');
    const results = await runChecks(BRIDGE_CHECKS, checkContext(config, init));
    io.stdout.write(formatResults(results));
    checked = `; checks: ${summaryLine(results)}${checkExitCode(results) === 0 ? '' : ' (the fixes are above)'}`;
  }
  const state = init === 'none' ? 'configured (no init system here: the videobridge was not started)' : 'configured and running';
  return finalLine(io, 0, `this videobridge (${account.jid}) is ${state}, for ${config.main.hostname} at ${config.main.address}:${config.main.port}${checked}.`);
}
