import test from 'ava';
import { execa } from 'execa';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { webComponent } from '../../../src/configurator/components/web/index.js';
import { evaluateWebConfig, FIXTURES, loadFixture } from '../../helpers/generated-files.js';
import { withScratchDir } from '../../helpers/scratch.js';
import { DEBIAN } from '../../../src/configurator/distribution.js';

for (const fixture of FIXTURES) {
  test(`${fixture}: config.js is a valid script naming the domains and endpoints`, async (t) => {
    const config = await loadFixture(fixture);
    const H = config.hostname;
    const [file] = webComponent.plan(config, { distribution: DEBIAN, init: 'systemd' }).files;
    t.is(file!.path, `/etc/jitsi/meet/${H}-config.js`);
    await withScratchDir('configjs-', async (dir) => {
      const path = join(dir, 'config.js');
      await writeFile(path, file!.content);
      await t.notThrowsAsync(execa(process.execPath, ['--check', path]));
    });
    const web = evaluateWebConfig(file!.content);
    t.deepEqual(web.hosts, {
      domain: H,
      anonymousdomain: `guest.${H}`,
      authdomain: H,
      muc: `conference.${H}`,
      focus: `focus.${H}`,
    });
    t.is(web.bosh, `https://${H}/http-bind`);
    t.is(web.websocket, `wss://${H}/xmpp-websocket`);
    t.deepEqual(web.p2p.stunServers, [{ urls: `stun:${H}:3478` }]);
  });
}
