/**
 * Declarative command-line options. Each command declares one table of options; the parser,
 * the validation of values and the `--help` text all come from that table, so help cannot
 * drift from what is accepted.
 */

export type OptionType = 'string' | 'integer' | 'boolean' | 'choice' | 'path';

export interface OptionSpec {
  /** Long name without dashes: `init` for `--init`. */
  name: string;
  type: OptionType;
  doc: string;
  /** For `choice`. */
  choices?: readonly string[];
  /** For `choice`: values that are known but refused, each with the reason the refusal gives (not listed in help's choices). */
  refusedChoices?: Readonly<Record<string, string>>;
  default?: string | number | boolean;
  required?: boolean;
  /** Placeholder in help: `--init INIT`. */
  valueName?: string;
  /** Integer bounds. */
  min?: number;
  max?: number;
}

export interface PositionalSpec {
  name: string;
  doc: string;
  required?: boolean;
}

export type OptionValues = Record<string, string | number | boolean | undefined>;

export interface ParsedArgs {
  options: OptionValues;
  positionals: string[];
  /** Words after a lone `--`, passed through untouched (a command to run, say). */
  rest: string[];
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** Longer description shown by `--help` under the usage line. */
  description?: string;
  options: OptionSpec[];
  positionals?: PositionalSpec[];
  /** Accept words after `--`. */
  takesRest?: string;
  run(args: ParsedArgs): Promise<number>;
}

/** Bad command line: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export { UserError } from '../lib/errors.js';

export function parseArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const byName = new Map(spec.options.map((o) => [o.name, o]));
  const options: OptionValues = {};
  const positionals: string[] = [];
  let rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (word === '--') {
      if (!spec.takesRest) throw new UsageError(`${spec.name} takes no arguments after --`);
      rest = argv.slice(i + 1);
      break;
    }
    if (!word.startsWith('--') || word === '-') {
      positionals.push(word);
      continue;
    }
    const eq = word.indexOf('=');
    const name = word.slice(2, eq === -1 ? undefined : eq);
    let option = byName.get(name);
    let negated = false;
    if (!option && name.startsWith('no-') && byName.get(name.slice(3))?.type === 'boolean') {
      option = byName.get(name.slice(3));
      negated = true;
    }
    if (!option) throw new UsageError(`unknown option --${name} for '${spec.name}'`);
    if (option.type === 'boolean') {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      options[option.name] = !negated;
      continue;
    }
    let raw: string | undefined = eq === -1 ? argv[++i] : word.slice(eq + 1);
    if (raw === undefined || (eq === -1 && raw.startsWith('--'))) {
      throw new UsageError(`--${name} needs a value (${describeValue(option)})`);
    }
    options[option.name] = convert(option, raw);
  }
  for (const option of spec.options) {
    if (options[option.name] === undefined) {
      if (option.required) throw new UsageError(`--${option.name} is required (${describeValue(option)})`);
      options[option.name] = option.default;
    }
  }
  const positionalSpecs = spec.positionals ?? [];
  const required = positionalSpecs.filter((p) => p.required).length;
  if (positionals.length < required) {
    throw new UsageError(`missing ${positionalSpecs.slice(positionals.length).map((p) => p.name).join(' ')}`);
  }
  if (positionals.length > positionalSpecs.length) {
    throw new UsageError(`unexpected argument '${positionals[positionalSpecs.length]}'`);
  }
  return { options, positionals, rest };
}

function describeValue(option: OptionSpec): string {
  if (option.type === 'choice') return `one of ${option.choices!.join(', ')}`;
  if (option.type === 'integer') {
    return option.min !== undefined && option.max !== undefined ? `an integer ${option.min}..${option.max}` : 'an integer';
  }
  return option.valueName ?? option.type;
}

function convert(option: OptionSpec, raw: string): string | number {
  switch (option.type) {
    case 'choice':
      if (option.refusedChoices && Object.hasOwn(option.refusedChoices, raw)) throw new UsageError(`--${option.name} ${raw}: ${option.refusedChoices[raw]}`);
      if (!option.choices!.includes(raw)) {
        throw new UsageError(`--${option.name} must be one of ${option.choices!.join(', ')}, not '${raw}'`);
      }
      return raw;
    case 'integer': {
      if (!/^-?[0-9]+$/.test(raw)) throw new UsageError(`--${option.name} must be an integer, not '${raw}'`);
      const n = Number(raw);
      if ((option.min !== undefined && n < option.min) || (option.max !== undefined && n > option.max)) {
        throw new UsageError(`--${option.name} must be ${describeValue(option)}, not ${n}`);
      }
      return n;
    }
    default:
      if (raw === '') throw new UsageError(`--${option.name} needs a non-empty value`);
      return raw;
  }
}

export function helpText(program: string, spec: CommandSpec): string {
  const positionals = (spec.positionals ?? []).map((p) => (p.required ? p.name : `[${p.name}]`));
  const usage = [`${program} ${spec.name}`, spec.options.length ? '[options]' : '', ...positionals, spec.takesRest ? `[-- ${spec.takesRest}]` : '']
    .filter(Boolean)
    .join(' ');
  const lines = [`Usage: ${usage}`, '', spec.summary];
  if (spec.description) lines.push('', spec.description.trim());
  if (spec.positionals?.length) {
    lines.push('', 'Arguments:');
    for (const p of spec.positionals) lines.push(`  ${p.name.padEnd(26)}${p.doc}`);
  }
  lines.push('', 'Options:');
  for (const option of [...spec.options, { name: 'help', type: 'boolean', doc: 'Show this help and exit.' } as OptionSpec]) {
    const flag = option.type === 'boolean' ? `--${option.name}` : `--${option.name} ${option.valueName ?? option.name.toUpperCase()}`;
    let doc = option.doc;
    if (option.type === 'choice') doc += ` One of: ${option.choices!.join(', ')}.`;
    if (option.required) doc += ' Required.';
    else if (option.default !== undefined && option.type !== 'boolean') doc += ` Default: ${option.default}.`;
    lines.push(`  ${flag.padEnd(26)}${doc}`);
  }
  return lines.join('\n') + '\n';
}
