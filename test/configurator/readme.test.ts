import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { schemaMarkdown } from '../../src/lib/schema.js';
import { helpText } from '../../src/configurator/cli.js';
import { masterConfigSchema } from '../../src/configurator/master-config.js';
import { REPO } from '../helpers/configurator-process.js';

test('README\'s table of master-config keys is the one generated from the schema', async (t) => {
  const readme = await readFile(join(REPO, 'README.md'), 'utf8');
  const match = /<!-- generated: master-config keys \(schemaMarkdown\) -->\n([\s\S]*?)\n<!-- end generated: master-config keys -->/.exec(readme);
  t.truthy(match, 'README has the generated block in its configure section');
  t.is(match![1], schemaMarkdown(masterConfigSchema), 'regenerate the table: schemaMarkdown(masterConfigSchema)');
  t.false(match![1].includes('secrets'), 'secrets are hidden from the docs');
});

test('every option README documents for jitsi-meet-config is one --help shows, and the other way round', async (t) => {
  const readme = await readFile(join(REPO, 'README.md'), 'utf8');
  const part = /<!-- part: questions and answers[^\n]*\n([\s\S]*?)<!-- end part: questions and answers -->/.exec(readme)![1];
  const documented = new Set([...part.matchAll(/^- `(--[a-z-]+)/gm)].map((m) => m[1]));
  const helped = new Set([...helpText().matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]));
  helped.delete('--help');
  helped.delete('--version');
  t.deepEqual([...documented].sort(), [...helped].sort());
});
