/**
 * Non-interactive answers: `--answers FILE` (YAML with the master config's keys, secrets
 * excepted) and `--yes` (no file: every default). Each key left out takes the default the
 * prompt would have offered, computed by the same questions in the same order. Every
 * problem is collected (schema types and checks with file:line, the questions' own checks
 * such as the own-cert pair, missing answers that have no default, cross-field rules), so
 * one run lists them all.
 */
import { UserError } from '../lib/errors.js';
import { object, optional, validate, yamlSyntaxIssue, type Issue, type Schema } from '../lib/schema.js';
import { loadYamlWithPositions, type Key } from '../lib/yaml-positions.js';
import { crossFieldProblems, masterConfigSchema, type MasterConfig } from './master-config.js';
import { PLACEHOLDER_SECRETS } from './secrets.js';
import { readBoundedText } from './small-file.js';
import {
  buildMasterConfig,
  checkMessage,
  isAsked,
  QUESTIONS,
  UNASKED_KEYS,
  unaskedDefault,
  yesNoDefault,
  type AnswerValue,
  type Answers,
  type Environment,
} from './questions.js';

export interface ResolvedAnswers {
  answers: Answers;
  /** Keys whose value came from a default rather than the file. */
  defaulted: Set<string>;
}

export type AnswersOutcome = { ok: true; resolved: ResolvedAnswers } | { ok: false; issues: Issue[] };

/** The master config schema with every key optional and without secrets: what an answers file may hold. */
function answersSchemaOf(schema: Schema<unknown>): Schema<unknown> {
  const fields: Record<string, Schema<unknown>> = {};
  for (const [key, field] of Object.entries(schema.fields ?? {})) {
    // Generated (secrets) or managed by their own options (bridges: --add-bridge, --remove-bridge).
    if (key === 'secrets' || key === 'bridges') continue;
    fields[key] = field.fields
      ? (optional(answersSchemaOf(field)) as Schema<unknown>)
      : (optional(field) as Schema<unknown>);
  }
  return object(fields, { doc: schema.doc }) as Schema<unknown>;
}

const answersSchema = answersSchemaOf(masterConfigSchema as Schema<unknown>);

function leafSchema(key: string): Schema<unknown> | undefined {
  let schema: Schema<unknown> | undefined = masterConfigSchema as Schema<unknown>;
  for (const part of key.split('.')) schema = schema?.fields && Object.hasOwn(schema.fields, part) ? schema.fields[part] : undefined;
  return schema;
}

/** Every leaf of a loaded mapping, by dotted key. */
function leaves(value: unknown, prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return out;
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (inner !== null && typeof inner === 'object' && !Array.isArray(inner)) {
      for (const [innerKey, innerValue] of leaves(inner, path)) out.set(innerKey, innerValue);
    } else out.set(path, inner);
  }
  return out;
}

/**
 * Resolve answers: `document` is the loaded answers file (undefined for `--yes`), `lineOf`
 * its positions. Returns the flat answers, or every problem found.
 */
export function resolveAnswers(
  document: unknown,
  env: Environment,
  lineOf: (container: unknown, key: Key) => number | undefined = () => undefined,
): AnswersOutcome {
  const issues: Issue[] = [];
  const lineOfKey = (key: string): number | undefined => {
    let container: unknown = document;
    let line: number | undefined;
    for (const part of key.split('.')) {
      if (container === null || typeof container !== 'object') break;
      line = lineOf(container, part) ?? line;
      container = (container as Record<string, unknown>)[part];
    }
    return line;
  };
  const problem = (key: string, message: string) => {
    if (!issues.some((issue) => issue.path === key)) issues.push({ path: key, line: lineOfKey(key), message });
  };

  if (document !== undefined && document !== null && (typeof document !== 'object' || Array.isArray(document))) {
    return { ok: false, issues: [{ path: '', line: 1, message: 'an answers file is a YAML mapping of master-config keys (like `hostname: meet.example.org`)' }] };
  }
  const given = (document ?? {}) as Record<string, unknown>;
  if (Object.hasOwn(given, 'secrets')) {
    problem('secrets', 'secrets are generated on the first configure and never given; remove this key (`jitsi-meet-config --rotate-secrets` replaces them)');
  }
  const withoutSecrets = Object.fromEntries(Object.entries(given).filter(([key]) => key !== 'secrets'));
  // `hostname:` with nothing after it is more likely a slip than a wish for the default.
  for (const [key, value] of leaves(withoutSecrets)) {
    if (value === null) problem(key, 'has no value: give one, or leave the key out to take the default');
  }
  const schemaResult = validate(answersSchema, withoutSecrets, lineOf);
  if (!schemaResult.ok) for (const issue of schemaResult.issues) problem(issue.path, issue.message);

  // The given values that are valid on their own; an invalid one counts as left out, so the
  // later questions still run (and report their own problems) from its default.
  const valid = new Map<string, AnswerValue>();
  for (const [key, value] of leaves(withoutSecrets)) {
    const schema = leafSchema(key);
    if (!schema || value === undefined || value === null) continue;
    if (validate(schema, value).ok) valid.set(key, value as AnswerValue);
  }

  const answers: Answers = {};
  const defaulted = new Set<string>();
  for (const question of QUESTIONS) {
    const { key } = question;
    if (valid.has(key)) {
      const value = valid.get(key)!;
      answers[key] = value;
      // A value no question would ask for (tls.cert with another TLS mode) is kept, unchecked and unused.
      if (question.check && typeof value === 'string' && isAsked(question, answers, env)) {
        const message = checkMessage(question.check(value, answers, env));
        if (message) problem(key, message);
      }
      continue;
    }
    if (issues.some((issue) => issue.path === key)) continue;
    if (!isAsked(question, answers, env)) {
      const skipped = question.skipped?.(answers, env);
      if (skipped !== undefined) {
        answers[key] = skipped;
        defaulted.add(key);
      }
      continue;
    }
    if (question.kind === 'yesno') {
      const yes = yesNoDefault(question, answers, env);
      answers[key] = question.configValue ? question.configValue(yes) : yes;
    } else {
      const fallback = question.defaultAnswer(answers, env);
      if (fallback === undefined) {
        problem(key, `no default for "${question.prompt(answers)}": give ${key} in the answers file`);
        continue;
      }
      answers[key] = fallback;
    }
    defaulted.add(key);
  }
  for (const key of UNASKED_KEYS) {
    if (valid.has(key)) answers[key] = valid.get(key)!;
    else {
      answers[key] = unaskedDefault(key, env);
      defaulted.add(key);
    }
  }

  if (issues.length === 0) {
    // Placeholder secrets: only the answers are being checked here.
    const built = buildMasterConfig(answers, PLACEHOLDER_SECRETS);
    if (!built.ok) for (const issue of built.issues) problem(issue.path, issue.message);
    else for (const issue of crossFieldProblems(built.config)) problem(issue.path, issue.message);
  }
  // In file order, so the list reads top to bottom like the file; issues without a line last.
  issues.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, resolved: { answers, defaulted } };
}

/** An answers file holds a dozen keys; anything this large is a mistake (and parsing it would take long). */
const MAX_ANSWERS_BYTES = 64 * 1024;

/** Read and resolve an answers file. YAML syntax errors and unreadable files are issues too. */
export async function loadAnswersFile(file: string, env: Environment): Promise<AnswersOutcome> {
  let text: string;
  try {
    text = await readBoundedText(file, MAX_ANSWERS_BYTES);
  } catch (error) {
    if (error instanceof UserError) return { ok: false, issues: [{ path: '', message: error.message }] };
    return { ok: false, issues: [{ path: '', message: `cannot read the answers file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` }] };
  }
  let loaded;
  try {
    loaded = loadYamlWithPositions(text, file);
  } catch (error) {
    return { ok: false, issues: [yamlSyntaxIssue(error)] };
  }
  const value = loaded.value;
  // `role: main` says what the default says anyway (`role: bridge` files go to the bridge role's reader).
  if (value && typeof value === 'object' && !Array.isArray(value) && (value as Record<string, unknown>).role === 'main') {
    delete (value as Record<string, unknown>).role;
  }
  return resolveAnswers(value, env, loaded.lineOf);
}

export type { MasterConfig };
