/**
 * The one table of component generators. Adding a component means adding a line here; the
 * apply step, `--show`-style listings and the tests all walk this table.
 */
import type { MasterConfig } from '../master-config.js';
import { coturnGenerator } from './coturn.js';
import { hostsGenerator } from './hosts.js';
import { jicofoGenerator } from './jicofo.js';
import { nginxGenerator } from './nginx.js';
import { prosodyGenerator } from './prosody.js';
import type { GeneratedFile, Generator, HostFacts } from './types.js';
import { videobridgeGenerator } from './videobridge.js';
import { webGenerator } from './web.js';

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
  const owners = new Map<string, string>();
  const files: GeneratedFile[] = [];
  for (const generator of GENERATORS) {
    for (const file of generator.generate(config, facts)) {
      if (!file.path.startsWith('/')) throw new Error(`generator ${generator.name} produced a relative path: ${file.path}`);
      const previous = owners.get(file.path);
      if (previous) throw new Error(`generators ${previous} and ${generator.name} both produce ${file.path}`);
      owners.set(file.path, generator.name);
      files.push(file);
    }
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Which generator produces a path (for messages such as "nginx: /etc/nginx/... replaced"). */
export function generatorOf(config: MasterConfig, facts: HostFacts, path: string): string | undefined {
  return GENERATORS.find((generator) => generator.generate(config, facts).some((file) => file.path === path))?.name;
}
