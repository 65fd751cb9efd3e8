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
import { checkServer, exitCode as checkExitCode, formatResults, resultsJson, runningInit, summaryLine } from './check/index.js';

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
}

async function plan(options: ConfiguratorOptions, io: ConfiguratorIo, configPath: string, network: NetworkSnapshot | undefined): Promise<Plan | number> {
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
  if (options.show) {
    // Prints data only: no SUCCESS line to get in the way of a pipe.
    try {
      const config = await readMasterConfig(configPath);
      if (!config) throw new UserError(`there is no master config at ${configPath} yet: run ${PROGRAM} to configure first`);
      io.stdout.write(serializeMasterConfig(maskedConfig(config)));
      return 0;
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      io.stderr.write(`${PROGRAM}: ${error.message}\n`);
      return error.exitCode;
    }
  }
  if (options.check) {
    // Reads only: no run lock, no SUCCESS line (its own last line says how it went).
    try {
      const config = await readMasterConfig(configPath);
      if (!config) throw new UserError(`there is no master config at ${configPath}: run ${PROGRAM} to configure first`);
      const init = runningInit(options.root);
      if (!init) throw new UserError('--check looks at the running server: run it inside the booted container (no systemd or OpenRC runs here)');
      const results = await checkServer(config, init);
      if (options.json) io.stdout.write(resultsJson(results, config.hostname, new Date()));
      else io.stdout.write(`${formatResults(results)}${PROGRAM}: ${checkExitCode(results) === 0 ? 'OK' : 'PROBLEMS'}: ${summaryLine(results)}.\n`);
      return checkExitCode(results);
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      io.stderr.write(`${PROGRAM}: ${error.message}\n`);
      return error.exitCode;
    }
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
    const planned = await plan(options, io, configPath, network);
    if (typeof planned === 'number') {
      return planned === 0 ? planned : finalLine(io, planned, 'the answers are not valid; nothing was changed.');
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
