/**
 * The apply step against a temporary root on the host (init `none`: files and TLS only, no
 * services). The services, accounts and certificates in use are covered by the integration
 * tests in test/integration/configure-*.test.ts.
 */
import test from 'ava';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { lstat, mkdir, readFile, readdir, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { applyConfiguration, gatherFacts, type ApplyOptions } from '../../../src/configurator/apply/index.js';
import { backupStamp } from '../../../src/configurator/apply/apply-plan.js';
import { DEPLOY_HOOK } from '../../../src/configurator/components/tls/index.js';
import type { MasterConfig } from '../../../src/configurator/master-config.js';
import { BACKUP_ROOT, authTls, caStoreCopy, webTls } from '../../../src/configurator/paths.js';
import { scratchDir } from '../../helpers/scratch.js';

const PROSODY_UID = 4101;
const PROSODY_GID = 4103;
const SSL_CERT_GID = 4111;

function masterConfig(overrides: Partial<MasterConfig> = {}): MasterConfig {
  return {
    hostname: 'meet.jitsi.test',
    external_ip: '192.0.2.10',
    internal_ip: '192.0.2.10',
    localhost_alias: true,
    write_etc_hostname: true,
    jvb_max_memory: '1024m',
    convener: { username: 'admin', password: 'correct-horse-battery' },
    tls: { mode: 'self-signed', cert: undefined, key: undefined },
    letsencrypt: { email: undefined, server: 'https://acme-v02.api.letsencrypt.org/directory' },
    secrets: {
      focus_password: 'focusfocusfocusfocus1234',
      jvb_password: 'jvbjvbjvbjvbjvbjvb123456',
      turn_secret: 'turnturnturnturnturn1234',
    },
    ...overrides,
  };
}

/** A root with the image's own user database (ids that differ from the host's) and Debian's default nginx site. */
async function imageRoot(): Promise<string> {
  const root = await scratchDir('apply-root-');
  await mkdir(join(root, 'etc/nginx/sites-enabled'), { recursive: true });
  await writeFile(join(root, 'etc/passwd'), `root:x:0:0:root:/root:/bin/bash\nprosody:x:${PROSODY_UID}:${PROSODY_GID}::/var/lib/prosody:/usr/sbin/nologin\nturnserver:x:4102:4104::/:/bin/false\n`);
  await writeFile(join(root, 'etc/group'), `root:x:0:\nssl-cert:x:${SSL_CERT_GID}:\nprosody:x:${PROSODY_GID}:\nturnserver:x:4104:\n`);
  await writeFile(join(root, 'etc/nginx/sites-enabled/default'), 'server { listen 80 default_server; }\n');
  return root;
}

function options(root: string, extra: Partial<ApplyOptions> = {}): ApplyOptions & { lines: string[] } {
  const lines: string[] = [];
  return { root, init: 'none', log: (line) => lines.push(line), lines, ...extra };
}

/** Every regular file and link under a directory with its bytes, mode and owner. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const result = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    const info = await lstat(path);
    if (info.isSymbolicLink()) result.set(path, `link ${await readlink(path)}`);
    else if (info.isFile()) result.set(path, `${info.mode.toString(8)} ${info.uid}:${info.gid} ${info.mtimeMs} ${(await readFile(path)).toString('base64')}`);
  }
  return result;
}

test('writes every generated file with the image owners, self-signed TLS and the CA store copy', async (t) => {
  const root = await imageRoot();
  const config = masterConfig();
  const report = await applyConfiguration(config, options(root));

  const prosodyHost = await stat(join(root, 'etc/prosody/conf.avail/meet.jitsi.test.cfg.lua'));
  t.is(prosodyHost.uid, 0);
  t.is(prosodyHost.gid, PROSODY_GID, 'owner group comes from the image /etc/group, not the host');
  t.is(prosodyHost.mode & 0o777, 0o640);
  t.is(await readlink(join(root, 'etc/prosody/conf.d/meet.jitsi.test.cfg.lua')), '../conf.avail/meet.jitsi.test.cfg.lua');
  t.is(await readlink(join(root, 'etc/nginx/sites-enabled/meet.jitsi.test.conf')), '../sites-available/meet.jitsi.test.conf');
  await t.throwsAsync(stat(join(root, 'etc/nginx/sites-enabled/default')), { code: 'ENOENT' }, "Debian's default site is removed");
  t.true(report.removed.includes('/etc/nginx/sites-enabled/default'));
  t.is(
    await readFile(join(root, report.backupDir!, 'etc/nginx/sites-enabled/default'), 'utf8'),
    'server { listen 80 default_server; }\n',
    'the removed default site is kept in the backup',
  );
  t.true(report.backupDir!.startsWith(`${BACKUP_ROOT}/`));

  for (const [pair, name] of [[webTls(config.hostname), 'meet.jitsi.test'], [authTls(config.hostname), 'auth.meet.jitsi.test']] as const) {
    const certificate = new X509Certificate(await readFile(join(root, pair.cert)));
    t.is(certificate.subjectAltName, `DNS:${name}`);
    t.true(certificate.checkPrivateKey(createPrivateKey(await readFile(join(root, pair.key)))));
    const key = await stat(join(root, pair.key));
    t.is(key.mode & 0o777, 0o640, 'key never world-readable');
    t.is(key.gid, SSL_CERT_GID, 'key readable by the ssl-cert group (prosody, coturn)');
  }
  t.deepEqual(await readFile(join(root, caStoreCopy(config.hostname))), await readFile(join(root, authTls(config.hostname).cert)));
  t.true(report.changed.includes('/etc/jitsi/jicofo/jicofo.conf'));
  // coturn's log holds client addresses: its directory is closed to other users.
  const turnLogs = await stat(join(root, 'var/log/turnserver'));
  t.is(turnLogs.mode & 0o777, 0o750);
  t.is(turnLogs.uid, 4102);
});

test('a re-run with the same master config changes no file, not even its mtime', async (t) => {
  const root = await imageRoot();
  await applyConfiguration(masterConfig(), options(root));
  const before = await snapshot(root);
  const report = await applyConfiguration(masterConfig(), options(root));
  t.deepEqual(report.changed, []);
  t.deepEqual(report.removed, []);
  t.is(report.backupDir, undefined, 'no backup directory when nothing was replaced');
  t.deepEqual(await snapshot(root), before);
});

test('a changed setting replaces only its files and keeps the previous version', async (t) => {
  const root = await imageRoot();
  await applyConfiguration(masterConfig(), options(root));
  const oldEnv = await readFile(join(root, 'etc/jitsi/videobridge/config'), 'utf8');
  const report = await applyConfiguration(masterConfig({ jvb_max_memory: '2g' }), options(root));
  // The heap limit of both Java components comes from jvb_max_memory.
  t.deepEqual(report.changed, ['/etc/jitsi/jicofo/config', '/etc/jitsi/videobridge/config']);
  t.is(await readFile(join(root, report.backupDir!, 'etc/jitsi/videobridge/config'), 'utf8'), oldEnv);
  t.not(await readFile(join(root, 'etc/jitsi/videobridge/config'), 'utf8'), oldEnv);
});

test('a new hostname removes the old host files, certificates included, with backups', async (t) => {
  const root = await imageRoot();
  const old = masterConfig();
  await applyConfiguration(old, options(root));
  const renamed = masterConfig({ hostname: 'video.jitsi.test' });
  const report = await applyConfiguration(renamed, options(root, { previousConfig: old }));
  for (const path of [
    '/etc/prosody/conf.avail/meet.jitsi.test.cfg.lua',
    '/etc/prosody/conf.d/meet.jitsi.test.cfg.lua',
    '/etc/nginx/sites-available/meet.jitsi.test.conf',
    '/etc/nginx/sites-enabled/meet.jitsi.test.conf',
    '/etc/jitsi/meet/meet.jitsi.test-config.js',
    webTls('meet.jitsi.test').key,
    authTls('meet.jitsi.test').cert,
    caStoreCopy('meet.jitsi.test'),
  ]) {
    t.true(report.removed.includes(path), `${path} removed`);
    await t.throwsAsync(lstat(join(root, path)), { code: 'ENOENT' });
    await t.notThrowsAsync(lstat(join(root, report.backupDir!, path)), `${path} kept in the backup`);
  }
  await t.notThrowsAsync(stat(join(root, 'etc/nginx/sites-available/video.jitsi.test.conf')));
  t.is(new X509Certificate(await readFile(join(root, webTls('video.jitsi.test').cert))).subjectAltName, 'DNS:video.jitsi.test');
});

/**
 * What jitsi-meet-prosody's postinst leaves for its debconf hostname `host` (see
 * test/helpers/jitsi-standin): the host file from the package's template and its link,
 * certificates linked from /etc/prosody/certs, the auth one offered to the CA store, and the
 * accounts focus and jvb with focus's roster.
 */
async function packageHostFiles(root: string, host: string, { hostFile = true } = {}): Promise<string[]> {
  const store = `/var/lib/prosody/auth%2e${host.replace(/\./g, '%2e').replace(/-/g, '%2d')}`;
  const files: Record<string, string> = {
    [`/etc/prosody/conf.avail/${host}.cfg.lua`]: `-- Jitsi Meet on ${host}\n\nplugin_paths = { "/usr/share/jitsi-meet/prosody-plugins/" }\n\nVirtualHost "${host}"\n`,
    [`/var/lib/prosody/${host}.crt`]: 'cert',
    [`/var/lib/prosody/${host}.key`]: 'key',
    [`/var/lib/prosody/auth.${host}.crt`]: 'cert',
    [`/var/lib/prosody/auth.${host}.key`]: 'key',
    [`${store}/accounts/focus.dat`]: 'return {};\n',
    [`${store}/accounts/jvb.dat`]: 'return {};\n',
    [`${store}/roster/focus.dat`]: 'return {};\n',
  };
  const links: Record<string, string> = {
    [`/etc/prosody/conf.d/${host}.cfg.lua`]: `/etc/prosody/conf.avail/${host}.cfg.lua`,
    [`/etc/prosody/certs/${host}.crt`]: `/var/lib/prosody/${host}.crt`,
    [`/etc/prosody/certs/${host}.key`]: `/var/lib/prosody/${host}.key`,
    [`/etc/prosody/certs/auth.${host}.crt`]: `/var/lib/prosody/auth.${host}.crt`,
    [`/etc/prosody/certs/auth.${host}.key`]: `/var/lib/prosody/auth.${host}.key`,
    [`/usr/local/share/ca-certificates/auth.${host}.crt`]: `/var/lib/prosody/auth.${host}.crt`,
  };
  if (!hostFile) {
    delete files[`/etc/prosody/conf.avail/${host}.cfg.lua`];
    delete links[`/etc/prosody/conf.d/${host}.cfg.lua`];
  }
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), content);
  }
  for (const [path, target] of Object.entries(links)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await symlink(target, join(root, path));
  }
  return [...Object.keys(files), ...Object.keys(links)].sort();
}

test("what Jitsi's prosody package made for another hostname (the build's placeholder) is removed with backups; for this hostname it stays", async (t) => {
  const root = await imageRoot();
  const placeholder = await packageHostFiles(root, 'jitsi-placeholder.invalid');
  const report = await applyConfiguration(masterConfig(), options(root));
  for (const path of placeholder) {
    t.true(report.removed.includes(path), `${path} removed`);
    await t.throwsAsync(lstat(join(root, path)), { code: 'ENOENT' });
    await t.notThrowsAsync(lstat(join(root, report.backupDir!, path)), `${path} kept in the backup`);
  }
  // The package makes certificates and accounts for the configured hostname too once debconf
  // names it; they are not ours to remove (our host file, written above, is kept as well).
  const own = await packageHostFiles(root, 'meet.jitsi.test', { hostFile: false });
  const again = await applyConfiguration(masterConfig(), options(root));
  t.deepEqual(again.removed, []);
  for (const path of own) await t.notThrowsAsync(lstat(join(root, path)), `${path} stays`);
});

test('a prosody host file that is neither ours nor made from Jitsi\'s template is left alone', async (t) => {
  const root = await imageRoot();
  await mkdir(join(root, 'etc/prosody/conf.avail'), { recursive: true });
  await writeFile(join(root, 'etc/prosody/conf.avail/chat.example.org.cfg.lua'), 'VirtualHost "chat.example.org"\n');
  const report = await applyConfiguration(masterConfig(), options(root));
  t.deepEqual(report.removed, ['/etc/nginx/sites-enabled/default'], 'only the distribution default our plan replaces');
  await t.notThrowsAsync(stat(join(root, 'etc/prosody/conf.avail/chat.example.org.cfg.lua')));
});

test("own mode copies the admin's pair (paths inside the image root) to the canonical paths and refuses a mismatched one", async (t) => {
  const root = await imageRoot();
  // The master config names paths inside the image, as the admin sees them there.
  const dir = '/root/certs';
  await mkdir(join(root, dir), { recursive: true });
  const makePair = async (name: string) => {
    await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30',
      '-subj', '/CN=meet.jitsi.test', '-keyout', join(root, dir, `${name}.key`), '-out', join(root, dir, `${name}.crt`)]);
    return { cert: `${dir}/${name}.crt`, key: `${dir}/${name}.key` };
  };
  const first = await makePair('first');
  const second = await makePair('second');
  const config = masterConfig({ tls: { mode: 'own', cert: first.cert, key: first.key } });
  await applyConfiguration(config, options(root));
  const web = webTls(config.hostname);
  t.deepEqual(await readFile(join(root, web.cert)), await readFile(join(root, first.cert)));
  t.deepEqual(await readFile(join(root, web.key)), await readFile(join(root, first.key)));

  const mismatched = masterConfig({ tls: { mode: 'own', cert: first.cert, key: second.key } });
  const error = await t.throwsAsync(applyConfiguration(mismatched, options(root)));
  t.regex(error!.message, /does not belong to the certificate/);
  t.deepEqual(await readFile(join(root, web.key)), await readFile(join(root, first.key)), 'the installed key is untouched');

  const missing = masterConfig({ tls: { mode: 'own', cert: '/root/certs/none.crt', key: first.key } });
  const notFound = await t.throwsAsync(applyConfiguration(missing, options(root)));
  t.is(notFound!.message, 'tls.cert: cannot read /root/certs/none.crt; give the path of your certificate (PEM)');
});

test('a self-signed certificate that names other hosts is replaced, the old one kept', async (t) => {
  const root = await imageRoot();
  const config = masterConfig();
  await applyConfiguration(config, options(root));
  const web = webTls(config.hostname);
  // A pair for another name sitting at the canonical path (an admin copied the wrong files).
  await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30',
    '-subj', '/CN=elsewhere.test', '-addext', 'subjectAltName=DNS:elsewhere.test', '-keyout', join(root, web.key), '-out', join(root, web.cert)]);
  const wrong = await readFile(join(root, web.cert));
  const report = await applyConfiguration(config, options(root));
  t.true(report.changed.includes(web.cert));
  t.is(new X509Certificate(await readFile(join(root, web.cert))).subjectAltName, 'DNS:meet.jitsi.test');
  t.deepEqual(await readFile(join(root, report.backupDir!, web.cert)), wrong);
});

test('a backup directory of an earlier run in the same second is never reused', async (t) => {
  const root = await imageRoot();
  await applyConfiguration(masterConfig(), options(root));
  // Occupy the stamps of this second and the next few, as runs within the same second would.
  const now = Date.now();
  const taken = [0, 1, 2, 3].map((offset) => join(root, BACKUP_ROOT, backupStamp(new Date(now + offset * 1000))));
  for (const dir of taken) {
    await mkdir(join(dir, 'etc/jitsi/videobridge'), { recursive: true });
    await writeFile(join(dir, 'etc/jitsi/videobridge/config'), 'earlier backup\n');
  }
  const report = await applyConfiguration(masterConfig({ jvb_max_memory: '2g' }), options(root));
  t.regex(report.backupDir!, /\.1$/);
  for (const dir of taken) t.is(await readFile(join(dir, 'etc/jitsi/videobridge/config'), 'utf8'), 'earlier backup\n');
  t.regex(await readFile(join(root, report.backupDir!, 'etc/jitsi/videobridge/config'), 'utf8'), /1024m/);
});

test("Let's Encrypt mode writes the deploy hook and a temporary certificate; leaving the mode removes the hook", async (t) => {
  const root = await imageRoot();
  const letsencrypt = masterConfig({ tls: { mode: 'letsencrypt', cert: undefined, key: undefined }, letsencrypt: { email: 'admin@example.org', server: 'https://127.0.0.1:14000/dir' } });
  await applyConfiguration(letsencrypt, options(root));
  const hook = await stat(join(root, DEPLOY_HOOK));
  t.is(hook.mode & 0o777, 0o755);
  const web = webTls(letsencrypt.hostname);
  t.is(new X509Certificate(await readFile(join(root, web.cert))).subjectAltName, 'DNS:meet.jitsi.test', 'nginx gets a certificate to start with');

  const report = await applyConfiguration(masterConfig(), options(root, { previousConfig: letsencrypt }));
  t.true(report.removed.includes(DEPLOY_HOOK));
  await t.throwsAsync(stat(join(root, DEPLOY_HOOK)), { code: 'ENOENT' });
  await t.notThrowsAsync(stat(join(root, report.backupDir!, DEPLOY_HOOK)));
});

test("prosody's Debian version is a fact, read from dpkg's status (only an installed package counts)", async (t) => {
  const root = await imageRoot();
  t.is((await gatherFacts(root, 'none')).prosodyVersion, undefined, 'no dpkg status');
  await mkdir(join(root, 'var/lib/dpkg'), { recursive: true });
  const stanza = (name: string, status: string, version: string) => `Package: ${name}\nStatus: ${status}\nPriority: optional\nVersion: ${version}\n`;
  await writeFile(
    join(root, 'var/lib/dpkg/status'),
    [stanza('prosody-modules', 'install ok installed', '0.0~hg20230208-1'), stanza('prosody', 'install ok installed', '13.0.1-1')].join('\n'),
  );
  t.is((await gatherFacts(root, 'none')).prosodyVersion, '13.0.1-1', 'the package itself, not one whose name starts with it');
  await writeFile(join(root, 'var/lib/dpkg/status'), stanza('prosody', 'deinstall ok config-files', '0.12.3-1+deb12u1'));
  t.is((await gatherFacts(root, 'none')).prosodyVersion, undefined, 'removed, config files left');
});

/** A Gentoo root: its os-release, the users Gentoo's acct-user packages make, nginx's own conf.d/ and no Debian default site. */
async function gentooRoot(): Promise<string> {
  const root = await scratchDir('apply-gentoo-');
  await mkdir(join(root, 'etc/nginx/conf.d'), { recursive: true });
  await writeFile(join(root, 'etc/os-release'), 'NAME=Gentoo\nID=gentoo\nPRETTY_NAME="Gentoo Linux"\n');
  await writeFile(join(root, 'etc/passwd'), `root:x:0:0:root:/root:/bin/bash\nprosody:x:${PROSODY_UID}:${PROSODY_GID}::/var/lib/prosody:/sbin/nologin\nturnserver:x:4102:4104::/:/sbin/nologin\nnginx:x:4105:4106::/var/lib/nginx:/sbin/nologin\n`);
  await writeFile(join(root, 'etc/group'), `root:x:0:\nssl-cert:x:${SSL_CERT_GID}:\nprosody:x:${PROSODY_GID}:\nturnserver:x:4104:\nnginx:x:4106:\n`);
  // Another site an admin keeps in Gentoo's conf.d/: not ours (no marker), so never a stale host.
  await writeFile(join(root, 'etc/nginx/conf.d/other.example.conf'), 'server { listen 8080; }\n');
  return root;
}

test('on a Gentoo root (its os-release says so) the files land at Gentoo\'s paths, Debian\'s are not made, and debconf is left alone', async (t) => {
  const root = await gentooRoot();
  const opts = options(root);
  const report = await applyConfiguration(masterConfig(), opts);
  const site = await stat(join(root, 'etc/nginx/conf.d/meet.jitsi.test.conf'));
  t.true(site.isFile(), 'the site is a file in conf.d/, not a link');
  for (const debianOnly of ['etc/nginx/sites-available', 'etc/nginx/sites-enabled', 'etc/default/coturn', 'var/cache/debconf']) {
    await t.throwsAsync(stat(join(root, debianOnly)), { code: 'ENOENT' }, `${debianOnly} is Debian's`);
  }
  t.is(await readFile(join(root, 'etc/nginx/conf.d/other.example.conf'), 'utf8'), 'server { listen 8080; }\n', "the admin's other site is left alone");
  t.deepEqual(report.removed, []);
  const prosodyMain = await stat(join(root, 'etc/prosody/prosody.cfg.lua'));
  t.is(prosodyMain.gid, PROSODY_GID);
  t.is((await stat(join(root, 'etc/turnserver.conf'))).gid, 4104);
  t.false(opts.lines.some((line) => line.startsWith('debconf')), opts.lines.join('\n'));

  // A hostname change finds the old host's site in conf.d/ and removes it, as on Debian.
  const renamed = masterConfig({ hostname: 'new.jitsi.test' });
  const second = await applyConfiguration(renamed, options(root, { previousConfig: masterConfig() }));
  t.true(second.removed.includes('/etc/nginx/conf.d/meet.jitsi.test.conf'));
  t.true((await stat(join(root, 'etc/nginx/conf.d/new.jitsi.test.conf'))).isFile());
  t.is(await readFile(join(root, 'etc/nginx/conf.d/other.example.conf'), 'utf8'), 'server { listen 8080; }\n');
});

test("prosody's version on Gentoo is read from portage's database of installed packages", async (t) => {
  const root = await gentooRoot();
  t.is((await gatherFacts(root, 'none')).prosodyVersion, undefined, 'no /var/db/pkg');
  await mkdir(join(root, 'var/db/pkg/net-im/prosody-modules-0.11_p20230208'), { recursive: true });
  t.is((await gatherFacts(root, 'none')).prosodyVersion, undefined, 'prosody-modules is another package');
  await mkdir(join(root, 'var/db/pkg/net-im/prosody-13.0.5'), { recursive: true });
  const facts = await gatherFacts(root, 'none');
  t.is(facts.distribution.id, 'gentoo');
  t.is(facts.prosodyVersion, '13.0.5');
});
