/**
 * Command line of `jitsi-meet-config`. A small table-driven parser of its own: the
 * configurator ships inside the image and must not pull in the maintainer's CLI (src/cli/).
 * The help text is generated from the same table, so it cannot promise an option the parser
 * does not take.
 */
import { UserError } from '../lib/errors.js';
import { MASTER_CONFIG_PATH, REAPPLY_LOG } from './paths.js';

export const PROGRAM = 'jitsi-meet-config';
/** Kept equal to package.json's version by a unit test. */
export const VERSION = '0.1.0';

export interface ConfiguratorOptions {
  answers?: string;
  yes: boolean;
  reapply: boolean;
  aptHook: boolean;
  show: boolean;
  rotateSecrets: boolean;
  check: boolean;
  json: boolean;
  addBridge?: string;
  removeBridge?: string;
  listBridges: boolean;
  role?: string;
  root: string;
  config?: string;
  noApply: boolean;
  help: boolean;
  version: boolean;
}

interface OptionSpec {
  flag: string;
  property: keyof ConfiguratorOptions;
  /** Placeholder of the value; absent for switches. */
  valueName?: string;
  doc: string;
  /** Left out of --help: for tests and builds working on a root prefix. */
  hidden?: boolean;
}

const OPTIONS: readonly OptionSpec[] = [
  {
    flag: '--answers',
    property: 'answers',
    valueName: 'FILE',
    doc: 'Take the answers from a YAML file (master-config keys, no secrets) instead of asking; keys left out take the default the question offers. Invalid answers: every problem is listed, nothing is written, exit code 2.',
  },
  { flag: '--yes', property: 'yes', doc: 'Ask nothing: take every default (re-uses an existing configuration).' },
  {
    flag: '--reapply',
    property: 'reapply',
    doc: 'Apply the existing master config again, asking nothing (needs one). The apt hook runs this after package operations touched Jitsi, prosody, nginx or coturn; run it yourself when that re-apply failed.',
  },
  { flag: '--show', property: 'show', doc: 'Print the master config with secrets and the convener password masked, and exit.' },
  {
    flag: '--rotate-secrets',
    property: 'rotateSecrets',
    doc: 'Generate new focus, jvb and TURN secrets and apply them everywhere at once (prosody accounts included). Alone it re-uses the existing configuration without asking; with --answers or --yes it rotates while configuring.',
  },
  {
    flag: '--no-apply',
    property: 'noApply',
    doc: 'Write the master config only; do not build the component configurations or touch services.',
  },
  {
    flag: '--check',
    property: 'check',
    doc: 'Check the running server and print one line per check (✔ ok, ⚠ warning, ✘ failed, with the fix). Writes nothing, restarts nothing; exit 0 when nothing failed, 1 otherwise. Every configuring run ends with it.',
  },
  { flag: '--json', property: 'json', doc: 'With --check: print the results as JSON, for monitoring.' },
  {
    flag: '--add-bridge',
    property: 'addBridge',
    valueName: 'NAME',
    doc: 'On the main server: add a videobridge on another host. Makes its account (jvb-NAME), lets prosody accept it on the internal address, applies, and prints a one-line join token for `--role bridge` on the bridge host (the token holds the bridge\'s password: copy it, keep it private).',
  },
  {
    flag: '--remove-bridge',
    property: 'removeBridge',
    valueName: 'NAME',
    doc: 'On the main server: revoke a bridge added with --add-bridge (its account is deleted; prosody restarts, so its session ends and jicofo moves its conferences to the other bridges).',
  },
  { flag: '--list-bridges', property: 'listBridges', doc: 'On the main server: list the bridges added with --add-bridge, and exit.' },
  {
    flag: '--role',
    property: 'role',
    valueName: 'main|bridge',
    doc: 'What this machine is: the main server (the default), or an additional videobridge of a main server elsewhere (asks for the join token, its addresses and memory; runs only the videobridge). Asked first when not given and not configured yet.',
  },
  { flag: '--apt-hook', property: 'aptHook', doc: 'Run by apt after dpkg: re-apply when server packages changed; one line, never fails.', hidden: true },
  { flag: '--root', property: 'root', valueName: 'DIR', doc: 'Work on the system under DIR instead of /.', hidden: true },
  { flag: '--config', property: 'config', valueName: 'FILE', doc: `Master config path instead of ${MASTER_CONFIG_PATH}.`, hidden: true },
  { flag: '--help', property: 'help', doc: 'Show this help and exit.' },
  { flag: '--version', property: 'version', doc: 'Show the version and exit.' },
];

/** A bad command line: printed with a pointer to --help, exit code 2. */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
  }
}

export function parseConfiguratorArgs(argv: readonly string[]): ConfiguratorOptions {
  const options: ConfiguratorOptions = { yes: false, reapply: false, aptHook: false, show: false, rotateSecrets: false, check: false, json: false, listBridges: false, root: '/', noApply: false, help: false, version: false };
  const values = options as unknown as Record<string, string | boolean | undefined>;
  for (let index = 0; index < argv.length; index++) {
    const word = argv[index];
    if (word === '-h') {
      options.help = true;
      continue;
    }
    const equals = word.indexOf('=');
    const flag = word.startsWith('--') && equals !== -1 ? word.slice(0, equals) : word;
    const spec = OPTIONS.find((option) => option.flag === flag);
    if (!spec) {
      throw new UsageError(word.startsWith('-') ? `unknown option ${word}` : `unexpected argument "${word}" (this command takes options only)`);
    }
    if (!spec.valueName) {
      if (equals !== -1) throw new UsageError(`${flag} takes no value`);
      values[spec.property] = true;
      continue;
    }
    const value = equals !== -1 ? word.slice(equals + 1) : argv[++index];
    if (value === undefined || value === '') throw new UsageError(`${flag} needs a value (${spec.valueName})`);
    values[spec.property] = value;
  }
  if (options.help || options.version) return options;
  if (options.role !== undefined && options.role !== 'main' && options.role !== 'bridge') throw new UsageError(`--role takes main or bridge, not "${options.role}"`);
  const bridgeOps = [options.addBridge && '--add-bridge', options.removeBridge && '--remove-bridge', options.listBridges && '--list-bridges'].filter(Boolean);
  if (bridgeOps.length > 1) throw new UsageError(`give one of ${bridgeOps.join(', ')} at a time`);
  if (bridgeOps.length === 1 && (options.answers || options.yes || options.rotateSecrets || options.reapply || options.noApply || options.show || options.check || options.aptHook || options.role)) {
    throw new UsageError(`${bridgeOps[0]} works on the existing configuration of the main server; it takes no other option`);
  }
  if (options.role && (options.reapply || options.show || options.check || options.aptHook || options.rotateSecrets)) {
    throw new UsageError('--role chooses what to configure; it cannot be combined with --reapply, --show, --check or --rotate-secrets (they work in either role)');
  }
  if (options.json && !options.check) throw new UsageError('--json is an option of --check');
  if (options.check && (options.answers || options.yes || options.rotateSecrets || options.reapply || options.noApply || options.show || options.aptHook)) {
    throw new UsageError('--check only looks at the running server; it takes no other option but --json');
  }
  if (options.show && (options.answers || options.yes || options.rotateSecrets || options.reapply)) {
    throw new UsageError('--show only prints the configuration; it cannot be combined with --answers, --yes, --rotate-secrets or --reapply');
  }
  if (options.reapply && (options.answers || options.yes || options.rotateSecrets || options.noApply)) {
    throw new UsageError('--reapply applies the existing configuration as it is; it cannot be combined with --answers, --yes, --rotate-secrets or --no-apply');
  }
  if (options.aptHook && (options.answers || options.yes || options.rotateSecrets || options.noApply || options.show || options.reapply)) {
    throw new UsageError('--apt-hook takes no other option but --root and --config');
  }
  if (options.answers && options.yes) {
    throw new UsageError('--answers already asks nothing; give either --answers FILE or --yes');
  }
  return options;
}

function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l, i) => (i === 0 ? l : indent + l));
}

export function helpText(): string {
  const visible = OPTIONS.filter((option) => !option.hidden);
  const labels = visible.map((option) => (option.valueName ? `${option.flag} ${option.valueName}` : option.flag));
  const width = Math.max(...labels.map((label) => label.length)) + 2;
  const indent = ' '.repeat(2 + width);
  const optionLines = visible.map((option, i) => `  ${labels[i].padEnd(width)}${wrap(option.doc, 76 - width, indent).join('\n')}`);
  return [
    `Usage: ${PROGRAM} [--answers FILE | --yes] [--rotate-secrets] [--no-apply]`,
    `       ${PROGRAM} --reapply`,
    `       ${PROGRAM} --show`,
    `       ${PROGRAM} --check [--json]`,
    `       ${PROGRAM} --add-bridge NAME | --remove-bridge NAME | --list-bridges`,
    `       ${PROGRAM} --role bridge [--answers FILE]`,
    '',
    'Configures this Jitsi Meet server. Without options it asks (on a machine not configured',
    'yet, first: main server or additional videobridge?) for the hostname, addresses,',
    'videobridge memory, the convener account and the TLS certificate (Enter accepts the',
    `default in brackets), keeps the answers and generated secrets in ${MASTER_CONFIG_PATH}`,
    '(mode 0600), generates every component\'s configuration from it and starts the server.',
    'Answers can also be piped on stdin, one per line. Run it again to change anything; the',
    'secrets are kept unless --rotate-secrets is given.',
    '',
    'More videobridges: on the main server `--add-bridge NAME` prints a join token; on another host',
    'booted from the same image, `--role bridge` asks for it and runs only the videobridge, which',
    'logs in to the main server and joins its brewery.',
    '',
    'Package upgrades: after apt changed Jitsi\'s, prosody\'s, nginx\'s or coturn\'s packages, an',
    'apt hook re-applies the configuration (their scripts rewrite parts of it) and prints one',
    `line saying so; its log is ${REAPPLY_LOG}.`,
    '',
    'Options:',
    ...optionLines,
    '',
    'Exit status: 0 done (or nothing to do), 1 failure (stdin ended early, applying failed;',
    'with --check: a check failed), 2 bad command line or invalid answers (nothing written).',
    '',
  ].join('\n');
}
