/**
 * YAML loading that remembers where every mapping key and sequence item stood in the
 * source, so validation errors can name `file:line` instead of only a key path.
 *
 * js-yaml builds plain objects and keeps no positions; its `listener` hook reports every
 * node as it opens (with the line) and closes (with the result). We replay those events on a
 * stack and keep, per built object, a map from key (or index) to its 1-based line.
 */
import yaml from 'js-yaml';

export type Key = string | number;

export interface PositionedYaml {
  /** The loaded document, exactly as js-yaml returns it. */
  value: unknown;
  /** Line (1-based) where `key` of `container` was written, if known. */
  lineOf(container: unknown, key: Key): number | undefined;
}

interface Frame {
  line: number;
  children: { result: unknown; line: number }[];
}

export function loadYamlWithPositions(text: string, filename?: string): PositionedYaml {
  const lines = new WeakMap<object, Map<Key, number>>();
  const stack: Frame[] = [];

  const listener = (event: 'open' | 'close', state: { line: number; kind: string | null; result: unknown }) => {
    if (event === 'open') {
      stack.push({ line: state.line + 1, children: [] });
      return;
    }
    const frame = stack.pop();
    if (!frame) return;
    const result = state.result;
    // js-yaml opens some nodes twice (a wrapper around the real node); a frame whose only
    // child is the same result is that wrapper, and the inner line is the one to keep.
    const only = frame.children.length === 1 ? frame.children[0] : undefined;
    const line = only && only.result === result ? only.line : frame.line;
    if (!(only && only.result === result) && result !== null && typeof result === 'object') {
      const keyLines = new Map<Key, number>();
      if (Array.isArray(result)) {
        frame.children.forEach((child, index) => keyLines.set(index, child.line));
      } else if (state.kind === 'mapping') {
        for (let i = 0; i + 1 < frame.children.length; i += 2) {
          keyLines.set(String(frame.children[i].result), frame.children[i].line);
        }
      }
      if (!lines.has(result)) lines.set(result, keyLines);
    }
    stack[stack.length - 1]?.children.push({ result, line });
  };

  const value = yaml.load(text, {
    filename,
    schema: yaml.CORE_SCHEMA, // no implicit timestamps or binary: a recipe is plain data
    json: false,
    listener: listener as never,
  });

  return {
    value,
    lineOf(container, key) {
      if (container === null || typeof container !== 'object') return undefined;
      return lines.get(container)?.get(key);
    },
  };
}
