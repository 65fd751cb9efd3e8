/**
 * A small declarative schema for our YAML formats (recipes, the master config, answer files).
 *
 * One schema per format gives three things from a single table: strict validation (unknown
 * keys and wrong types are errors naming the file, line and key), defaults, and the reference
 * docs (`schemaRows`). It is deliberately tiny: plain data in, plain data out, no classes the
 * caller has to know about. It has no dependencies besides the YAML position loader, so the
 * configurator (which ships inside the image) can use it too.
 */
import { readFile } from 'node:fs/promises';
import { loadYamlWithPositions, type Key } from './yaml-positions.js';

export interface Issue {
  /** Dotted key path, `recipe.packages[2]`; empty for the document itself. */
  path: string;
  /** 1-based source line when the value came from a file. */
  line?: number;
  message: string;
}

interface Context {
  issues: Issue[];
  lineOf(container: unknown, key: Key): number | undefined;
}

const INVALID: unique symbol = Symbol('invalid');
type Parsed<T> = T | typeof INVALID;

export interface Schema<T> {
  /** Type as a reader sees it in docs and errors: `string`, `list of string`, `one of a, b`. */
  readonly type: string;
  readonly doc: string;
  /** Value used when the key is absent. A function is called per use (fresh arrays). */
  readonly defaultValue?: () => T;
  /** Absent key is fine (value `undefined`) even without a default. */
  readonly optional: boolean;
  /**
   * For an optional key: the value a reader uses when no file sets it. Not applied by parsing
   * (files that are merged, like recipe parts, must keep an absent key absent); shown in the
   * docs and read by `fallbackOf` where the merged result is made.
   */
  readonly fallback?: () => T;
  /** Nested fields, for objects (docs walk them). */
  readonly fields?: Record<string, Schema<unknown>>;
  readonly item?: Schema<unknown>;
  /** Hidden from the reference docs (internal keys). */
  readonly hidden?: boolean;
  parse(value: unknown, path: string, line: number | undefined, ctx: Context): Parsed<T>;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

interface Common<T> {
  doc: string;
  default?: T | (() => T);
  /** Extra rule; returns a message saying what is wrong and what to do, or undefined. */
  check?: (value: T) => string | undefined;
  hidden?: boolean;
}

function commonParts<T>(options: Common<T>) {
  const d = options.default;
  return {
    doc: options.doc,
    hidden: options.hidden,
    optional: false,
    defaultValue: d === undefined ? undefined : typeof d === 'function' ? (d as () => T) : () => structuredClone(d),
  };
}

function leaf<T>(
  type: string,
  options: Common<T>,
  accept: (value: unknown) => value is T,
): Schema<T> {
  return {
    type,
    ...commonParts(options),
    parse(value, path, line, ctx) {
      if (!accept(value)) {
        ctx.issues.push({ path, line, message: `expected ${type}, got ${describeValue(value)}` });
        return INVALID;
      }
      const problem = options.check?.(value);
      if (problem) {
        ctx.issues.push({ path, line, message: problem });
        return INVALID;
      }
      return value;
    },
  };
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

export function string(options: Common<string>): Schema<string> {
  return leaf('string', options, (v): v is string => typeof v === 'string');
}

export function integer(options: Common<number> & { min?: number; max?: number }): Schema<number> {
  const { min, max } = options;
  const range = min !== undefined && max !== undefined ? ` ${min}..${max}` : min !== undefined ? ` >= ${min}` : '';
  const check = (v: number) => {
    if (min !== undefined && v < min) return `must be at least ${min}, got ${v}`;
    if (max !== undefined && v > max) return `must be at most ${max}, got ${v}`;
    return options.check?.(v);
  };
  return leaf(`integer${range}`, { ...options, check }, (v): v is number => Number.isInteger(v));
}

export function boolean(options: Common<boolean>): Schema<boolean> {
  return leaf('boolean (true/false)', options, (v): v is boolean => typeof v === 'boolean');
}

export function oneOf<const V extends string>(values: readonly V[], options: Common<V>): Schema<V> {
  return leaf(`one of ${values.join(', ')}`, options, (v): v is V => typeof v === 'string' && (values as readonly string[]).includes(v));
}

export function list<T>(item: Schema<T>, options: Common<T[]>): Schema<T[]> {
  return {
    type: `list of ${item.type}`,
    item: item as Schema<unknown>,
    ...commonParts(options),
    parse(value, path, line, ctx) {
      if (!Array.isArray(value)) {
        ctx.issues.push({ path, line, message: `expected a list of ${item.type}, got ${describeValue(value)}` });
        return INVALID;
      }
      const out: T[] = [];
      let ok = true;
      value.forEach((element, index) => {
        const parsed = item.parse(element, `${path}[${index}]`, ctx.lineOf(value, index) ?? line, ctx);
        if (parsed === INVALID) ok = false;
        else out.push(parsed);
      });
      if (!ok) return INVALID;
      const problem = options.check?.(out);
      if (problem) {
        ctx.issues.push({ path, line, message: problem });
        return INVALID;
      }
      return out;
    },
  };
}

type Fields = Record<string, Schema<any>>;
/** Keys whose schema may be absent (`optional(...)`): optional in the type too, so a value may leave them out. */
type OptionalKeys<F extends Fields> = { [K in keyof F]: undefined extends Infer<F[K]> ? K : never }[keyof F];
type Flatten<T> = { [K in keyof T]: T[K] };
export type ObjectOf<F extends Fields> = Flatten<
  { [K in Exclude<keyof F, OptionalKeys<F>>]: Infer<F[K]> } & { [K in OptionalKeys<F>]?: Infer<F[K]> }
>;

export function object<F extends Fields>(fields: F, options: Common<ObjectOf<F>>): Schema<ObjectOf<F>> {
  return {
    type: 'mapping',
    fields: fields as Record<string, Schema<unknown>>,
    ...commonParts(options),
    parse(value, path, line, ctx) {
      if (value === null || value === undefined) value = {};
      if (typeof value !== 'object' || Array.isArray(value)) {
        ctx.issues.push({ path, line, message: `expected a mapping, got ${describeValue(value)}` });
        return INVALID;
      }
      const input = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      let ok = true;
      for (const key of Object.keys(input)) {
        // Own keys only: `in` would take constructor, toString, __proto__... for known keys.
        if (!Object.hasOwn(fields, key)) {
          ok = false;
          const known = Object.keys(fields).join(', ');
          ctx.issues.push({
            path: join(path, key),
            line: ctx.lineOf(input, key) ?? line,
            message: `unknown key (known keys here: ${known})`,
          });
        }
      }
      for (const [key, field] of Object.entries(fields)) {
        const keyPath = join(path, key);
        const keyLine = ctx.lineOf(input, key) ?? line;
        if (!Object.hasOwn(input, key) || input[key] === undefined) {
          if (field.defaultValue) out[key] = field.defaultValue();
          else if (field.optional) out[key] = undefined;
          else if (field.fields) {
            // A mapping made only of defaults may be left out as a whole.
            const parsed = field.parse({}, keyPath, keyLine, ctx);
            if (parsed === INVALID) ok = false;
            else out[key] = parsed;
          } else {
            ok = false;
            ctx.issues.push({ path: keyPath, line, message: `required key is missing (${field.type}: ${field.doc})` });
          }
          continue;
        }
        const parsed = field.parse(input[key], keyPath, keyLine, ctx);
        if (parsed === INVALID) ok = false;
        else out[key] = parsed;
      }
      if (!ok) return INVALID;
      const problem = options.check?.(out as ObjectOf<F>);
      if (problem) {
        ctx.issues.push({ path, line, message: problem });
        return INVALID;
      }
      return out as ObjectOf<F>;
    },
  };
}

/**
 * Same schema, but the key may be absent (value `undefined`). YAML `null` counts as absent.
 * `fallback` documents the value used when no file sets the key (see Schema.fallback).
 */
export function optional<T>(schema: Schema<T>, options: { fallback?: NoInfer<T> } = {}): Schema<T | undefined> {
  const { fallback } = options;
  return {
    ...schema,
    optional: true,
    defaultValue: undefined,
    fallback: fallback === undefined ? undefined : () => structuredClone(fallback),
    parse(value, path, line, ctx) {
      if (value === null || value === undefined) return undefined;
      return schema.parse(value, path, line, ctx);
    },
  };
}

/**
 * A mapping that may also be written as just the value of its main `key`: `- nginx` for
 * `- { service: nginx }`, so a list whose items rarely need more stays a list of names. A
 * problem with a value written that way is reported at the item, as the reader wrote it.
 */
export function withShorthand<T extends Record<string, unknown>>(schema: Schema<T>, key: keyof T & string): Schema<T> {
  return {
    ...schema,
    type: `string or ${schema.type}`,
    parse(value, path, line, ctx) {
      if (typeof value !== 'string') {
        if (value === null || typeof value !== 'object' || Array.isArray(value)) {
          ctx.issues.push({ path, line, message: `expected string or ${schema.type}, got ${describeValue(value)}` });
          return INVALID;
        }
        return schema.parse(value, path, line, ctx);
      }
      const inner: Context = { issues: [], lineOf: ctx.lineOf };
      const parsed = schema.parse({ [key]: value }, path, line, inner);
      const keyPath = join(path, key);
      ctx.issues.push(...inner.issues.map((issue) => (issue.path === keyPath ? { ...issue, path } : issue)));
      return parsed;
    },
  };
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

export type Result<T> = { ok: true; value: T } | { ok: false; issues: Issue[] };

/** Validate an in-memory value (no line numbers unless `lineOf` is given). */
export function validate<T>(
  schema: Schema<T>,
  value: unknown,
  lineOf: Context['lineOf'] = () => undefined,
): Result<T> {
  const ctx: Context = { issues: [], lineOf };
  const parsed = schema.parse(value, '', undefined, ctx);
  if (parsed === INVALID || ctx.issues.length > 0) return { ok: false, issues: ctx.issues };
  return { ok: true, value: parsed };
}

/** Thrown when a YAML document does not match its schema; the message lists every problem. */
export class SchemaError extends Error {
  constructor(
    readonly file: string,
    readonly issues: Issue[],
  ) {
    super(issues.map((issue) => formatIssue(file, issue)).join('\n'));
    this.name = 'SchemaError';
  }
}

/** `file:line: key: message`, the shape editors and humans both jump to. */
export function formatIssue(file: string, issue: Issue): string {
  const where = issue.line ? `${file}:${issue.line}` : file;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

/** A js-yaml syntax error as an Issue, with the line js-yaml points at. */
export function yamlSyntaxIssue(error: unknown): Issue {
  const mark = (error as { mark?: { line: number } }).mark;
  const reason = (error as { reason?: string }).reason ?? (error as Error).message;
  return { path: '', line: mark ? mark.line + 1 : undefined, message: `not valid YAML: ${reason}` };
}

/** Parse YAML text against a schema. YAML syntax errors become a SchemaError with the line. */
export function parseYaml<T>(schema: Schema<T>, text: string, file: string): T {
  let loaded;
  try {
    loaded = loadYamlWithPositions(text, file);
  } catch (error) {
    throw new SchemaError(file, [yamlSyntaxIssue(error)]);
  }
  const result = validate(schema, loaded.value, loaded.lineOf);
  if (!result.ok) throw new SchemaError(file, result.issues);
  return result.value;
}

export async function loadYamlFile<T>(schema: Schema<T>, file: string): Promise<T> {
  return parseYaml(schema, await readFile(file, 'utf8'), file);
}

export interface SchemaRow {
  key: string;
  type: string;
  default: string;
  doc: string;
}

/**
 * The default of the key at a dotted path (`convener.username`), so code that offers a value
 * (a prompt's bracketed default) offers the schema's. A path without a default is a programming error.
 */
export function defaultAt(schema: Schema<unknown>, path: string): unknown {
  let field: Schema<unknown> | undefined = schema;
  for (const key of path.split('.')) field = field?.fields && Object.hasOwn(field.fields, key) ? field.fields[key] : undefined;
  if (!field?.defaultValue) throw new Error(`no default declared at ${path}`);
  return field.defaultValue();
}

/** The documented fallback of an optional key; a schema without one is a programming error. */
export function fallbackOf<T>(schema: Schema<T | undefined>): T {
  if (!schema.fallback) throw new Error(`no fallback declared for: ${schema.doc}`);
  return schema.fallback() as T;
}

/** Flattened reference rows for docs and `--help`: one per key, nested keys dotted. */
export function schemaRows(schema: Schema<unknown>, prefix = ''): SchemaRow[] {
  const rows: SchemaRow[] = [];
  for (const [key, field] of Object.entries(schema.fields ?? {})) {
    if (field.hidden) continue;
    const path = join(prefix, key);
    if (field.fields) {
      rows.push({ key: path, type: 'mapping', default: '', doc: field.doc });
      rows.push(...schemaRows(field, path));
      continue;
    }
    const d = field.defaultValue?.() ?? field.fallback?.();
    rows.push({
      key: path,
      type: field.type,
      default: d === undefined ? (field.optional ? '(none)' : '(required)') : JSON.stringify(d),
      doc: field.doc,
    });
  }
  return rows;
}

/** A Markdown table of `schemaRows`, for README sections generated from the schema. */
export function schemaMarkdown(schema: Schema<unknown>): string {
  const escape = (s: string) => s.replace(/\|/g, '\\|');
  const lines = ['| key | type | default | meaning |', '| --- | --- | --- | --- |'];
  for (const row of schemaRows(schema)) {
    lines.push(`| \`${row.key}\` | ${escape(row.type)} | ${escape(row.default)} | ${escape(row.doc)} |`);
  }
  return lines.join('\n');
}
