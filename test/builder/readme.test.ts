/** The README's build section must say what the code does: the recipe key table comes from the schema. */
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { schemaMarkdown } from '../../src/lib/schema.js';
import { CLEANUP_STEPS, recipeSchema } from '../../src/builder/recipe/schema.js';
import { PROJECT_ROOT } from '../../src/builder/pipeline.js';
import { gentooStages, stages } from '../../src/builder/stages/index.js';
import { buildCommand } from '../../src/cli/commands/build.js';

async function buildSection(): Promise<string> {
  const readme = await readFile(join(PROJECT_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('<!-- section: build');
  const end = readme.indexOf('<!-- end section: build -->');
  return readme.slice(start, end);
}

test('the recipe key table in the README is the one the schema generates', async (t) => {
  t.true((await buildSection()).includes(schemaMarkdown(recipeSchema)), 'regenerate the table with schemaMarkdown(recipeSchema)');
});

test('every stage and cleanup step is named in the README, and the options used there exist', async (t) => {
  const section = await buildSection();
  // The stage list, whole names in order: `pack` must not pass because `package-list` is named.
  const list = /`src\/builder\/stages\/index\.ts`\):([^.]*)\./.exec(section)?.[1] ?? '';
  const known = new Set(stages.map((stage) => stage.name));
  const listed = (list.replace(/\([^)]*\)/g, '').match(/[a-z][a-z0-9-]*/g) ?? []).filter((word) => known.has(word));
  t.deepEqual(listed, stages.map((stage) => stage.name), `the README's stage list: ${list}`);
  // Gentoo's: its own stages, then Debian's from the first shared one on.
  const gentooList = /Gentoo's list:([^.]*)\./.exec(section)?.[1] ?? '';
  const gentooNames = gentooStages.map((stage) => stage.name);
  const firstShared = gentooStages.findIndex((stage) => stage !== stages[0] && stages.includes(stage));
  t.deepEqual(
    (gentooList.match(/[a-z][a-z0-9-]*/g) ?? []).filter((word) => gentooNames.includes(word)),
    gentooNames.slice(0, firstShared + 1),
    `the README's Gentoo stage list: ${gentooList}`,
  );
  t.deepEqual(gentooStages.slice(firstShared), stages.slice(stages.indexOf(gentooStages[firstShared]!)), "Gentoo's list ends with Debian's from there on");
  for (const step of CLEANUP_STEPS) t.true(section.includes(`\`${step}\``), step);
  const options = new Set(buildCommand.options.map((o) => o.name));
  for (const [, name] of section.matchAll(/npm run build:rootfs -- [^\n#]*?--([a-z-]+)/g)) t.true(options.has(name), name);
  for (const [, name] of section.matchAll(/`--([a-z-]+)[ `]/g)) t.true(options.has(name) || name === 'help', `--${name}`);
});
