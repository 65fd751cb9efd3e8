import test from 'ava';
import { affectedServices } from '../../../src/configurator/apply/services.js';
import { servicesOf } from '../../../src/configurator/apply/run.js';
import type { MasterConfig } from '../../../src/configurator/master-config.js';
import { webTls } from '../../../src/configurator/paths.js';

const config = { hostname: 'meet.jitsi.test' } as MasterConfig;
const names = (paths: string[]) => affectedServices(servicesOf(config), paths).map((service) => service.name);

test('a changed file restarts exactly the services that read it', (t) => {
  t.deepEqual(names(['/etc/prosody/conf.avail/meet.jitsi.test.cfg.lua']), ['prosody']);
  t.deepEqual(names(['/etc/nginx/sites-available/meet.jitsi.test.conf']), ['nginx']);
  t.deepEqual(names(['/etc/turnserver.conf']), ['coturn']);
  t.deepEqual(names(['/etc/jitsi/jicofo/jicofo.conf']), ['jicofo']);
  t.deepEqual(names(['/etc/jitsi/videobridge/config']), ['jitsi-videobridge2']);
  t.deepEqual(names([webTls('meet.jitsi.test').cert]), ['prosody', 'nginx', 'coturn'], 'the web certificate is read by all three');
  t.deepEqual(names(['account:focus@auth.meet.jitsi.test']), ['jicofo'], 'a new focus password restarts jicofo');
  t.deepEqual(names(['/etc/jitsi/meet/meet.jitsi.test-config.js', '/etc/hosts']), [], 'config.js is static: nothing to restart');
  t.deepEqual(names([]), []);
});

test('nginx is reloaded, not restarted', (t) => {
  t.true(servicesOf(config).find((service) => service.name === 'nginx')?.reload);
  t.falsy(servicesOf(config).find((service) => service.name === 'prosody')?.reload);
});
