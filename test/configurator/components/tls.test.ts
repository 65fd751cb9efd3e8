import test from 'ava';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { DEPLOY_HOOK, deployHook, tlsComponent } from '../../../src/configurator/components/tls/index.js';
import type { MasterConfig } from '../../../src/configurator/master-config.js';
import { authTls, caStoreCopy, webTls } from '../../../src/configurator/paths.js';
import { scratchDir } from '../../helpers/scratch.js';
import { loadFixture } from '../../helpers/generated-files.js';
import { DEBIAN } from '../../../src/configurator/distribution.js';


const config = { hostname: 'meet.jitsi.test' } as MasterConfig;

test('the deploy hook is valid sh, executable, and installs to the canonical paths', async (t) => {
  const hook = deployHook(config, 'ssl-cert', DEBIAN);
  t.is(hook.path, DEPLOY_HOOK);
  t.is(hook.mode, 0o755);
  const dir = await scratchDir('deploy-hook-');
  await writeFile(join(dir, 'hook'), hook.content);
  await t.notThrowsAsync(execa('sh', ['-n', join(dir, 'hook')]));
  t.true(hook.content.includes(`'${webTls(config.hostname).cert}'`));
  t.true(hook.content.includes(`'${webTls(config.hostname).key}'`));
  t.regex(hook.content, /install -m 0640 -o root -g 'ssl-cert' "\$RENEWED_LINEAGE\/privkey\.pem"/);
});

test('the deploy hook ignores other lineages', async (t) => {
  const dir = await scratchDir('deploy-hook-');
  await writeFile(join(dir, 'hook'), deployHook(config, 'ssl-cert', DEBIAN).content);
  // Only `basename` on PATH: if the hook went on past the lineage check, `install` would not be
  // found and the hook would fail (set -e) instead of touching anything.
  await mkdir(join(dir, 'bin'));
  await symlink('/usr/bin/basename', join(dir, 'bin/basename'));
  const run = (lineage: string) =>
    execa('/bin/sh', [join(dir, 'hook')], { env: { RENEWED_LINEAGE: lineage, PATH: join(dir, 'bin') }, extendEnv: false, reject: false });
  const result = await run(join(dir, 'live/other.example.org'));
  t.is(result.exitCode, 0);
  t.is(result.stderr, '');
  const ours = await run(join(dir, 'live/meet.jitsi.test'));
  t.not(ours.exitCode, 0, 'our own lineage gets past the check (and fails here for want of install)');
  t.regex(ours.stderr, /install/);
});

test('the hook is planned in Let\'s Encrypt mode only, and removed otherwise', async (t) => {
  const letsencrypt = tlsComponent.plan(await loadFixture('letsencrypt'), { distribution: DEBIAN, init: 'systemd', keyGroup: 'ssl-cert' });
  t.deepEqual(letsencrypt.files.map((file) => [file.path, file.remove ?? false]), [[DEPLOY_HOOK, false]]);
  t.regex(letsencrypt.files[0]!.content, /-g 'ssl-cert'/);
  const withoutKeyGroup = tlsComponent.plan(await loadFixture('letsencrypt'), { distribution: DEBIAN, init: 'systemd' });
  t.regex(withoutKeyGroup.files[0]!.content, /-g 'root'/, 'root keeps the key when the image has no key group');
  const selfSigned = tlsComponent.plan(await loadFixture('localhost'), { distribution: DEBIAN, init: 'systemd' });
  t.deepEqual(selfSigned.files, [{ path: DEPLOY_HOOK, content: '', remove: true }]);
});

test('the plan holds both certificates: auth.<H> self-signed and trusted, the web one from the TLS mode', async (t) => {
  const facts = { distribution: DEBIAN, init: 'systemd' } as const;
  const selfSigned = await loadFixture('localhost');
  const [auth, web] = tlsComponent.plan(selfSigned, facts).certificates!;
  t.deepEqual(auth, { ...authTls(selfSigned.hostname), source: { kind: 'self-signed', names: [`auth.${selfSigned.hostname}`] }, trustedCopy: caStoreCopy(selfSigned.hostname) });
  t.deepEqual(web, { ...webTls(selfSigned.hostname), source: { kind: 'self-signed', names: [selfSigned.hostname] } });

  const own = await loadFixture('own-cert');
  t.deepEqual(tlsComponent.plan(own, facts).certificates![1]!.source, { kind: 'own', cert: own.tls.cert!, key: own.tls.key! });
  t.throws(() => tlsComponent.plan({ ...own, tls: { mode: 'own', cert: undefined, key: undefined } }, facts), { message: /set tls\.cert and tls\.key/ });

  const acme = await loadFixture('letsencrypt');
  const source = tlsComponent.plan(acme, facts).certificates![1]!.source;
  t.like(source, { kind: 'acme', lineage: acme.hostname, names: [acme.hostname], server: acme.letsencrypt.server, webroot: '/var/lib/jitsi-meet-config/acme' });
  t.like(source, { live: { cert: `/etc/letsencrypt/live/${acme.hostname}/fullchain.pem` }, renewalConfig: `/etc/letsencrypt/renewal/${acme.hostname}.conf` });
});
