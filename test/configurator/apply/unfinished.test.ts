import test from 'ava';
import { access, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { scratchDir } from '../../helpers/scratch.js';
import { APPLY_UNFINISHED, beginApply, finishApply, servicesToRestart } from '../../../src/configurator/apply/unfinished.js';
import { planServer } from '../../../src/configurator/components/index.js';
import { webTls } from '../../../src/configurator/paths.js';
import { loadFixture } from '../../helpers/generated-files.js';
import { DEBIAN } from '../../../src/configurator/distribution.js';

const exists = (path: string) => access(path).then(() => true, () => false);

test('a run cut short before its services were brought up makes the next run restart every service, once', async (t) => {
  const root = await scratchDir('jmc-unfinished-');
  const marker = join(root, APPLY_UNFINISHED);
  t.false(await beginApply(root), 'nothing unfinished on a fresh machine');
  t.true(await exists(marker), 'marked before the first change');
  t.is((await stat(marker)).mode & 0o777, 0o644);
  // Killed here (files written, nothing restarted): the next run finds the marker.
  t.true(await beginApply(root), 'the next run sees the earlier one never finished');
  await finishApply(root);
  t.false(await exists(marker), 'gone once the services are up');
  t.false(await beginApply(root), 'a run after a finished one restarts only what it changes');
  await finishApply(root);
});

test('what is restarted: every installed service after an unfinished run, else those whose inputs changed', async (t) => {
  const services = planServer({ ...(await loadFixture('public-nat')), hostname: 'meet.jitsi.test' }, { distribution: DEBIAN, init: 'systemd' }).services;
  const names = (changed: string[], unfinished: boolean) => servicesToRestart(services, changed, unfinished).map((service) => service.name);
  // The killed run wrote the new certificate; the re-run finds every file right and changes nothing.
  t.deepEqual(names([], true), services.map((service) => service.name));
  t.deepEqual(names([], false), []);
  t.deepEqual(names([webTls('meet.jitsi.test').cert], false).sort(), ['coturn', 'nginx', 'prosody']);
});
