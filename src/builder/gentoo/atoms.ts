/**
 * The spelling of what a recipe may write into portage's configuration: package atoms, USE
 * flags, keywords and make.conf settings, checked strictly so that nothing a recipe says can
 * change the meaning of the line it lands on (a blank, a quote or a `$` in the wrong place).
 * The grammar is the Package Manager Specification's (category and package names, versions,
 * slots, repositories), narrowed to what a recipe needs.
 */

const CATEGORY = '[A-Za-z0-9_][A-Za-z0-9+_.-]*';
// A package name may not end in a hyphen followed by what would read as a version.
const NAME = '[A-Za-z0-9_][A-Za-z0-9+_-]*';
const VERSION = '[0-9]+(?:\\.[0-9]+)*[a-z]?(?:_(?:alpha|beta|pre|rc|p)[0-9]*)*(?:-r[0-9]+)?';
const SLOT = '(?::[A-Za-z0-9_][A-Za-z0-9+_.-]*(?:/[A-Za-z0-9_][A-Za-z0-9+_.-]*)?)?';
const REPO = '(?:::[A-Za-z0-9_][A-Za-z0-9_-]*)?';

const PLAIN_ATOM = new RegExp(`^${CATEGORY}/${NAME}${SLOT}${REPO}$`);
const VERSIONED_ATOM = new RegExp(`^(?:>=|<=|=|~|<|>)${CATEGORY}/${NAME}-${VERSION}\\*?${SLOT}${REPO}$`);
const WILDCARD_ATOM = new RegExp(`^(?:\\*|${CATEGORY})/\\*$`);

function nameEndsInVersion(atom: string): boolean {
  const name = atom.replace(/^[<>=~]*/, '').split('/')[1]?.split(':')[0] ?? '';
  return new RegExp(`-${VERSION}$`).test(name);
}

/**
 * `www-servers/nginx`, `dev-java/openjdk-bin:21`, `>=net-im/prosody-13.0`, `net-im/coturn::gentoo`;
 * with `wildcard`, also `dev-lua/*` and the all-packages wildcard (package.use and package.accept_keywords take them).
 */
export function atomProblem(atom: string, options: { wildcard?: boolean } = {}): string | undefined {
  if (options.wildcard && WILDCARD_ATOM.test(atom)) return undefined;
  const plain = PLAIN_ATOM.test(atom) && !nameEndsInVersion(atom);
  if (plain || VERSIONED_ATOM.test(atom)) return undefined;
  if (/^[A-Za-z0-9+_.-]+$/.test(atom)) return `'${atom}' is not a Gentoo package atom: write category/name (like www-servers/nginx)`;
  return `'${atom}' is not a Gentoo package atom: write category/name, optionally with :slot, ::repository or an operator and version (like dev-java/openjdk-bin:21 or >=net-im/prosody-13.0)${options.wildcard ? ', or category/*' : ''}`;
}

/** One word of a package.use line: `ssl`, `-X`, `-*`, or a USE_EXPAND name ending in a colon (`LUA_SINGLE_TARGET:`). */
export function useTokenProblem(token: string): string | undefined {
  if (token === '-*' || /^-?[A-Za-z0-9][A-Za-z0-9+_@.-]*$/.test(token) || /^[A-Z][A-Z0-9_]*:$/.test(token)) return undefined;
  return `'${token}' is not a USE flag: write a flag (ssl), a disabled one (-X), -*, or a USE_EXPAND name with a colon (LUA_SINGLE_TARGET:) followed by its values`;
}

/** A whole package.use flag list: a USE_EXPAND name must be followed by a value. */
export function useFlagsProblem(flags: string[]): string | undefined {
  if (flags.length === 0) return 'no flags: list at least one USE flag';
  const last = flags[flags.length - 1];
  if (last.endsWith(':')) return `${last} has no values after it (like LUA_SINGLE_TARGET: -* lua5-4)`;
  return undefined;
}

/** One word of a package.accept_keywords line: `~amd64`, `amd64`, `**`, `~*`, `*`. */
export function keywordProblem(keyword: string): string | undefined {
  if (/^-?~?[a-z0-9][a-z0-9-]*$/.test(keyword) || ['**', '~*', '*', '-*'].includes(keyword)) return undefined;
  return `'${keyword}' is not a keyword: write ~amd64, ~arm64, ** or leave keywords out (accepts ~ of the image's architecture)`;
}

/** Settings the build writes into make.conf itself (portage-config.ts); a recipe may not set them again. */
export const MAKE_CONF_WRITTEN = [
  'COMMON_FLAGS',
  'CFLAGS',
  'CXXFLAGS',
  'FCFLAGS',
  'FFLAGS',
  'LC_MESSAGES',
  'GENTOO_MIRRORS',
  'FEATURES',
] as const;

/** Settings a recipe must say elsewhere (they would bypass a documented key). */
const MAKE_CONF_ELSEWHERE: Record<string, string> = {
  PORTAGE_BINHOST: 'gentoo.binhost (portage reads binrepos.conf; PORTAGE_BINHOST is deprecated)',
  ACCEPT_KEYWORDS: 'gentoo.accept-keywords, per package (a global ~arch would make every package a testing one)',
};

export function makeConfNameProblem(name: string): string | undefined {
  if (!/^[A-Z][A-Z0-9_]*$/.test(name)) return `'${name}' is not a make.conf variable name (upper case letters, digits, _)`;
  if ((MAKE_CONF_WRITTEN as readonly string[]).includes(name)) {
    return `${name} is written by the build itself (${MAKE_CONF_WRITTEN.join(', ')}); a recipe cannot set it`;
  }
  if (Object.hasOwn(MAKE_CONF_ELSEWHERE, name)) return `${name}: set it with ${MAKE_CONF_ELSEWHERE[name]}`;
  return undefined;
}

/** The value is written between double quotes: nothing in it may end the quotes or expand. */
export function makeConfValueProblem(value: string): string | undefined {
  if (/["\\$`\n\r]/.test(value)) return `${JSON.stringify(value)}: a make.conf value here may not hold " \\ $ \` or a line break`;
  return undefined;
}

/** `default/linux/amd64/23.0/systemd`: a profile path relative to the repository's profiles/. */
export function profileProblem(profile: string): string | undefined {
  const parts = profile.split('/');
  if (parts.every((part) => /^[A-Za-z0-9_][A-Za-z0-9+_.-]*$/.test(part)) && !parts.includes('..')) return undefined;
  return `'${profile}' is not a profile name: write it as eselect profile list shows it (like default/linux/amd64/23.0/systemd)`;
}
