/**
 * Loads a recipe: reads the file and its `include:` parts (depth first, each once, cycles
 * refused), validates each against the one recipe schema, merges them and keeps what applies
 * to one init system. Every problem is reported as `file:line: key: what is wrong`, naming
 * the file where the offending value was written, not the top recipe.
 */
import { access, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { formatIssue, SchemaError, validate, type Issue } from '../../lib/schema.js';
import { loadYamlWithPositions, type PositionedYaml } from '../../lib/yaml-positions.js';
import { UserError } from '../../lib/errors.js';
import type { InitSystem } from '../../lib/init-systems.js';
import { CLEANUP_STEPS, RECIPE_FALLBACKS, recipeSchema, type CleanupStep, type RecipeDistro, type RecipeFile, type ResolvedRecipe } from './schema.js';


interface LoadedPart {
  file: string;
  recipe: RecipeFile;
  raw: PositionedYaml;
}

/** Thrown for recipe problems; the message is one `file:line: key: problem` line per issue. */
export class RecipeError extends UserError {
  override name = 'RecipeError';
}

async function readPart(file: string): Promise<LoadedPart> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new RecipeError(`${file}: cannot read recipe: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let raw: PositionedYaml;
  try {
    raw = loadYamlWithPositions(text, file);
  } catch (error) {
    const mark = (error as { mark?: { line: number } }).mark;
    const reason = (error as { reason?: string }).reason ?? (error as Error).message;
    throw new RecipeError(formatIssue(file, { path: '', line: mark ? mark.line + 1 : undefined, message: `not valid YAML: ${reason}` }));
  }
  // Never quote a document that is not a recipe: it may be any file (an include can name one).
  const isMapping = raw.value !== null && typeof raw.value === 'object' && !Array.isArray(raw.value);
  const keys = isMapping ? Object.keys(raw.value as object) : [];
  const known = recipeSchema.fields ?? {};
  // Not a mapping, or a mapping none of whose keys is a recipe key (how `user:hash:...` lines parse).
  if ((raw.value !== null && raw.value !== undefined && !isMapping) || (keys.length > 0 && !keys.some((key) => Object.hasOwn(known, key)))) {
    throw new RecipeError(`${file}: not a recipe: expected a YAML mapping of recipe keys (like \`base: { suite: bookworm }\`)`);
  }
  const result = validate(recipeSchema, raw.value, raw.lineOf);
  if (!result.ok) throw new RecipeError(new SchemaError(file, result.issues).message);
  return { file, recipe: result.value, raw };
}

/** Line of `container[key]` in a part's source, for errors found after validation. */
function lineIn(part: LoadedPart, path: (string | number)[]): number | undefined {
  let container: unknown = part.raw.value;
  let line: number | undefined;
  for (const key of path) {
    if (container === null || typeof container !== 'object') break;
    line = part.raw.lineOf(container, key) ?? line;
    container = (container as Record<string | number, unknown>)[key];
  }
  return line;
}

function issueError(part: LoadedPart, path: (string | number)[], message: string): RecipeError {
  const dotted = path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
  const issue: Issue = { path: dotted, line: lineIn(part, path), message };
  return new RecipeError(formatIssue(part.file, issue));
}

/** Reads `file` and its includes, depth first, included parts before the including one. */
async function loadParts(file: string, chain: string[], seen: Set<string>, out: LoadedPart[]): Promise<void> {
  const part = await readPart(file);
  for (const [index, include] of part.recipe.include.entries()) {
    if (!/\.ya?ml$/.test(include)) {
      throw issueError(part, ['include', index], `'${include}' is not a recipe part: parts are .yaml files (like include/common.yaml)`);
    }
    const target = isAbsolute(include) ? include : resolve(dirname(file), include);
    if (chain.includes(target) || target === file) {
      throw issueError(part, ['include', index], `include cycle: ${[...chain, file, target].map((f) => relative(process.cwd(), f) || f).join(' -> ')}`);
    }
    if (seen.has(target)) continue; // a diamond: the shared part is merged once, where first met
    try {
      await access(target);
    } catch {
      throw issueError(part, ['include', index], `included file ${target} does not exist`);
    }
    seen.add(target);
    await loadParts(target, [...chain, file], seen, out);
  }
  out.push(part);
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

export interface ResolveOptions {
  /** Directory holding overlays/ (the repository root). */
  projectRoot: string;
  init: InitSystem;
}

/**
 * Loads `file` with its includes and returns the recipe for one init system. Throws
 * RecipeError (a UserError) naming file, line and key for anything wrong.
 */
export async function resolveRecipe(file: string, options: ResolveOptions): Promise<ResolvedRecipe> {
  const top = resolve(file);
  const parts: LoadedPart[] = [];
  await loadParts(top, [], new Set([top]), parts);

  let description: string | undefined;
  let distro: RecipeDistro | undefined;
  let suite: string | undefined;
  let mirror: string | undefined;
  let variant: string | undefined;
  let components: string[] | undefined;
  let architecture: string | undefined;
  let sourceDateEpoch: number | undefined;
  const packages: string[] = [];
  const initPackages: string[] = [];
  const overlays: string[] = [];
  const servicesOff: string[] = [];
  const cleanup: CleanupStep[] = [];
  let jitsi: ResolvedRecipe['jitsi'];
  let gentoo: ResolvedRecipe['gentoo'];

  for (const part of parts) {
    const { recipe } = part;
    description = recipe.description ?? description;
    distro = recipe.base.distro ?? distro;
    suite = recipe.base.suite ?? suite;
    mirror = recipe.base.mirror ?? mirror;
    variant = recipe.base.variant ?? variant;
    components = recipe.base.components ?? components;
    architecture = recipe.base.architecture ?? architecture;
    sourceDateEpoch = recipe['source-date-epoch'] ?? sourceDateEpoch;
    for (const pkg of recipe.packages) if (!pkg.init || pkg.init === options.init) packages.push(pkg.name);
    for (const pkg of recipe.packages) if (pkg.init === options.init) initPackages.push(pkg.name);
    for (const [index, overlay] of recipe.overlays.entries()) {
      if (overlay.init && overlay.init !== options.init) continue;
      const dir = resolve(options.projectRoot, 'overlays', overlay.path);
      const below = relative(join(options.projectRoot, 'overlays'), dir);
      if (below === '' || below.startsWith('..') || isAbsolute(below)) {
        // '' and '.' would copy every overlay, of both init systems, onto the image.
        throw issueError(part, ['overlays', index, 'path'], `'${overlay.path}' is not below overlays/: name a directory below overlays/ (like common)`);
      }
      try {
        await access(dir);
      } catch {
        throw issueError(part, ['overlays', index, 'path'], `overlay directory ${dir} does not exist`);
      }
      overlays.push(dir);
    }
    for (const entry of recipe['services-off']) if (!entry.init || entry.init === options.init) servicesOff.push(entry.service);
    cleanup.push(...recipe.cleanup);
    jitsi = recipe.jitsi ?? jitsi;
    if (recipe.gentoo) {
      const keyFile = recipe.gentoo['key-file'];
      // Relative to the part that names it, like includes.
      gentoo = { ...recipe.gentoo, 'key-file': keyFile === undefined ? undefined : resolve(dirname(part.file), keyFile) };
    }
  }

  const topPart = parts[parts.length - 1];
  if (!suite) throw issueError(topPart, ['base'], 'base.suite is not set here or in any included part (e.g. suite: bookworm)');
  if ((distro ?? RECIPE_FALLBACKS.distro) === 'gentoo') checkGentooRecipe(parts, suite);

  return {
    file: top,
    files: [top, ...parts.slice(0, -1).map((p) => p.file)],
    description: description ?? `${distro ?? RECIPE_FALLBACKS.distro} ${suite}`,
    distro: distro ?? RECIPE_FALLBACKS.distro,
    suite,
    mirror: mirror ?? RECIPE_FALLBACKS.mirror,
    variant: variant ?? RECIPE_FALLBACKS.variant,
    components: components ?? RECIPE_FALLBACKS.components,
    architecture,
    sourceDateEpoch: sourceDateEpoch ?? RECIPE_FALLBACKS.sourceDateEpoch,
    init: options.init,
    packages: unique(packages),
    // A package some part names for every init system is not init-specific, even if another names it for one.
    initPackages: unique(initPackages).filter((name) => !parts.some((part) => part.recipe.packages.some((pkg) => pkg.name === name && !pkg.init))),
    overlays: unique(overlays),
    servicesOff: unique(servicesOff),
    ...(jitsi ? { jitsi } : {}),
    ...(gentoo ? { gentoo } : {}),
    // Run in the order the cleanup stage defines, whatever order the parts listed them in.
    cleanup: CLEANUP_STEPS.filter((step) => cleanup.includes(step)),
  };
}

/**
 * What only a Gentoo recipe must satisfy: its packages are atoms in the gentoo section (the
 * top-level list holds Debian package names), and its suite is the profile release the binary
 * host is named by (23.0).
 */
function checkGentooRecipe(parts: LoadedPart[], suite: string): void {
  for (const part of parts) {
    if (part.recipe.packages.length > 0) {
      throw issueError(
        part,
        ['packages', 0],
        `'${part.recipe.packages[0].name}': a gentoo recipe lists its packages as atoms under gentoo.packages (like { atom: www-servers/nginx }); packages: holds Debian package names`,
      );
    }
  }
  const suitePart = [...parts].reverse().find((part) => part.recipe.base.suite !== undefined)!;
  if (!/^[0-9]+\.[0-9]+$/.test(suite)) {
    throw issueError(suitePart, ['base', 'suite'], `'${suite}' is not a Gentoo profile release: write the release the profiles and binary host are named by (like 23.0)`);
  }
  if (!parts.some((part) => part.recipe.gentoo)) {
    throw issueError(parts[parts.length - 1], ['base', 'distro'], 'a gentoo recipe needs a gentoo section (mirror, keys, packages) here or in an included part');
  }
}

/** The recipe file for a distro and suite: recipes/<distro>-<suite>.yaml. */
export function recipePathFor(projectRoot: string, distro: string, suite: string): string {
  return join(projectRoot, 'recipes', `${distro}-${suite}.yaml`);
}
