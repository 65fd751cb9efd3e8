/**
 * The one table of component generators. Adding a component means adding a line here; the
 * apply step, `--show`-style listings and the tests all walk this table.
 */
import type { MasterConfig } from '../master-config.js';
import { coturnGenerator } from './coturn/index.js';
import { hostsGenerator } from './hosts/index.js';
import { jicofoGenerator } from './jicofo/index.js';
import { nginxGenerator } from './nginx/index.js';
import { prosodyGenerator } from './prosody/index.js';
import type { GeneratedFile, Generator, HostFacts } from './types.js';
import { videobridgeGenerator } from './videobridge/index.js';
import { webGenerator } from './web/index.js';

export const GENERATORS: readonly Generator[] = [
  prosodyGenerator,
  jicofoGenerator,
  videobridgeGenerator,
  webGenerator,
  nginxGenerator,
  coturnGenerator,
  hostsGenerator,
];

/**
 * Every file of every component, sorted by path. Two generators claiming one path is a bug in
 * this table, never something to resolve by order, so it throws.
 */
export function generateAll(config: MasterConfig, facts: HostFacts): GeneratedFile[] {
  return collectFiles(GENERATORS, config, facts);
}

/** The files of the given generators, sorted by path; throws on a relative or repeated path. */
export function collectFiles(generators: readonly Generator[], config: MasterConfig, facts: HostFacts): GeneratedFile[] {
  const producer = new Map<string, string>();
  const files: GeneratedFile[] = [];
  for (const generator of generators) {
    for (const file of generator.generate(config, facts)) {
      if (!file.path.startsWith('/')) throw new Error(`generator ${generator.name} produced a relative path: ${file.path}`);
      const previous = producer.get(file.path);
      if (previous) throw new Error(`generators ${previous} and ${generator.name} both produce ${file.path}`);
      producer.set(file.path, generator.name);
      files.push(file);
    }
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
