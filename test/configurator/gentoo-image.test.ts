/**
 * What a Gentoo image must bring so the configurator works there unchanged: the files GENTOO
 * (src/configurator/distribution.ts) expects and Gentoo's packages do not install, carried by
 * the Gentoo recipe's overlay trees (docs/gentoo.md, "What a Gentoo image brings"). Each is
 * checked against the value in GENTOO that the configurator uses, and nginx.conf by the host's
 * nginx with the generated site, started the way Gentoo's OpenRC script starts it.
 */
import test from 'ava';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../../src/builder/pipeline.js';
import { resolveRecipe } from '../../src/builder/recipe/load.js';
import { nginxComponent } from '../../src/configurator/components/nginx/index.js';
import { GENTOO, nginxSiteFiles } from '../../src/configurator/distribution.js';
import { webTls } from '../../src/configurator/paths.js';
import { INIT_SYSTEMS, type InitSystem } from '../../src/lib/init-systems.js';
import { directiveArgs, fileAt, FIXTURES, loadFixture, parseNginx, selfSignedPair } from '../helpers/generated-files.js';
import { withScratchDir } from '../helpers/scratch.js';

const RECIPE = join(PROJECT_ROOT, 'recipes/gentoo-23.0.yaml');

/** The file at `path` (absolute in the image) as the Gentoo image for `init` gets it: from the last overlay tree that has it. */
async function imageFile(init: InitSystem, path: string): Promise<string | undefined> {
  const recipe = await resolveRecipe(RECIPE, { projectRoot: PROJECT_ROOT, init });
  let found: string | undefined;
  for (const tree of recipe.overlays) {
    const text = await readFile(join(tree, path), 'utf8').catch(() => undefined);
    if (text !== undefined) found = text;
  }
  return found;
}

const NGINX_CONF = '/etc/nginx/nginx.conf';

async function gentooSite(fixture: (typeof FIXTURES)[number]): Promise<{ hostname: string; site: string }> {
  const config = await loadFixture(fixture);
  const site = fileAt(nginxComponent.plan(config, { distribution: GENTOO, init: 'openrc' }).files, nginxSiteFiles(GENTOO, config.hostname).available).content;
  return { hostname: config.hostname, site };
}

test("nginx.conf: Gentoo's user, logs under /var/log/nginx, Gentoo's MIME types, and the site directory GENTOO writes to", async (t) => {
  for (const init of INIT_SYSTEMS) {
    const text = await imageFile(init, NGINX_CONF);
    if (!t.truthy(text, `${init}: the image has no ${NGINX_CONF}`)) return;
    const main = parseNginx(text!);
    t.deepEqual(directiveArgs(main, 'user'), [[GENTOO.nginx.workerUser, GENTOO.nginx.workerUser]]);
    const http = main.blocks.find((block) => block.name === 'http')!;
    t.deepEqual(directiveArgs(http, 'include'), [['/etc/nginx/mime.types.nginx'], [`${GENTOO.nginx.siteDir}/*.conf`]]);
    t.true(nginxSiteFiles(GENTOO, 'meet.example.org').available.startsWith(`${GENTOO.nginx.siteDir}/`) && nginxSiteFiles(GENTOO, 'meet.example.org').available.endsWith('.conf'));
    t.is(GENTOO.nginx.enabledDir, undefined, 'no enabling link: the include is the enabling');
    for (const log of [...directiveArgs(main, 'error_log'), ...directiveArgs(http, 'access_log')]) t.regex(log[0]!, /^\/var\/log\/nginx\//);
    // Gentoo's OpenRC script adds its own pid directive with -g (nginx refuses a second one);
    // Gentoo's systemd unit expects the built-in /run/nginx.pid.
    t.deepEqual(directiveArgs(main, 'pid'), []);
  }
});

test('nginx.conf sets none of the http-level directives the generated site sets (nginx refuses duplicates)', async (t) => {
  const main = parseNginx((await imageFile('openrc', NGINX_CONF))!);
  const http = main.blocks.find((block) => block.name === 'http')!;
  const ours = new Set(http.directives.map((directive) => directive.name));
  for (const fixture of FIXTURES) {
    const site = parseNginx((await gentooSite(fixture)).site);
    for (const directive of site.directives) t.false(ours.has(directive.name), `${fixture}: ${directive.name}`);
  }
});

/**
 * nginx -t (the host's nginx) on the Gentoo nginx.conf with the generated site in its site
 * directory, with the pid directive Gentoo's OpenRC script passes (-g). Only the paths that
 * must be writable or exist here are pointed into a temporary directory: the logs, the MIME
 * types file (mime-types[nginx] installs it on Gentoo), the site directory, the certificate;
 * and the user (the host has no nginx user).
 */
async function nginxTest(site: string, hostname: string, gentooMain?: string): Promise<{ exitCode: number; output: string }> {
  const gentoo = gentooMain ?? (await imageFile('openrc', NGINX_CONF))!;
  return withScratchDir('gentoo-nginx-t-', async (prefix) => {
    const pair = await selfSignedPair(prefix, hostname);
    const tls = webTls(hostname);
    await mkdir(join(prefix, 'conf.d'));
    await writeFile(join(prefix, 'conf.d', `${hostname}.conf`), site.split(tls.cert).join(pair.cert).split(tls.key).join(pair.key));
    await writeFile(join(prefix, 'mime.types.nginx'), 'types {\n\ttext/html html;\n\tapplication/javascript js;\n}\n');
    const replaced = (text: string, from: string, to: string) => {
      if (!text.includes(from)) throw new Error(`the Gentoo nginx.conf has no ${from}: adapt this test`);
      return text.split(from).join(to);
    };
    let main = replaced(gentoo, `user ${GENTOO.nginx.workerUser} ${GENTOO.nginx.workerUser};`, 'user nobody nogroup;');
    main = replaced(main, '/var/log/nginx/', `${prefix}/`);
    main = replaced(main, '/etc/nginx/mime.types.nginx', join(prefix, 'mime.types.nginx'));
    main = replaced(main, `${GENTOO.nginx.siteDir}/`, `${prefix}/conf.d/`);
    await writeFile(join(prefix, 'nginx.conf'), main);
    const result = await execa('nginx', ['-t', '-q', '-c', join(prefix, 'nginx.conf'), '-e', 'stderr', '-g', `pid ${join(prefix, 'nginx.pid')};`], { reject: false, all: true });
    return { exitCode: result.exitCode ?? -1, output: result.all ?? '' };
  });
}

for (const fixture of FIXTURES) {
  test(`${fixture}: nginx -t accepts the Gentoo nginx.conf with the generated site, started as Gentoo's OpenRC script starts it`, async (t) => {
    const { hostname, site } = await gentooSite(fixture);
    const result = await nginxTest(site, hostname);
    t.is(result.exitCode, 0, result.output);
  });
}

test('nginx -t really checks: a pid directive in nginx.conf clashes with the one the OpenRC script passes', async (t) => {
  const { hostname, site } = await gentooSite('localhost');
  const withPid = (await imageFile('openrc', NGINX_CONF))!.replace('worker_processes auto;', 'worker_processes auto;\npid /run/nginx.pid;');
  const result = await nginxTest(site, hostname, withPid);
  t.not(result.exitCode, 0);
  t.regex(result.output, /"pid" directive is duplicate/);
});

/** The bundled modules Gentoo's nginx.eclass leaves off unless a USE flag asks, and a directive (or listen parameter) of each. */
const OFF_BY_DEFAULT: ReadonlyArray<{ flag: string; uses: RegExp }> = [
  { flag: 'nginx_modules_http_v2', uses: /^\s*(listen\s[^;]*\bhttp2\b|http2\s)/m },
  { flag: 'nginx_modules_http_sub', uses: /^\s*sub_filter/m },
  { flag: 'nginx_modules_http_gzip_static', uses: /^\s*gzip_static\s/m },
  { flag: 'nginx_modules_http_realip', uses: /^\s*(set_real_ip_from|real_ip_header)\s/m },
  { flag: 'nginx_modules_http_auth_request', uses: /^\s*auth_request\s/m },
  { flag: 'nginx_modules_http_stub_status', uses: /^\s*stub_status\b/m },
  { flag: 'nginx_modules_http_addition', uses: /^\s*add_(before|after)_body\s/m },
];

test("the recipe turns on every nginx module the site uses that Gentoo's nginx leaves off (http_v2), and no other", async (t) => {
  const recipe = await resolveRecipe(RECIPE, { projectRoot: PROJECT_ROOT, init: 'openrc' });
  const flags = recipe.gentoo!['package-use'].filter((entry) => entry.atom === 'www-servers/nginx').flatMap((entry) => entry.flags);
  const sites = await Promise.all(FIXTURES.map(async (fixture) => (await gentooSite(fixture)).site));
  const needed = OFF_BY_DEFAULT.filter((module) => sites.some((site) => module.uses.test(site))).map((module) => module.flag);
  t.true(needed.includes('nginx_modules_http_v2'), 'the site listens with http2');
  t.deepEqual(flags.filter((flag) => flag.startsWith('nginx_modules_')).sort(), needed.sort());
  // nginx's ebuild requires mime-types[nginx]; nginx.conf includes the file it installs.
  t.true(recipe.gentoo!['package-use'].some((entry) => entry.atom === 'app-misc/mime-types' && entry.flags.includes('nginx')));
});

/** The job lines of a cron.d file: [minute, hour, day, month, weekday, user, command]. */
function cronJobs(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#') && !/^[A-Z_]+=/.test(line))
    .map((line) => {
      const fields = line.trim().split(/\s+/);
      return [...fields.slice(0, 6), fields.slice(6).join(' ')];
    });
}

test("OpenRC: the cron file GENTOO names runs `certbot -q renew` twice a day after a random pause, as root; cronie is in the image", async (t) => {
  const text = await imageFile('openrc', GENTOO.certbotRenewal.cronFile);
  if (!t.truthy(text, `the OpenRC image has no ${GENTOO.certbotRenewal.cronFile}`)) return;
  const jobs = cronJobs(text!);
  t.is(jobs.length, 1);
  const [minute, hour, day, month, weekday, user, command] = jobs[0]!;
  t.deepEqual([minute, hour, day, month, weekday], ['0', '*/12', '*', '*', '*'], 'twice a day');
  t.is(user, 'root');
  t.regex(command!, /\bcertbot -q renew$/);
  // A random pause of up to 12 hours, so that not every image asks Let's Encrypt at the same minute.
  t.regex(command!, /sleep "\$\(shuf -i 0-43199 -n 1\)"/);
  // cron turns an unescaped % into a newline.
  t.false(/(^|[^\\])%/.test(command!), 'no unescaped %');
  // The host's shell runs the command as cron would: the pause must be a number of seconds.
  const pause = (await execa('sh', ['-c', 'shuf -i 0-43199 -n 1'])).stdout;
  t.regex(pause, /^\d+$/);
  t.true(Number(pause) < 43200);
  const recipe = await resolveRecipe(RECIPE, { projectRoot: PROJECT_ROOT, init: 'openrc' });
  t.true(recipe.gentoo!.packages.some((pkg) => pkg.atom === 'sys-process/cronie' && pkg.init === 'openrc'));
  t.is(GENTOO.certbotRenewal.cronService, 'cronie', "cronie's OpenRC script");
  t.is(await imageFile('systemd', GENTOO.certbotRenewal.cronFile), undefined, 'systemd images renew with the timer');
});

/** `Key=value` lines of a unit file's section. */
function unitSection(text: string, section: string): Map<string, string> {
  const values = new Map<string, string>();
  let current = '';
  for (const line of text.split('\n')) {
    const header = /^\[(.+)\]$/.exec(line.trim());
    if (header) current = header[1]!;
    else if (current === section && /^[A-Za-z]+=/.test(line)) values.set(line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1));
  }
  return values;
}

test('systemd: the timer GENTOO names fires twice a day at a random moment, can be enabled, and runs `certbot -q renew`', async (t) => {
  const timerPath = `/etc/systemd/system/${GENTOO.certbotRenewal.timer}`;
  const timer = await imageFile('systemd', timerPath);
  if (!t.truthy(timer, `the systemd image has no ${timerPath}`)) return;
  const schedule = unitSection(timer!, 'Timer');
  t.is(schedule.get('OnCalendar'), '*-*-* 00,12:00:00');
  t.is(schedule.get('RandomizedDelaySec'), '12h');
  t.is(schedule.get('Persistent'), 'true', 'a run missed while the container was off happens at boot');
  t.is(unitSection(timer!, 'Install').get('WantedBy'), 'timers.target', '`systemctl enable` needs an [Install] section');
  t.false(schedule.has('Unit'), 'it runs the service of its own name');
  const service = await imageFile('systemd', `/etc/systemd/system/${GENTOO.certbotRenewal.timer.replace(/\.timer$/, '.service')}`);
  if (!t.truthy(service)) return;
  const run = unitSection(service!, 'Service');
  t.is(run.get('Type'), 'oneshot');
  t.is(run.get('ExecStart'), '/usr/bin/certbot -q renew');
  t.is(await imageFile('openrc', timerPath), undefined);
  // systemd itself reads both files (the build host has systemd-analyze, as the build needs systemd-nspawn).
  await withScratchDir('gentoo-certbot-units-', async (dir) => {
    const units = { [GENTOO.certbotRenewal.timer]: timer!, [GENTOO.certbotRenewal.timer.replace(/\.timer$/, '.service')]: service! };
    for (const [name, text] of Object.entries(units)) await writeFile(join(dir, name), text);
    const verify = await execa('systemd-analyze', ['verify', ...Object.keys(units).map((name) => join(dir, name))], { reject: false, all: true });
    t.is(verify.exitCode, 0, verify.all);
  });
});

test("OpenRC: the inittab is Gentoo's (openrc's runlevels, no Debian /etc/init.d/rc), for a container: console login, SIGPWR halts", async (t) => {
  const inittab = await imageFile('openrc', '/etc/inittab');
  if (!t.truthy(inittab)) return;
  const entries = inittab!.split('\n').filter((line) => line && !line.startsWith('#')).map((line) => line.split(':'));
  const byAction = (action: string) => entries.filter((entry) => entry[2] === action).map((entry) => entry.slice(3).join(':'));
  t.deepEqual(byAction('sysinit'), ['/sbin/openrc sysinit']);
  t.deepEqual(byAction('bootwait'), ['/sbin/openrc boot']);
  const initdefault = entries.find((entry) => entry[2] === 'initdefault')![1]!;
  t.true(entries.some((entry) => entry[1]!.split('').includes(initdefault) && entry[3] === '/sbin/openrc default'), 'the default runlevel runs OpenRC\'s default');
  t.false(inittab!.includes('/etc/init.d/rc'), "Debian's rc script");
  t.regex(inittab!, /^[^#:]+::powerfail:\/sbin\/shutdown .*-h/m, 'powerfail halts');
  const gettys = entries.filter((entry) => entry[2] === 'respawn' && /getty/.test(entry[3] ?? ''));
  t.is(gettys.length, 1);
  t.regex(gettys[0]![3]!, / console /);
});
