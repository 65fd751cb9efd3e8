/**
 * Debian version numbers (`[epoch:]upstream[-revision]`) ordered as dpkg orders them (Debian
 * Policy 5.6.12): epochs numerically; then upstream and revision each compared by alternating
 * non-digit and digit runs, where in the non-digit runs `~` sorts before everything (even the
 * end of the string), letters before the other characters, and digit runs compare as numbers.
 */

export interface DebianVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

/** Why `text` is not a Debian version, or undefined. */
export function debianVersionProblem(text: string): string | undefined {
  if (!/^(\d+:)?[0-9][A-Za-z0-9.+~:-]*$/.test(text)) return `'${text}' is not a Debian version (it starts with a digit, then letters, digits and . + ~ - :)`;
  return undefined;
}

export function parseDebianVersion(text: string): DebianVersion {
  const problem = debianVersionProblem(text);
  if (problem) throw new Error(problem);
  const colon = text.indexOf(':');
  const epoch = colon > 0 && /^\d+$/.test(text.slice(0, colon)) ? Number(text.slice(0, colon)) : 0;
  const rest = colon > 0 && /^\d+$/.test(text.slice(0, colon)) ? text.slice(colon + 1) : text;
  const dash = rest.lastIndexOf('-');
  return dash >= 0 ? { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) } : { epoch, upstream: rest, revision: '' };
}

/** dpkg's weight of one character in a non-digit run; 0 stands for the end of the run. */
function order(char: string | undefined): number {
  if (char === undefined) return 0;
  if (char === '~') return -1;
  if (/[A-Za-z]/.test(char)) return char.charCodeAt(0);
  return char.charCodeAt(0) + 256;
}

function isDigit(char: string | undefined): boolean {
  return char !== undefined && char >= '0' && char <= '9';
}

/** dpkg's verrevcmp: negative, zero or positive as `a` sorts before, with or after `b`. */
function compareParts(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const ac = i < a.length && !isDigit(a[i]) ? order(a[i]) : 0;
      const bc = j < b.length && !isDigit(b[j]) ? order(b[j]) : 0;
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    let firstDiff = 0;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

/** Negative, zero or positive as version `a` is lower than, equal to or higher than `b`. */
export function compareDebianVersions(a: string, b: string): number {
  const va = parseDebianVersion(a);
  const vb = parseDebianVersion(b);
  if (va.epoch !== vb.epoch) return va.epoch - vb.epoch;
  return compareParts(va.upstream, vb.upstream) || compareParts(va.revision, vb.revision);
}
