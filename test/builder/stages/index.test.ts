import test from 'ava';
import { gentooStages, stages, stagesFor } from '../../../src/builder/stages/index.js';

test("Debian's stage list is the one Debian builds always ran, in that order", (t) => {
  t.deepEqual(
    stages.map((stage) => stage.name),
    ['check-host-tools', 'bootstrap', 'jitsi-packages', 'overlays', 'install-configurator', 'disable-services', 'lock-root', 'cleanup', 'package-list', 'nspawn-settings', 'pack', 'inspect', 'sign'],
  );
  t.is(stagesFor('debian'), stages);
});

test("Gentoo's list: the stage3, portage, Jitsi's .debs, then Debian's own stages from the overlays on", (t) => {
  t.is(stagesFor('gentoo'), gentooStages);
  t.deepEqual(
    gentooStages.map((stage) => stage.name),
    ['check-host-tools', 'gentoo-stage3', 'gentoo-portage', 'gentoo-jitsi', 'overlays', 'install-configurator', 'disable-services', 'lock-root', 'cleanup', 'package-list', 'nspawn-settings', 'pack', 'inspect', 'sign'],
  );
  // The shared stages are the same objects, not copies that could drift apart.
  const shared = stages.slice(stages.findIndex((stage) => stage.name === 'overlays'));
  t.deepEqual(gentooStages.slice(-shared.length), shared);
  for (const [i, stage] of shared.entries()) t.is(gentooStages[gentooStages.length - shared.length + i], stage);
  t.is(gentooStages[0], stages[0]);
});
