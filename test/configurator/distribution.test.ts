/**
 * The distribution table: the generators plan Gentoo's paths, users and service names from it
 * (and Debian's as before), the image's os-release picks the entry, and no source file of the
 * components, the apply step or the checks spells a value that belongs in the table.
 */
import test from 'ava';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decideLetsEncrypt, decideService, SERVICES, servicesFor } from '../../src/configurator/check/checks.js';
import { COMPONENTS, planServer, type ServerPlan } from '../../src/configurator/components/index.js';
import type { HostFacts } from '../../src/configurator/components/types.js';
import { deployHook } from '../../src/configurator/components/tls/index.js';
import { DEBIAN, DISTRIBUTIONS, GENTOO, type DistributionLayout } from '../../src/configurator/distribution.js';
import { distributionFromOsRelease, readDistribution } from '../../src/configurator/os-release.js';
import { UserError } from '../../src/lib/errors.js';
import { FACT_VARIANTS, FIXTURES, loadFixture, PLUGINS_DIR } from '../helpers/generated-files.js';
import { scratchDir } from '../helpers/scratch.js';

const here = dirname(fileURLToPath(import.meta.url));
const configuratorSrc = join(here, '../../src/configurator');

const gentoo = (init: HostFacts['init'], more: Partial<HostFacts> = {}): HostFacts => ({ distribution: GENTOO, init, prosodyPluginsDir: PLUGINS_DIR, ...more });

/** Every string of a plan: paths, owners, link targets, contents, service names and what they read, directories. */
function planStrings(plan: ServerPlan): string[] {
  return [
    ...plan.files.flatMap((file) => [file.path, file.owner ?? '', file.linkTo ?? '', file.content]),
    ...plan.services.flatMap((service) => [service.name, ...service.reads, ...(service.program ? [service.program] : []), ...(service.openrcRestart ?? [])]),
    ...plan.directories.flatMap((directory) => [directory.path, directory.owner]),
    ...plan.keyReaders,
    ...plan.packageFiles,
    ...(plan.accountStore ? [plan.accountStore.config, plan.accountStore.dataDir] : []),
  ];
}

/** The table's leaf strings, each with where it sits (`nginx.siteDir`). */
function leaves(value: unknown, at = ''): Array<{ at: string; value: string }> {
  if (typeof value === 'string') return [{ at, value }];
  if (Array.isArray(value)) return value.flatMap((item, index) => leaves(item, `${at}[${index}]`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([key, item]) => leaves(item, at ? `${at}.${key}` : key));
  return [];
}

test("Gentoo's plan: nginx's site is a file in conf.d/ with nothing to enable or remove; Debian's is linked from sites-enabled/ and removes the default site", async (t) => {
  const config = await loadFixture('localhost');
  const onGentoo = planServer(config, gentoo('openrc'));
  const site = onGentoo.files.find((file) => file.path === '/etc/nginx/conf.d/localhost.conf');
  t.truthy(site, onGentoo.files.map((file) => file.path).join('\n'));
  t.is(site!.linkTo, undefined);
  t.false(onGentoo.files.some((file) => file.remove && file.path.startsWith('/etc/nginx/')));
  t.deepEqual(onGentoo.services.find((service) => service.name === 'nginx')!.reads.filter((path) => path.startsWith('/etc/nginx')), ['/etc/nginx/']);

  const onDebian = planServer(config, { distribution: DEBIAN, init: 'openrc' });
  t.is(onDebian.files.find((file) => file.path === '/etc/nginx/sites-enabled/localhost.conf')?.linkTo, '../sites-available/localhost.conf');
  t.true(onDebian.files.find((file) => file.path === '/etc/nginx/sites-enabled/default')?.remove);
});

test("Gentoo's plan: coturn is the OpenRC service turnserver (the unit coturn under systemd), reads no /etc/default file and runs as turnserver", async (t) => {
  const config = await loadFixture('public-nat');
  for (const [init, name] of [['openrc', 'turnserver'], ['systemd', 'coturn']] as const) {
    const plan = planServer(config, gentoo(init));
    const coturn = plan.services.find((service) => service.reads.includes('/etc/turnserver.conf'));
    t.is(coturn?.name, name, init);
    t.false(coturn!.reads.some((path) => path.startsWith('/etc/default/')), init);
    t.false(plan.files.some((file) => file.path.startsWith('/etc/default/')), init);
    t.is(plan.files.find((file) => file.path === '/etc/turnserver.conf')?.owner, 'root:turnserver');
    t.true(plan.keyReaders.includes('turnserver'));
    t.true(plan.directories.some((directory) => directory.path === '/var/log/turnserver' && directory.owner === 'turnserver:turnserver'));
  }
  const debian = planServer(config, { distribution: DEBIAN, init: 'openrc' });
  t.is(debian.services.find((service) => service.reads.includes('/etc/turnserver.conf'))?.name, 'coturn');
  t.regex(debian.files.find((file) => file.path === '/etc/default/coturn')!.content, /^DAEMON_ARGS="-c \/etc\/turnserver\.conf /m);
});

test("Gentoo's plan: prosody's files at Gentoo's paths, owned by its prosody group, restarted by its own OpenRC script", async (t) => {
  const config = await loadFixture('localhost');
  const plan = planServer(config, gentoo('openrc'));
  for (const path of ['/etc/prosody/prosody.cfg.lua', '/etc/prosody/conf.avail/localhost.cfg.lua']) {
    const file = plan.files.find((f) => f.path === path);
    t.is(file?.owner, `root:${GENTOO.prosody.group}`, path);
    t.is(file?.mode, 0o640, path);
  }
  t.deepEqual(plan.accountStore, { config: '/etc/prosody/prosody.cfg.lua', dataDir: '/var/lib/prosody' });
  const prosody = plan.services.find((service) => service.name === 'prosody')!;
  // Gentoo's script finds prosody by its pid file; Debian's cannot (prosodyctl restarts it there).
  t.is(prosody.openrcRestart, undefined);
  t.deepEqual(planServer(config, { distribution: DEBIAN, init: 'openrc' }).services.find((service) => service.name === 'prosody')!.openrcRestart, ['prosodyctl', 'restart']);
  const main = plan.files.find((file) => file.path === '/etc/prosody/prosody.cfg.lua')!.content;
  t.regex(main, /^pidfile = "\/run\/prosody\/prosody\.pid"$/m, "the pid file Gentoo's init script reads");
  // prosody's paths agree on both, so its files are Debian's to the byte: prosody.test.ts has
  // prosodyctl check them.
  const debian = planServer(config, { distribution: DEBIAN, init: 'openrc', prosodyPluginsDir: PLUGINS_DIR });
  for (const path of ['/etc/prosody/prosody.cfg.lua', '/etc/prosody/conf.avail/localhost.cfg.lua']) {
    t.is(plan.files.find((f) => f.path === path)!.content, debian.files.find((f) => f.path === path)!.content, path);
  }
});

test("the deploy hook restarts coturn under the distribution's service names", (t) => {
  return loadFixture('letsencrypt').then((config) => {
    const onGentoo = deployHook(config, 'ssl-cert', GENTOO).content;
    t.regex(onGentoo, /^\tfor service in turnserver prosody; do$/m);
    t.regex(onGentoo, /^\tsystemctl try-restart coturn\.service prosody\.service$/m);
    t.regex(deployHook(config, 'ssl-cert', DEBIAN).content, /^\tfor service in coturn prosody; do$/m);
  });
});

test('jicofo, the videobridge, the web app, hosts and TLS plan the same on both distributions (Jitsi\'s packages are the same .debs)', async (t) => {
  const config = await loadFixture('public-nat');
  for (const component of COMPONENTS.filter((c) => ['jicofo', 'videobridge', 'web', 'hosts', 'tls'].includes(c.name))) {
    for (const init of ['systemd', 'openrc'] as const) {
      if (component.name === 'tls') continue; // its hook names coturn's service: the test above
      t.deepEqual(component.plan(config, gentoo(init)), component.plan(config, { distribution: DEBIAN, init, prosodyPluginsDir: PLUGINS_DIR }), `${component.name} (${init})`);
    }
  }
  const tls = COMPONENTS.find((c) => c.name === 'tls')!;
  t.deepEqual(tls.plan(await loadFixture('localhost'), gentoo('openrc')), tls.plan(await loadFixture('localhost'), { distribution: DEBIAN, init: 'openrc' }), 'tls without a hook');
});

test("no Gentoo plan holds a path that is only Debian's (and no Debian plan one that is only Gentoo's)", async (t) => {
  for (const [layout, other] of [[GENTOO, DEBIAN], [DEBIAN, GENTOO]] as const) {
    const own = new Set(leaves(layout).map((leaf) => leaf.value));
    // Paths of the other distribution that this one does not share.
    const foreign = leaves(other).filter((leaf) => !own.has(leaf.value) && leaf.value.startsWith('/'));
    t.true(foreign.length > 0);
    for (const fixture of FIXTURES) {
      const config = await loadFixture(fixture);
      for (const { label, facts } of FACT_VARIANTS) {
        const strings = planStrings(planServer(config, { ...facts, distribution: layout }));
        for (const leaf of foreign) {
          const holder = strings.find((text) => text.includes(leaf.value));
          t.is(holder, undefined, `${layout.id} plan (${fixture}, ${label}) holds ${other.id}'s ${leaf.at} = ${leaf.value}`);
        }
      }
    }
  }
});

test("the checks look for Gentoo's service names and users, under the same check names", (t) => {
  const openrc = servicesFor(GENTOO, 'openrc');
  t.deepEqual(openrc.map((spec) => spec.key), SERVICES.map((spec) => spec.key));
  t.is(openrc.find((spec) => spec.key === 'coturn')!.service, 'turnserver');
  t.is(servicesFor(GENTOO, 'systemd').find((spec) => spec.key === 'coturn')!.service, 'coturn');
  const nginx = openrc.find((spec) => spec.key === 'nginx')!;
  const workersAs = (user: string) => ({ initRunning: true, processes: [{ pid: 5, ppid: 1, user: 'root' }, { pid: 6, ppid: 5, user }] });
  t.like(decideService(nginx, 'openrc', workersAs('nginx')), { status: 'pass', detail: 'nginx runs as nginx (pid 5)' });
  t.like(decideService(nginx, 'openrc', workersAs('www-data')), { status: 'fail', detail: 'nginx runs as www-data (pid 6), not as nginx' });
  t.like(decideLetsEncrypt('openrc', { scheduled: false, scheduleProblem: '/etc/cron.d/certbot is missing' }, GENTOO.certbotRenewal), {
    status: 'fail',
    fix: 'rc-update add cronie default && rc-service cronie start (/etc/cron.d/certbot renews)',
  });
});

test("the image's os-release picks the table entry; without one it is Debian's, an unknown one is refused naming the file", async (t) => {
  const root = await scratchDir('os-release-');
  t.is(readDistribution(root), DEBIAN, 'no os-release (a bare root prefix)');
  await mkdir(join(root, 'usr/lib'), { recursive: true });
  await writeFile(join(root, 'usr/lib/os-release'), 'ID=gentoo\n');
  t.is(readDistribution(root), GENTOO, "the vendor's copy when /etc has none");
  await mkdir(join(root, 'etc'), { recursive: true });
  await writeFile(join(root, 'etc/os-release'), 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nID=debian\n');
  t.is(readDistribution(root), DEBIAN, '/etc/os-release comes first');
  await writeFile(join(root, 'etc/os-release'), 'ID="gentoo"\n');
  t.is(readDistribution(root), GENTOO, 'quoted');
  t.is(distributionFromOsRelease('ID=ubuntu\nID_LIKE=debian\n'), 'debian', 'a derivative by ID_LIKE');
  await writeFile(join(root, 'etc/os-release'), 'ID=fedora\nID_LIKE="rhel centos"\n');
  const error = t.throws(() => readDistribution(root), { instanceOf: UserError });
  t.regex(error!.message, /^\/etc\/os-release: ID=fedora is not a distribution jitsi-meet-config knows \(debian, gentoo\)/);
});

// ---------------------------------------------------------------- the table is the only place

/**
 * What only the table may spell: every path it holds (whether or not the distributions agree
 * on it), the users that differ, and Debian's layout words that mean nothing elsewhere.
 */
function tableOnlyFragments(): string[] {
  const paths = Object.values(DISTRIBUTIONS).flatMap((layout: DistributionLayout) => leaves(layout).filter((leaf) => leaf.value.startsWith('/')).map((leaf) => leaf.value));
  return [...new Set([...paths, DEBIAN.nginx.workerUser, '/etc/default/', '/etc/conf.d/', 'sites-available', 'sites-enabled'])];
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.ts')).map((entry) => join(entry.parentPath, entry.name));
}

/** The code of a line: none for comment lines, and without a trailing `// ...` comment. */
function codeOf(line: string): string {
  const trimmed = line.trim();
  if (trimmed.startsWith('//') || trimmed.startsWith('*') || trimmed.startsWith('/*')) return '';
  return line.replace(/\s\/\/\s.*$/, '');
}

/** `file:line: text` (relative to `base`) for every line of code under `base`'s `dirs` that holds one of `fragments`. */
async function offenders(base: string, dirs: readonly string[], fragments: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const dir of dirs) {
    for (const file of (await sourceFiles(join(base, dir))).sort()) {
      const lines = (await readFile(file, 'utf8')).split('\n');
      lines.forEach((line, index) => {
        const code = codeOf(line);
        const hit = fragments.find((fragment) => code.includes(fragment));
        if (hit) found.push(`${relative(base, file)}:${index + 1}: ${hit} in: ${line.trim()}`);
      });
    }
  }
  return found;
}

test('no component, apply step or check spells a path, user or layout word that belongs in the distribution table', async (t) => {
  const fragments = tableOnlyFragments();
  t.true(fragments.includes('/etc/nginx/sites-available') && fragments.includes('/etc/prosody') && fragments.includes('www-data'));
  const found = await offenders(configuratorSrc, ['components', 'apply', 'check'], fragments);
  t.deepEqual(found, [], `distribution-specific values outside src/configurator/distribution.ts:\n${found.join('\n')}`);
});

test('the source check finds a distribution value spelled in a generator, with its file and line, and skips comments', async (t) => {
  const base = await scratchDir('source-check-');
  await mkdir(join(base, 'components/probe'), { recursive: true });
  await writeFile(
    join(base, 'components/probe/index.ts'),
    [
      '/**',
      ' * A comment may say /etc/nginx/sites-available.',
      ' */',
      "const user = 'www-data'; // and so may /etc/default/coturn here",
      "export const SITE = `/etc/nginx/sites-available/${user}.conf`; // the site",
      '',
    ].join('\n'),
  );
  t.deepEqual(await offenders(base, ['components'], tableOnlyFragments()), [
    "components/probe/index.ts:4: www-data in: const user = 'www-data'; // and so may /etc/default/coturn here",
    'components/probe/index.ts:5: /etc/nginx in: export const SITE = `/etc/nginx/sites-available/${user}.conf`; // the site',
  ]);
});
