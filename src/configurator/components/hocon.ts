/**
 * Writes HOCON (the format of jicofo.conf and jvb.conf) from plain data. Generating from data
 * rather than templates means every string is quoted and escaped the same way and every brace
 * is closed, whatever the values are.
 */
export type HoconValue = string | number | boolean | HoconValue[] | HoconObject;
export interface HoconObject {
  [key: string]: HoconValue;
}

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

/** HOCON quoted strings are JSON strings; quoting also keeps `${` from meaning a substitution. */
function quote(value: string): string {
  return JSON.stringify(value);
}

function key(name: string): string {
  return BARE_KEY.test(name) ? name : quote(name);
}

function value(item: HoconValue, indent: string): string {
  if (typeof item === 'string') return quote(item);
  if (typeof item === 'number') {
    if (!Number.isFinite(item)) throw new Error(`HOCON cannot hold the number ${item}`);
    return String(item);
  }
  if (typeof item === 'boolean') return String(item);
  if (Array.isArray(item)) {
    if (item.length === 0) return '[]';
    const inner = `${indent}  `;
    return `[\n${item.map((entry) => `${inner}${value(entry, inner)}`).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(item);
  if (entries.length === 0) return '{}';
  const inner = `${indent}  `;
  return `{\n${entries.map(([name, entry]) => `${inner}${key(name)} = ${value(entry, inner)}`).join('\n')}\n${indent}}`;
}

/** The document: top-level keys without enclosing braces, after `#` comment lines. */
export function hoconDocument(comments: readonly string[], data: HoconObject): string {
  const header = comments.map((line) => (line ? `# ${line}` : '#')).join('\n');
  const body = Object.entries(data)
    .map(([name, entry]) => `${key(name)} ${typeof entry === 'object' && !Array.isArray(entry) ? '' : '= '}${value(entry, '')}`)
    .join('\n');
  return `${header}\n\n${body}\n`;
}
