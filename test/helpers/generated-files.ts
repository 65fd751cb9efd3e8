/**
 * Test support for the generators: the fixture master configs, writing generated files under
 * a temporary root, and readers that parse each generated format the way its program does
 * (prosody's Lua config through lua5.4, HOCON through a HOCON parser, config.js through V8),
 * so the tests compare meanings, not substrings.
 */
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { execa } from 'execa';
import { parseYaml } from '../../src/lib/schema.js';
import { crossFieldProblems, masterConfigSchema, type MasterConfig } from '../../src/configurator/master-config.js';
import { withScratchDir } from './scratch.js';
import { generateAll } from '../../src/configurator/components/index.js';
import type { GeneratedFile, HostFacts } from '../../src/configurator/components/types.js';
import { DEBIAN } from '../../src/configurator/distribution.js';

const here = dirname(fileURLToPath(import.meta.url));
export const FIXTURE_DIR = join(here, '../fixtures/master-configs');
export const FIXTURES = ['localhost', 'public-nat', 'own-cert', 'letsencrypt'] as const;
/** Fixtures every generator test walks, plus the one the live-service test runs for real. */
export type FixtureName = (typeof FIXTURES)[number] | 'lan-live';

/** Where Jitsi's Debian package puts its prosody plugins; only the path matters to the generators. */
export const PLUGINS_DIR = '/usr/share/jitsi-meet/prosody-plugins';
export const FACT_VARIANTS: ReadonlyArray<{ label: string; facts: HostFacts }> = [
  { label: 'without Jitsi plugins', facts: { distribution: DEBIAN, init: 'systemd' } },
  { label: 'with Jitsi plugins', facts: { distribution: DEBIAN, init: 'openrc', prosodyPluginsDir: PLUGINS_DIR } },
  // trixie's prosody: admins are no longer room owners by themselves.
  { label: 'with Jitsi plugins on prosody 13', facts: { distribution: DEBIAN, init: 'systemd', prosodyPluginsDir: PLUGINS_DIR, prosodyVersion: '13.0.1-1' } },
];

export async function loadFixture(name: FixtureName): Promise<MasterConfig> {
  const file = join(FIXTURE_DIR, `${name}.yaml`);
  const config = parseYaml(masterConfigSchema, await readFile(file, 'utf8'), file);
  const problems = crossFieldProblems(config);
  if (problems.length > 0) throw new Error(`fixture ${name} is not a valid master config: ${JSON.stringify(problems)}`);
  return config;
}

export function fileAt(files: readonly GeneratedFile[], path: string): GeneratedFile {
  const file = files.find((candidate) => candidate.path === path);
  if (!file) throw new Error(`no generated file at ${path}; have: ${files.map((f) => f.path).join(', ')}`);
  return file;
}


/** Puts `root` in front of every absolute path prefix a service would otherwise read or write on the host. */
export function rooted(content: string, root: string, prefixes: readonly string[]): string {
  let out = content;
  for (const prefix of prefixes) out = out.split(prefix).join(`${root}${prefix}`);
  return out;
}

/**
 * Registers focus, jvb and the convener with `prosodyctl --config`, as the apply step makes
 * them from the master config; returns each run's exit code and output for the caller to assert.
 */
export async function registerAccounts(prosodyConfig: string, config: MasterConfig): Promise<{ account: string; exitCode?: number; all: string }[]> {
  const results = [];
  for (const [user, domain, password] of [
    ['focus', `auth.${config.hostname}`, config.secrets.focus_password],
    ['jvb', `auth.${config.hostname}`, config.secrets.jvb_password],
    [config.convener.username, config.hostname, config.convener.password],
  ] as const) {
    const registered = await execa('prosodyctl', ['--config', prosodyConfig, 'register', user, domain, password], { reject: false, all: true });
    results.push({ account: `${user}@${domain}`, exitCode: registered.exitCode, all: String(registered.all ?? '') });
  }
  return results;
}

/** Writes the files under `root` as the apply step would (links as links, removals skipped). */
export async function materialize(files: readonly GeneratedFile[], root: string): Promise<void> {
  for (const file of files) {
    if (file.remove) continue;
    const target = join(root, file.path);
    await mkdir(dirname(target), { recursive: true });
    if (file.linkTo) await symlink(file.linkTo, target);
    else await writeFile(target, file.content);
  }
}

export function generated(config: MasterConfig, facts: HostFacts): GeneratedFile[] {
  return generateAll(config, facts);
}

// ---------------------------------------------------------------- prosody (Lua)

export interface ProsodyHost {
  kind: 'VirtualHost' | 'Component';
  /** Component module (`muc`, `client_proxy`); undefined for a VirtualHost or a plain component. */
  module?: string;
  options: Record<string, unknown>;
}

export interface ProsodyConfig {
  global: Record<string, unknown>;
  hosts: Record<string, ProsodyHost>;
  /** Include patterns, as written. */
  includes: string[];
  /** Config files read, main first. */
  files: string[];
}

/**
 * Runs a config through lua5.4 in an environment that behaves like prosody's config loader
 * (options belong to the last VirtualHost/Component; every file starts in the global section;
 * `Component "x" "mod"` sets the component's module; Include reads files) and prints the
 * resulting tables as JSON. Only Lua itself interprets the syntax, so what we check is what
 * prosody would see.
 */
const PROSODY_CONFIG_DUMPER = String.raw`
local main, conf_dir = arg[1], arg[2]
local globbed = {}
for i = 3, #arg do globbed[#globbed + 1] = arg[i] end
local result = { global = {}, hosts = {}, includes = {}, files = {} }
local function load_file(path)
  result.files[#result.files + 1] = path
  local current = nil
  local env = {}
  env.VirtualHost = function(name)
    current = name
    result.hosts[name] = result.hosts[name] or { kind = "VirtualHost", options = {} }
  end
  env.Component = function(name)
    current = name
    result.hosts[name] = result.hosts[name] or { kind = "Component", options = {} }
    return function(module) result.hosts[name].module = module end
  end
  env.Include = function(pattern)
    result.includes[#result.includes + 1] = pattern
    if pattern:find("[*?]") then
      for _, file in ipairs(globbed) do load_file(file) end
    else
      load_file(conf_dir .. "/" .. pattern)
    end
  end
  setmetatable(env, {
    __index = function(_, key) error("config reads undefined name " .. tostring(key), 2) end,
    __newindex = function(_, key, value)
      local target = current and result.hosts[current].options or result.global
      if target[key] ~= nil then error("option " .. key .. " set twice in the same section", 2) end
      target[key] = value
    end,
  })
  local chunk, err = loadfile(path, "t", env)
  if not chunk then error(err) end
  chunk()
end

local function is_array(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  for i = 1, n do if t[i] == nil then return false end end
  return true
end
local function encode(value)
  local kind = type(value)
  if kind == "string" then
    return '"' .. value:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
  elseif kind == "number" or kind == "boolean" then
    return tostring(value)
  elseif kind == "table" then
    local parts = {}
    if next(value) == nil then return "{}" end
    if is_array(value) then
      for _, item in ipairs(value) do parts[#parts + 1] = encode(item) end
      return "[" .. table.concat(parts, ",") .. "]"
    end
    local keys = {}
    for key in pairs(value) do keys[#keys + 1] = tostring(key) end
    table.sort(keys)
    for _, key in ipairs(keys) do parts[#parts + 1] = encode(key) .. ":" .. encode(value[key]) end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  error("cannot encode a " .. kind)
end

load_file(main)
io.write(encode(result))
`;

/** prosody's main config under `root`, with every file the `conf.d/*.cfg.lua` Include pulls in. */
export async function readProsodyConfig(root: string): Promise<ProsodyConfig> {
  const confDir = join(root, 'etc/prosody');
  const enabled = (await readdir(join(confDir, 'conf.d')))
    .filter((name) => name.endsWith('.cfg.lua') && !name.startsWith('.'))
    .sort()
    .map((name) => join(confDir, 'conf.d', name));
  return withScratchDir('prosody-dump-', async (dir) => {
    const script = join(dir, 'dump.lua');
    await writeFile(script, PROSODY_CONFIG_DUMPER);
    const { stdout } = await execa('lua5.4', [script, join(confDir, 'prosody.cfg.lua'), confDir, ...enabled]);
    const parsed = JSON.parse(stdout) as ProsodyConfig;
    // Lua's empty table encodes as {}; normalise the lists we index.
    if (!Array.isArray(parsed.includes)) parsed.includes = [];
    return parsed;
  });
}

// ---------------------------------------------------------------- HOCON

const requireFromHere = createRequire(import.meta.url);
const parseHoconText = requireFromHere('@pushcorn/hocon-parser') as (options: { text: string; strict?: boolean }) => Promise<unknown>;

export async function parseHocon(text: string): Promise<Record<string, any>> {
  const value = await parseHoconText({ text, strict: true });
  if (value === null || typeof value !== 'object') throw new Error('HOCON document is not an object');
  return value as Record<string, any>;
}

// ---------------------------------------------------------------- config.js

/** Runs config.js as the browser would (a classic script) and returns its `config` global. */
export function evaluateWebConfig(source: string): Record<string, any> {
  const context = vm.createContext({});
  new vm.Script(source, { filename: 'config.js' }).runInContext(context);
  const config = vm.runInContext('config', context) as Record<string, any>;
  return JSON.parse(JSON.stringify(config)) as Record<string, any>;
}

// ---------------------------------------------------------------- coturn

/** turnserver.conf as coturn reads it: `key=value` or bare flags, `#` comments. Values keep repeats. */
export function parseTurnserverConf(text: string): Map<string, string[]> {
  const options = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    const value = eq < 0 ? '' : line.slice(eq + 1);
    options.set(key, [...(options.get(key) ?? []), value]);
  }
  return options;
}

export function single(options: Map<string, string[]>, key: string): string {
  const values = options.get(key);
  if (!values || values.length !== 1) throw new Error(`expected exactly one ${key}, got ${JSON.stringify(values)}`);
  return values[0]!;
}

// ---------------------------------------------------------------- nginx

export interface NginxBlock {
  name: string;
  args: string[];
  directives: Array<{ name: string; args: string[] }>;
  blocks: NginxBlock[];
}

/**
 * A small nginx config tokenizer and block parser: enough to find servers, locations and
 * their directives. `nginx -t` separately proves that nginx itself accepts the file.
 */
export function parseNginx(text: string): NginxBlock {
  const tokens: string[] = [];
  // As nginx does: quotes and # are special only at the start of a token.
  const pattern = /\s+|#[^\n]*|"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([{};])|([^\s{};"'#][^\s{};]*)/gy;
  let match: RegExpExecArray | null;
  let position = 0;
  while (position < text.length) {
    pattern.lastIndex = position;
    match = pattern.exec(text);
    if (!match) throw new Error(`cannot tokenize nginx config at ${JSON.stringify(text.slice(position, position + 30))}`);
    position = pattern.lastIndex;
    if (match[1] !== undefined) tokens.push(match[1]);
    else if (match[2] !== undefined) tokens.push(match[2]);
    else if (match[3] !== undefined) tokens.push(match[3]);
    else if (match[4] !== undefined) tokens.push(match[4]);
  }
  let index = 0;
  const parseBlock = (name: string, args: string[]): NginxBlock => {
    const block: NginxBlock = { name, args, directives: [], blocks: [] };
    while (index < tokens.length) {
      const words: string[] = [];
      while (index < tokens.length && !['{', '}', ';'].includes(tokens[index]!)) words.push(tokens[index++]!);
      const end = tokens[index++];
      if (end === '}') {
        if (words.length) throw new Error(`nginx: unterminated directive ${words.join(' ')}`);
        return block;
      }
      if (end === ';') block.directives.push({ name: words[0]!, args: words.slice(1) });
      else if (end === '{') block.blocks.push(parseBlock(words[0]!, words.slice(1)));
      else if (words.length) throw new Error(`nginx: directive without ; at end: ${words.join(' ')}`);
    }
    if (name !== 'main') throw new Error(`nginx: block ${name} not closed`);
    return block;
  };
  return parseBlock('main', []);
}

export function directiveArgs(block: NginxBlock, name: string): string[][] {
  return block.directives.filter((directive) => directive.name === name).map((directive) => directive.args);
}

export function location(server: NginxBlock, ...args: string[]): NginxBlock {
  const found = server.blocks.find((block) => block.name === 'location' && block.args.join(' ') === args.join(' '));
  if (!found) throw new Error(`no location ${args.join(' ')}`);
  return found;
}

/** Self-signed certificate and key for `name` in `dir` (nginx -t and coturn load them). */
export async function selfSignedPair(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await execa('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`,
  ]);
  return { cert, key };
}

/**
 * Keys of a parsed HOCON document that `reference` does not list (see
 * test/fixtures/jitsi-reference-keys.ts): leaves by their dotted path, arrays counting as leaves;
 * anything below a reference key marked ` {}` (an object of free keys) is known.
 */
export function unknownHoconKeys(document: Record<string, any>, reference: readonly string[]): string[] {
  const known = new Set(reference.filter((key) => !key.endsWith(' {}')));
  const open = reference.filter((key) => key.endsWith(' {}')).map((key) => key.slice(0, -' {}'.length));
  const unknown: string[] = [];
  const walk = (prefix: string, value: unknown): void => {
    if (open.some((key) => prefix.startsWith(`${key}.`))) return;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, child] of Object.entries(value)) walk(prefix ? `${prefix}.${key}` : key, child);
      return;
    }
    if (!known.has(prefix)) unknown.push(prefix);
  };
  walk('', document);
  return unknown;
}
