import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { nginxComponent, siteConfig } from '../../../src/configurator/components/nginx/index.js';
import { ACME_WEBROOT, webTls } from '../../../src/configurator/paths.js';
import { directiveArgs, fileAt, FIXTURES, loadFixture, location, parseNginx, selfSignedPair } from '../../helpers/generated-files.js';
import { withScratchDir } from '../../helpers/scratch.js';
import { DEBIAN, nginxSiteFiles as siteFilesOf } from '../../../src/configurator/distribution.js';

/** Debian's site files and the default site that must go. */
const nginxSiteFiles = (hostname: string) => siteFilesOf(DEBIAN, hostname) as { available: string; enabled: string };
const DEBIAN_DEFAULT_SITE = '/etc/nginx/sites-enabled/default';

/**
 * nginx -t on the generated site inside Debian's own main config (/etc/nginx/nginx.conf, as the
 * image has it, with its own module paths): only its pid file, error log and sites-enabled include are
 * pointed into a temporary directory, and the site's certificate paths (the canonical ones from paths.ts)
 * at a temporary self-signed pair. Everything else is tested as written, so a directive that
 * clashes with Debian's http block (a duplicate, a wrong context) fails here.
 */
async function nginxTest(site: string, hostname: string): Promise<{ exitCode: number; output: string }> {
  return withScratchDir('nginx-t-', async (prefix) => {
    const pair = await selfSignedPair(prefix, hostname);
    const tls = webTls(hostname);
    const rewritten = site.split(tls.cert).join(pair.cert).split(tls.key).join(pair.key);
    await writeFile(join(prefix, 'site.conf'), rewritten);
    const debianMain = await readFile('/etc/nginx/nginx.conf', 'utf8');
    const main = replaceOnce(
      replaceOnce(replaceOnce(debianMain, /^pid [^;]+;/m, `pid ${join(prefix, 'nginx.pid')};`), /^error_log [^;]+;/m, 'error_log stderr;'),
      /^(\s*)include \/etc\/nginx\/sites-enabled\/\*;/m,
      `$1include ${join(prefix, 'site.conf')};`,
    );
    await writeFile(join(prefix, 'nginx.conf'), main);
    const result = await execa('nginx', ['-t', '-q', '-c', join(prefix, 'nginx.conf'), '-e', 'stderr'], { reject: false, all: true });
    return { exitCode: result.exitCode ?? -1, output: result.all ?? '' };
  });
}

function replaceOnce(text: string, pattern: RegExp, replacement: string): string {
  if (!pattern.test(text)) throw new Error(`Debian's nginx.conf has no line matching ${pattern}: adapt this test to its layout`);
  return text.replace(pattern, replacement);
}

for (const fixture of FIXTURES) {
  test(`${fixture}: nginx -t accepts the site`, async (t) => {
    const config = await loadFixture(fixture);
    const site = fileAt(nginxComponent.plan(config, { distribution: DEBIAN, init: 'systemd' }).files, nginxSiteFiles(config.hostname).available).content;
    const result = await nginxTest(site, config.hostname);
    t.is(result.exitCode, 0, result.output);
  });
}

test('nginx -t really checks: a broken site fails', async (t) => {
  const config = await loadFixture('localhost');
  const site = fileAt(nginxComponent.plan(config, { distribution: DEBIAN, init: 'systemd' }).files, nginxSiteFiles('localhost').available).content;
  const result = await nginxTest(site.replace('ssi on;', 'ssi maybe;'), 'localhost');
  t.not(result.exitCode, 0);
  t.regex(result.output, /ssi/);
});

test('port 80: ACME challenges served from the webroot without redirect, everything else to https', async (t) => {
  const config = await loadFixture('letsencrypt');
  const site = parseNginx(fileAt(nginxComponent.plan(config, { distribution: DEBIAN, init: 'systemd' }).files, nginxSiteFiles(config.hostname).available).content);
  const servers = site.blocks.filter((block) => block.name === 'server');
  const plain = servers.find((server) => directiveArgs(server, 'listen').some((args) => args[0] === '80'))!;
  t.deepEqual(directiveArgs(plain, 'server_name'), [[config.hostname]]);
  const acme = location(plain, '^~', '/.well-known/acme-challenge/');
  t.deepEqual(directiveArgs(acme, 'root'), [[ACME_WEBROOT]]);
  t.deepEqual(directiveArgs(acme, 'return'), []);
  t.deepEqual(directiveArgs(location(plain, '/'), 'return'), [['301', 'https://$host$request_uri']]);
});

test('port 443: canonical cert paths (also for an own certificate), app, config.js, BOSH and websocket proxies', async (t) => {
  const config = await loadFixture('own-cert');
  const H = config.hostname;
  const site = parseNginx(fileAt(nginxComponent.plan(config, { distribution: DEBIAN, init: 'systemd' }).files, nginxSiteFiles(H).available).content);
  const tls = site.blocks.find((server) => directiveArgs(server, 'listen').some((args) => args[0] === '443'))!;
  t.true(directiveArgs(tls, 'listen').every((args) => args.includes('ssl')));
  t.deepEqual(directiveArgs(tls, 'server_name'), [[H]]);
  t.deepEqual(directiveArgs(tls, 'ssl_certificate'), [[webTls(H).cert]]);
  t.deepEqual(directiveArgs(tls, 'ssl_certificate_key'), [[webTls(H).key]]);
  t.false(JSON.stringify(site).includes(config.tls.cert!), 'the admin\'s own path is copied to the canonical one, not referenced');
  t.deepEqual(directiveArgs(tls, 'root'), [['/usr/share/jitsi-meet']]);
  t.deepEqual(directiveArgs(tls, 'ssi'), [['on']]);
  t.deepEqual(directiveArgs(location(tls, '=', '/config.js'), 'alias'), [[`/etc/jitsi/meet/${H}-config.js`]]);

  const bosh = location(tls, '=', '/http-bind');
  t.deepEqual(directiveArgs(bosh, 'proxy_pass'), [['http://127.0.0.1:5280/http-bind$is_args$args']]);
  t.deepEqual(directiveArgs(bosh, 'proxy_set_header').find((args) => args[0] === 'Host'), ['Host', '$host']);

  const websocket = location(tls, '=', '/xmpp-websocket');
  t.deepEqual(directiveArgs(websocket, 'proxy_pass'), [['http://127.0.0.1:5280/xmpp-websocket$is_args$args']]);
  const headers = Object.fromEntries(directiveArgs(websocket, 'proxy_set_header').map(([name, value]) => [name, value]));
  t.like(headers, { Upgrade: '$http_upgrade', Connection: 'upgrade', Host: '$host' });
  t.deepEqual(directiveArgs(websocket, 'proxy_http_version'), [['1.1']]);
  t.deepEqual(directiveArgs(websocket, 'proxy_read_timeout'), [['900s']]);
});

test('the site is enabled by a relative link and Debian\'s default site is removed', async (t) => {
  const files = nginxComponent.plan(await loadFixture('localhost'), { distribution: DEBIAN, init: 'systemd' }).files;
  t.is(fileAt(files, nginxSiteFiles('localhost').enabled).linkTo, '../sites-available/localhost.conf');
  t.true(fileAt(files, DEBIAN_DEFAULT_SITE).remove);
});

test('both server blocks hide the nginx version (inside the blocks: a second site file cannot duplicate it)', (t) => {
  const site = siteConfig('meet.jitsi.test');
  const servers = site.split(/^server \{$/m).slice(1);
  t.is(servers.length, 2);
  for (const server of servers) t.regex(server, /^ {4}server_tokens off;$/m);
  t.notRegex(site.split(/^server \{$/m)[0], /server_tokens/);
});
