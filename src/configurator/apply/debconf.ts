/**
 * Telling Jitsi's packages the real hostname and secrets through debconf. Their maintainer
 * scripts read debconf on every configure, upgrades included: jicofo's sets its client proxy
 * to focus.<debconf hostname> and rewrites its environment file for that host, and
 * jitsi-meet-prosody's makes a prosody host, certificates and accounts for it when it has
 * none. An image is built with a placeholder hostname there, so without this an
 * `apt-get upgrade` would point the server at the placeholder.
 *
 * Only questions whose templates a package registered are set (debconf-set-selections would
 * otherwise invent a template of its own), with the type that template has. Secrets go to
 * the programs on stdin, never on a command line, and are never logged.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { MasterConfig } from '../master-config.js';

/** A debconf question of Jitsi's packages and what it must hold. */
export interface DebconfAnswer {
  question: string;
  value: string;
  /** Shown in logs by name only. */
  secret: boolean;
}

/** What Jitsi's packages ask (jitsi-videobridge2, jicofo, jitsi-meet-prosody share the hostname). */
export function jitsiDebconfAnswers(config: MasterConfig): DebconfAnswer[] {
  return [
    { question: 'jitsi-videobridge/jvb-hostname', value: config.hostname, secret: false },
    { question: 'jitsi-videobridge/jvbsecret', value: config.secrets.jvb_password, secret: true },
    { question: 'jicofo/jicofo-authpassword', value: config.secrets.focus_password, secret: true },
    { question: 'jitsi-meet-prosody/turn-secret', value: config.secrets.turn_secret, secret: true },
  ];
}

/** Where debconf keeps its databases on a Debian system. */
const DEBCONF_DIR = '/var/cache/debconf';

/**
 * A debconf configuration for the system under `root` (not this machine's): the same
 * databases as Debian's default /etc/debconf.conf, with passwords apart (mode 0600).
 */
function debconfConfFor(root: string): string {
  const at = (name: string) => join(root, DEBCONF_DIR, name);
  return [
    'Config: configdb',
    'Templates: templatedb',
    '',
    'Name: config',
    'Driver: File',
    'Mode: 644',
    'Reject-Type: password',
    `Filename: ${at('config.dat')}`,
    '',
    'Name: passwords',
    'Driver: File',
    'Mode: 600',
    'Backup: false',
    'Required: false',
    'Accept-Type: password',
    `Filename: ${at('passwords.dat')}`,
    '',
    'Name: configdb',
    'Driver: Stack',
    'Stack: config, passwords',
    '',
    'Name: templatedb',
    'Driver: File',
    'Mode: 644',
    `Filename: ${at('templates.dat')}`,
    '',
  ].join('\n');
}

/** The environment debconf's programs get: this system's debconf, or the one under `root` through a configuration file of our own. */
export interface DebconfTarget {
  env: Record<string, string>;
  dispose(): Promise<void>;
}

export async function debconfTarget(root: string): Promise<DebconfTarget> {
  const base = { DEBIAN_FRONTEND: 'noninteractive' };
  if (root === '/') return { env: base, dispose: async () => {} };
  const dir = await mkdtemp(join(tmpdir(), 'jitsi-meet-config-debconf-'));
  const conf = join(dir, 'debconf.conf');
  await writeFile(conf, debconfConfFor(root), { mode: 0o600 });
  return { env: { ...base, DEBCONF_SYSTEMRC: conf }, dispose: () => rm(dir, { recursive: true, force: true }) };
}

/** One debconf-communicate reply line: status code and the rest. */
function reply(line: string | undefined): { code: number; text: string } {
  const match = /^(\d+)(?: (.*))?$/.exec(line ?? '');
  return match ? { code: Number(match[1]), text: match[2] ?? '' } : { code: -1, text: line ?? '' };
}

interface QuestionState {
  registered: boolean;
  type?: string;
  owner?: string;
  current?: string;
}

/** Asks debconf, in one conversation on stdin, for each question: is it registered, its type, an owner, its value. */
async function questionStates(questions: readonly string[], env: Record<string, string>): Promise<QuestionState[]> {
  const commands = questions.flatMap((question) => [`METAGET ${question} type`, `METAGET ${question} owners`, `GET ${question}`]);
  const result = await execa('debconf-communicate', [], { input: `${commands.join('\n')}\n`, env, reject: false, all: false });
  if (result.exitCode !== 0 && result.stdout.trim() === '') {
    throw new Error(`debconf-communicate failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
  }
  const lines = result.stdout.split('\n');
  return questions.map((_, index) => {
    const [type, owners, value] = [0, 1, 2].map((offset) => reply(lines[index * 3 + offset]));
    if (type.code !== 0) return { registered: false };
    return { registered: true, type: type.text, owner: owners.text.split(',')[0]?.trim() || undefined, current: value.code === 0 ? value.text : undefined };
  });
}

export type DebconfOutcome =
  | { kind: 'absent'; reason: string }
  | { kind: 'done'; set: string[]; unchanged: string[]; unregistered: string[] };

/**
 * Writes `answers` into the debconf of the system under `root`, each only when a package
 * registered its question and it holds something else. Returns what was set (question names).
 */
export async function writeDebconfAnswers(root: string, answers: readonly DebconfAnswer[]): Promise<DebconfOutcome> {
  if (!(await stat(join(root, DEBCONF_DIR, 'templates.dat')).then(() => true, () => false))) {
    return { kind: 'absent', reason: `no debconf database under ${join(root, DEBCONF_DIR)}` };
  }
  const target = await debconfTarget(root);
  try {
    let states: QuestionState[];
    try {
      states = await questionStates(answers.map((answer) => answer.question), target.env);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent', reason: 'debconf-communicate is not installed' };
      throw error;
    }
    const outcome = { kind: 'done' as const, set: [] as string[], unchanged: [] as string[], unregistered: [] as string[] };
    const selections: string[] = [];
    answers.forEach((answer, index) => {
      const state = states[index];
      if (!state.registered) outcome.unregistered.push(answer.question);
      else if (state.current === answer.value) outcome.unchanged.push(answer.question);
      else {
        // debconf-set-selections reads `owner question type value`, one per line; the type must
        // be the template's (it would change the template's type otherwise).
        selections.push(`${state.owner ?? answer.question.split('/')[0]} ${answer.question} ${state.type} ${answer.value}`);
        outcome.set.push(answer.question);
      }
    });
    if (selections.length > 0) {
      const result = await execa('debconf-set-selections', [], { input: `${selections.join('\n')}\n`, env: target.env, reject: false });
      // Its messages quote the offending line only in verbose mode, which we do not ask for.
      if (result.exitCode !== 0) throw new Error(`debconf-set-selections failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
    }
    return outcome;
  } finally {
    await target.dispose();
  }
}

/** Answers with a value that fits on one debconf-set-selections line; anything else is a bug upstream of here. */
function checkAnswers(answers: readonly DebconfAnswer[]): void {
  for (const answer of answers) {
    if (/[\n\r]/.test(answer.value) || answer.value === '') throw new Error(`debconf answer for ${answer.question} is empty or spans lines`);
  }
}

/**
 * The apply step's write-back: the configured hostname and the secrets into debconf, so that
 * the next upgrade's maintainer scripts work for this server. A failure is reported, not
 * fatal: the server is configured, and the apt hook re-applies after package operations.
 */
export async function writeBackToDebconf(config: MasterConfig, root: string, log: (line: string) => void): Promise<void> {
  const answers = jitsiDebconfAnswers(config);
  checkAnswers(answers);
  try {
    const outcome = await writeDebconfAnswers(root, answers);
    if (outcome.kind === 'absent') {
      log(`debconf: left alone (${outcome.reason})`);
      return;
    }
    if (outcome.set.length === 0 && outcome.unchanged.length === 0) {
      log("debconf: left alone (no Jitsi package's questions are registered: the packages are not installed)");
      return;
    }
    if (outcome.set.length > 0) {
      // Names only: three of the four are secrets.
      log(`debconf: set ${outcome.set.join(', ')} for ${config.hostname}, so that package upgrades configure themselves for it`);
    }
  } catch (error) {
    log(
      `warning: debconf could not be updated (${(error as Error).message}); until \`jitsi-meet-config --reapply\` succeeds, ` +
        "package upgrades configure Jitsi's packages for the hostname debconf holds (the apt hook re-applies after them)",
    );
  }
}
