/** `--skip` and `--sign` are checked against the stage list of the image's distribution, not Debian's alone. */
import test from 'ava';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { buildRootfs, checkBuildOptions, checkStageOptions, PROJECT_ROOT } from '../../src/builder/pipeline.js';
import { gentooStages, stages, stagesFor } from '../../src/builder/stages/index.js';
import { UserError } from '../../src/lib/errors.js';
import { scratchDir } from '../helpers/scratch.js';

test("a gentoo image's own stages may be skipped; Debian's are not its stages, and the message lists Gentoo's", (t) => {
  t.notThrows(() => checkStageOptions({ skip: ['gentoo-portage', 'gentoo-jitsi', 'cleanup/portage-distfiles', 'package-list'] }, stagesFor('gentoo'), 'gentoo'));
  const error = t.throws(() => checkStageOptions({ skip: ['bootstrap'] }, stagesFor('gentoo'), 'gentoo'), { instanceOf: UserError });
  t.regex(error!.message, /^--skip bootstrap: a gentoo image has no such stage or cleanup step \(its stages: /);
  t.true(error!.message.includes(`its stages: ${gentooStages.map((stage) => stage.name).join(', ')};`), error!.message);
  t.true(error!.message.includes('cleanup/portage-distfiles'), 'names the cleanup steps too');
  t.throws(() => checkStageOptions({ skip: ['jitsi-packages'] }, stagesFor('gentoo'), 'gentoo'), { message: /^--skip jitsi-packages: a gentoo image has no such stage/ });
});

test("Gentoo's stage3 is what bootstrap is to Debian: without it there is no root, so it cannot be skipped; nor can pack", (t) => {
  t.throws(() => checkStageOptions({ skip: ['gentoo-stage3'] }, stagesFor('gentoo'), 'gentoo'), { instanceOf: UserError, message: /^--skip gentoo-stage3: this stage cannot be skipped/ });
  t.throws(() => checkStageOptions({ skip: ['pack'] }, stagesFor('gentoo'), 'gentoo'), { message: /^--skip pack: this stage cannot be skipped/ });
});

test("a debian image: Gentoo's stages are refused naming Debian's, bootstrap still cannot be skipped", (t) => {
  const error = t.throws(() => checkStageOptions({ skip: ['gentoo-portage'] }, stagesFor('debian'), 'debian'), { instanceOf: UserError });
  t.true(error!.message.startsWith(`--skip gentoo-portage: a debian image has no such stage or cleanup step (its stages: ${stages.map((stage) => stage.name).join(', ')};`), error!.message);
  t.throws(() => checkStageOptions({ skip: ['bootstrap'] }, stagesFor('debian'), 'debian'), { message: /--skip bootstrap: this stage cannot be skipped/ });
  t.throws(() => checkStageOptions({ signKey: 'k.asc' }, [], 'debian'), { message: /--sign: this build has no sign stage/ });
  t.notThrows(() => checkStageOptions({ signKey: 'k.asc' }, stagesFor('gentoo'), 'gentoo'));
});

test('with --recipe the distribution is the recipe\'s: the option check leaves the stage names to the build, which reads it', (t) => {
  t.notThrows(() => checkBuildOptions({ init: 'openrc', recipe: join(PROJECT_ROOT, 'recipes/gentoo-23.0.yaml'), skip: ['gentoo-portage'] }));
  // Without --recipe the distribution is --distro's (debian by default): checked at once.
  t.throws(() => checkBuildOptions({ init: 'openrc', skip: ['gentoo-portage'] }), { message: /a debian image has no such stage/ });
});

test('the build checks --skip against the stages of the recipe it read, before making anything', async (t) => {
  const out = await scratchDir('stage-options-out-');
  const error = await t.throwsAsync(
    buildRootfs({ init: 'systemd', recipe: join(PROJECT_ROOT, 'recipes/debian-bookworm.yaml'), skip: ['gentoo-stage3'], outDir: out, renderer: 'silent' }),
    { instanceOf: UserError },
  );
  t.regex(error!.message, /^--skip gentoo-stage3: a debian image has no such stage or cleanup step/);
  t.deepEqual(await readdir(out), []);
});
