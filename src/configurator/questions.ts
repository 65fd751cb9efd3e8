/**
 * The questions of `jitsi-meet-config`, as data. The interactive prompts and the
 * non-interactive `--answers FILE` / `--yes` both walk this one list in this order, so a key
 * left out of an answers file takes exactly the default the prompt would have offered, and
 * a check that rejects typed input also rejects the same value in a file.
 *
 * Answers are kept flat, by master-config key (`tls.mode`, `convener.username`); secrets are
 * not among them: they are generated, never asked for.
 */
import { defaultAt, validate, type Issue } from '../lib/schema.js';
import { masterConfigSchema, type MasterConfig } from './master-config.js';
import { generatePassphrase } from './secrets.js';
import {
  checkCertificateFile,
  checkEmail,
  checkHostname,
  checkIp,
  checkKeyMatchesCertificate,
  checkMemory,
  checkPassword,
  checkUsername,
  isLocalHostname,
  isPublicAddress,
  isPublicHostname,
} from './validators.js';

export type AnswerValue = string | boolean;

/** Answers so far, by dotted master-config key. */
export type Answers = Record<string, AnswerValue | undefined>;

/** What the defaults depend on besides earlier answers. */
export interface Environment {
  /** Root prefix the configurator works on: `/` in the image, a temporary directory in tests. */
  root: string;
  /** Content of `<root>/etc/hostname`, trimmed, when present. */
  etcHostname?: string;
  /** The machine's first global address, when it has one. */
  primaryAddress?: string;
  /** The master config of an earlier run: its values become the defaults. */
  previous?: MasterConfig;
}

/** A failed check: the message, and optionally the question to go back to (a key that does not fit its certificate). */
export type CheckResult = string | { message: string; askAgainFrom: string } | undefined;

export interface Question {
  /** Unique name; the text questions use their master-config key. */
  id: string;
  /** The master-config key this question decides: the key an answers file gives instead. */
  key: string;
  kind: 'text' | 'yesno';
  prompt(answers: Answers): string;
  /** Asked only when this holds; otherwise the key takes `skipped` (or stays unset). */
  when?(answers: Answers, env: Environment): boolean;
  skipped?(answers: Answers, env: Environment): AnswerValue | undefined;
  /** The bracketed default; undefined means the admin has to type something. */
  defaultAnswer(answers: Answers, env: Environment): AnswerValue | undefined;
  /** Text questions: is the typed (or given) value acceptable? */
  check?(value: string, answers: Answers, env: Environment): CheckResult;
  /** Yes/no questions: the config value a y or n stands for. */
  configValue?(yes: boolean): AnswerValue;
}

export const LOOPBACK = '127.0.0.1';

const asString = (value: AnswerValue | undefined): string => (typeof value === 'string' ? value : '');

/** The previous run's value, but only while it still fits: an address of a `localhost` setup is no default for a real host. */
function previousAddress(env: Environment, pick: (config: MasterConfig) => string): string | undefined {
  if (!env.previous || isLocalHostname(env.previous.hostname)) return undefined;
  return pick(env.previous);
}

const ownCertificate: Question = {
  id: 'tls.own',
  key: 'tls.mode',
  kind: 'yesno',
  prompt: () => 'Use your own TLS key and certificate (instead of a self-signed one or Let\'s Encrypt)?',
  defaultAnswer: (_answers, env) => env.previous?.tls.mode === 'own',
  configValue: (yes) => (yes ? 'own' : 'self-signed'),
};

function letsEncryptPossible(answers: Answers): boolean {
  return isPublicHostname(asString(answers.hostname)) && isPublicAddress(asString(answers.external_ip));
}

export const QUESTIONS: readonly Question[] = [
  {
    id: 'hostname',
    key: 'hostname',
    kind: 'text',
    prompt: () => 'Hostname of the server (localhost or a fully qualified domain name like meet.example.org)',
    defaultAnswer: (_answers, env) => {
      if (env.previous) return env.previous.hostname;
      const name = env.etcHostname?.toLowerCase();
      return name && !checkHostname(name) ? name : 'localhost';
    },
    check: (value) => checkHostname(value),
  },
  {
    id: 'external_ip',
    key: 'external_ip',
    kind: 'text',
    prompt: () => 'External IP address that clients connect to (a private address means no Let\'s Encrypt)',
    when: (answers) => !isLocalHostname(asString(answers.hostname)),
    skipped: () => LOOPBACK,
    defaultAnswer: (_answers, env) => previousAddress(env, (c) => c.external_ip) ?? env.primaryAddress ?? LOOPBACK,
    check: (value) => checkIp(value),
  },
  {
    id: 'internal_ip',
    key: 'internal_ip',
    kind: 'text',
    prompt: () => 'Internal IP address of this machine (differs from the external one behind NAT)',
    defaultAnswer: (answers, env) => {
      const previous = env.previous;
      if (previous && previous.external_ip === answers.external_ip && previousAddress(env, (c) => c.internal_ip)) {
        return previous.internal_ip;
      }
      return answers.external_ip;
    },
    check: (value) => checkIp(value),
  },
  {
    id: 'localhost_alias',
    key: 'localhost_alias',
    kind: 'yesno',
    prompt: (answers) => `Add ${asString(answers.hostname)} as an alias of 127.0.0.1 in /etc/hosts?`,
    defaultAnswer: (_answers, env) => env.previous?.localhost_alias ?? (defaultAt(masterConfigSchema, 'localhost_alias') as boolean),
  },
  {
    id: 'write_etc_hostname',
    key: 'write_etc_hostname',
    kind: 'yesno',
    prompt: (answers) => `Write ${asString(answers.hostname)} to /etc/hostname?`,
    defaultAnswer: (_answers, env) => env.previous?.write_etc_hostname ?? (defaultAt(masterConfigSchema, 'write_etc_hostname') as boolean),
  },
  {
    id: 'jvb_max_memory',
    key: 'jvb_max_memory',
    kind: 'text',
    prompt: () => 'Maximum memory of the videobridge (a number with k, m or g; at least 256m)',
    defaultAnswer: (_answers, env) => env.previous?.jvb_max_memory ?? (defaultAt(masterConfigSchema, 'jvb_max_memory') as string),
    check: (value) => checkMemory(value),
  },
  {
    id: 'convener.username',
    key: 'convener.username',
    kind: 'text',
    prompt: () => 'User name of the convener (the only user who may open a room; guests need no account)',
    defaultAnswer: (_answers, env) => env.previous?.convener.username ?? (defaultAt(masterConfigSchema, 'convener.username') as string),
    check: (value) => checkUsername(value),
  },
  {
    id: 'convener.password',
    key: 'convener.password',
    kind: 'text',
    prompt: (answers) => `Password of ${asString(answers['convener.username'])} (Enter takes the one in brackets: note it down)`,
    defaultAnswer: (_answers, env) => env.previous?.convener.password ?? generatePassphrase(),
    check: (value) => checkPassword(value),
  },
  ownCertificate,
  {
    id: 'tls.cert',
    key: 'tls.cert',
    kind: 'text',
    prompt: () => 'Path of your certificate (PEM, server certificate first, then the chain)',
    when: (answers) => answers['tls.mode'] === 'own',
    defaultAnswer: (answers, env) => (typeof answers['tls.cert'] === 'string' ? answers['tls.cert'] : env.previous?.tls.cert),
    check: (value, _answers, env) => checkCertificateFile(value, env.root),
  },
  {
    id: 'tls.key',
    key: 'tls.key',
    kind: 'text',
    prompt: () => 'Path of the matching private key (PEM, not encrypted)',
    when: (answers) => answers['tls.mode'] === 'own',
    defaultAnswer: (answers, env) => (typeof answers['tls.key'] === 'string' ? answers['tls.key'] : env.previous?.tls.key),
    check: (value, answers, env) => {
      const problem = checkKeyMatchesCertificate(value, asString(answers['tls.cert']), env.root);
      // A key that exists but belongs to another certificate: either path may be the wrong one.
      if (problem?.includes('are not a pair')) return { message: `${problem}; give both paths again`, askAgainFrom: 'tls.cert' };
      return problem;
    },
  },
  {
    id: 'tls.letsencrypt',
    key: 'tls.mode',
    kind: 'yesno',
    prompt: (answers) => `Get a certificate for ${asString(answers.hostname)} from Let's Encrypt (port 80 must be reachable from the internet)?`,
    when: (answers) => answers['tls.mode'] !== 'own' && letsEncryptPossible(answers),
    // An earlier answer counts only if the question was asked then (the old host was eligible too).
    defaultAnswer: (_answers, env) =>
      env.previous && letsEncryptPossible(answersOf(env.previous)) ? env.previous.tls.mode === 'letsencrypt' : true,
    configValue: (yes) => (yes ? 'letsencrypt' : 'self-signed'),
  },
  {
    id: 'letsencrypt.email',
    key: 'letsencrypt.email',
    kind: 'text',
    prompt: () => 'E-mail address for Let\'s Encrypt (expiry warnings go there)',
    when: (answers) => answers['tls.mode'] === 'letsencrypt',
    defaultAnswer: (_answers, env) => env.previous?.letsencrypt.email,
    check: (value) => checkEmail(value),
  },
];

/** Questions of the flow itself, asked around the list above. */
export const REUSE_QUESTION = 'Re-use the existing configuration?';
export const WRITE_QUESTION = (path: string) => `Write this configuration to ${path}?`;
export const APPLY_QUESTION = 'Build the component configurations from it and start the server?';

/** Keys an answers file may give that no question asks (advanced settings). */
export const UNASKED_KEYS = ['letsencrypt.server'] as const;

/** The default of a key no question asks: the previous run's value, else the schema default. */
export function unaskedDefault(key: (typeof UNASKED_KEYS)[number], env: Environment): AnswerValue {
  switch (key) {
    case 'letsencrypt.server':
      return env.previous?.letsencrypt.server ?? (defaultAt(masterConfigSchema, 'letsencrypt.server') as string);
  }
}

/** Flat answers plus secrets to a checked master config. */
export function buildMasterConfig(
  answers: Answers,
  secrets: MasterConfig['secrets'],
): { ok: true; config: MasterConfig } | { ok: false; issues: Issue[] } {
  const nested: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(answers)) {
    if (value === undefined) continue;
    const parts = key.split('.');
    let target = nested;
    for (const part of parts.slice(0, -1)) target = (target[part] ??= {}) as Record<string, unknown>;
    target[parts.at(-1)!] = value;
  }
  nested.secrets = secrets;
  const result = validate(masterConfigSchema, nested);
  return result.ok ? { ok: true, config: result.value } : { ok: false, issues: result.issues };
}

/** The flat answers a master config stands for (the inverse of buildMasterConfig, secrets aside). */
export function answersOf(config: MasterConfig): Answers {
  const answers: Answers = {};
  const walk = (value: unknown, prefix: string) => {
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      const path = prefix ? `${prefix}.${key}` : key;
      if (path === 'secrets') continue;
      if (inner !== null && typeof inner === 'object') walk(inner, path);
      else if (inner !== undefined) answers[path] = inner as AnswerValue;
    }
  };
  walk(config, '');
  return answers;
}

/** Whether a question is asked given the answers so far. */
export function isAsked(question: Question, answers: Answers, env: Environment): boolean {
  return question.when ? question.when(answers, env) : true;
}

/** A yes/no question's default as y/n. */
export function yesNoDefault(question: Question, answers: Answers, env: Environment): boolean {
  const value = question.defaultAnswer(answers, env);
  return typeof value === 'boolean' ? value : false;
}

export function checkMessage(result: CheckResult): string | undefined {
  return typeof result === 'object' ? result.message : result;
}
