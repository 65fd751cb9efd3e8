/**
 * Reading and writing `/etc/jitsi/master-config.yaml`. The file is written in schema order
 * with a fixed header, so the same answers and secrets always give the same bytes (and the
 * apply step's "nothing changed" holds for the master config too). Mode 0600: it holds the
 * secrets and the convener's password.
 */
import { readFile } from 'node:fs/promises';
import yaml from 'js-yaml';
import { formatIssue, SchemaError, validate, yamlSyntaxIssue, type Schema } from '../lib/schema.js';
import { loadYamlWithPositions } from '../lib/yaml-positions.js';
import { UserError } from '../lib/errors.js';
import { writeFileAtomic, type WriteOutcome } from './apply/files.js';
import { crossFieldProblems, masterConfigSchema, type MasterConfig } from './master-config.js';
import { generateSecrets } from './secrets.js';

export const MASTER_CONFIG_MODE = 0o600;

const HEADER = [
  '# Master config of this Jitsi Meet server, written by jitsi-meet-config.',
  '# Every component\'s configuration is generated from it: edit it here and run',
  '# `jitsi-meet-config` again (answer "re-use existing configuration" with y) to apply.',
  '# The secrets are generated and never asked for; `jitsi-meet-config --rotate-secrets`',
  '# replaces them everywhere at once.',
  '',
].join('\n');

/** A plain object with the schema's key order and without absent optional keys. */
export function ordered(schema: Schema<unknown>, value: unknown): unknown {
  if (!schema.fields || value === null || typeof value !== 'object') return value;
  const input = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(schema.fields)) {
    if (input[key] === undefined) continue;
    out[key] = ordered(field, input[key]);
  }
  return out;
}

export function serializeMasterConfig(config: MasterConfig): string {
  const body = yaml.dump(ordered(masterConfigSchema as Schema<unknown>, config), {
    lineWidth: -1,
    noRefs: true,
    sortKeys: false,
    quotingType: '"',
  });
  return HEADER + body;
}

export interface ReadOptions {
  /**
   * The secrets are about to be replaced (--rotate-secrets): a broken or missing secret is
   * then no reason to refuse, since rotating is how the admin repairs one.
   */
  secretsBeingReplaced?: boolean;
}

/**
 * A config file's text, parsed and checked against `schema`; every problem at once, as a
 * SchemaError with lines. `prepare` may adjust the loaded value before it is checked.
 */
export function parseConfigText<T>(schema: Schema<T>, text: string, file: string, prepare: (value: unknown) => unknown = (value) => value): T {
  let loaded;
  try {
    loaded = loadYamlWithPositions(text, file);
  } catch (error) {
    throw new SchemaError(file, [yamlSyntaxIssue(error)]);
  }
  const result = validate(schema, prepare(loaded.value), loaded.lineOf);
  if (!result.ok) throw new SchemaError(file, result.issues);
  return result.value;
}

/** What an admin is told about an invalid config file: every problem with file and line, and the way out. */
export function invalidConfigError(path: string, error: SchemaError, what = 'the master config'): UserError {
  return new UserError(
    `${what} is not valid; fix it or move it away to configure from scratch:\n${error.issues.map((issue) => `  ${formatIssue(path, issue)}`).join('\n')}`,
  );
}

/** Parse and check a master config text: schema issues and cross-field rules, all at once. */
export function parseMasterConfig(text: string, file: string, options: ReadOptions = {}): MasterConfig {
  const config = parseConfigText(masterConfigSchema, text, file, (value) =>
    // Stand-ins that pass the checks; the caller replaces them with fresh ones.
    options.secretsBeingReplaced && value !== null && typeof value === 'object' && !Array.isArray(value) ? { ...(value as object), secrets: generateSecrets() } : value,
  );
  const problems = crossFieldProblems(config);
  if (problems.length > 0) throw new SchemaError(file, problems);
  return config;
}

/** The master config at `path`, or undefined when there is none yet. Invalid file: UserError naming every problem. */
export async function readMasterConfig(path: string, options: ReadOptions = {}): Promise<MasterConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserError(`cannot read the master config ${path}: ${(error as Error).message}`);
  }
  try {
    return parseMasterConfig(text, path, options);
  } catch (error) {
    if (error instanceof SchemaError) throw invalidConfigError(path, error);
    throw error;
  }
}

export async function writeMasterConfig(path: string, config: MasterConfig): Promise<WriteOutcome> {
  return writeFileAtomic(path, serializeMasterConfig(config), { mode: MASTER_CONFIG_MODE });
}
