import test from 'ava';
import { lstat, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  dropDebconfValues,
  GENERATED_JITSI_CONFIGS,
  JITSI_DEBCONF_SECRETS,
  removeDebconfSecrets,
  removeGeneratedJitsiConfigs,
  removePlaceholderAccounts,
  removePlaceholderCertificates,
  removePlaceholderHostFiles,
  type InRoot,
} from '../../src/builder/jitsi-leftovers.js';
import { JITSI_PLACEHOLDER_HOSTNAME } from '../../src/builder/jitsi-repository.js';
import { scratchDir } from '../helpers/scratch.js';

const exists = (path: string) => lstat(path).then(() => true, () => false);

const stanza = (name: string, fields: Record<string, string>) =>
  [`Name: ${name}`, ...Object.entries(fields).map(([field, value]) => `${field}: ${value}`)].join('\n');
const answer = (name: string, value: string | undefined, owner: string) =>
  stanza(name, { Template: name, ...(value === undefined ? {} : { Value: value }), Owners: owner, Flags: 'seen' });

const CONFIG_DAT = [
  answer('jitsi-videobridge/jvb-hostname', 'jitsi-placeholder.invalid', 'jitsi-videobridge2'),
  answer('jitsi-meet/jaas-choice', 'false', 'jitsi-meet-web-config'),
  // Stored here by a debconf without a separate passwords database.
  answer('jicofo/jicofo-authpassword', 'focus-secret-in-config', 'jicofo'),
  answer('tzdata/Areas', 'Etc', 'tzdata'),
].join('\n\n') + '\n\n';

const PASSWORDS_DAT = [
  answer('jicofo/jicofo-authpassword', 'Zm9jdXMtc2VjcmV0', 'jicofo'),
  answer('jitsi-videobridge/jvbsecret', 'anZiLXNlY3JldA', 'jitsi-videobridge2'),
  answer('jitsi-meet-prosody/turn-secret', 'dHVybi1zZWNyZXQ', 'jitsi-meet-prosody'),
  // A password question of Jitsi's not in the fixed list: found through templates.dat.
  answer('jitsi-meet-prosody/jaas-password', 'amFhcw', 'jitsi-meet-prosody'),
  // Another package's password question: not Jitsi's business.
  answer('mariadb-server/root_password', 'keep-this-one', 'mariadb-server'),
  answer('jicofo/jicofo-authpassword-hint', 'not a secret', 'jicofo'),
].join('\n\n') + '\n\n';

const TEMPLATES_DAT = [
  stanza('jicofo/jicofo-authpassword', { Type: 'password', Description: "Jicofo's password" }),
  stanza('jitsi-meet-prosody/jaas-password', { Type: 'password', Description: 'JaaS' }),
  stanza('jitsi-videobridge/jvb-hostname', { Type: 'string', Description: 'The hostname' }),
  stanza('jicofo/jicofo-authpassword-hint', { Type: 'string', Description: 'a hint' }),
  stanza('mariadb-server/root_password', { Type: 'password', Description: 'root' }),
].join('\n\n') + '\n\n';

const H = JITSI_PLACEHOLDER_HOSTNAME;

/** What Jitsi's maintainer scripts leave for the placeholder hostname (and what they leave that must stay). */
const FILES: Record<string, string> = {
  // jitsi-meet-prosody: host file, certificates (prosodyctl cert generate), accounts.
  [`etc/prosody/conf.avail/${H}.cfg.lua`]: `VirtualHost "${H}"\n`,
  'etc/prosody/conf.avail/localhost.cfg.lua': 'VirtualHost "localhost"\n',
  'etc/prosody/conf.avail/meet.example.org.cfg.lua': 'VirtualHost "meet.example.org"\n',
  [`etc/prosody/conf.avail/not${H}.cfg.lua`]: 'a name that merely ends like the placeholder\n',
  'etc/prosody/prosody.cfg.lua': 'Include "conf.d/*.cfg.lua"\n',
  [`var/lib/prosody/${H}.crt`]: 'CERT',
  [`var/lib/prosody/${H}.key`]: 'KEY',
  [`var/lib/prosody/${H}.cnf`]: 'openssl config',
  [`var/lib/prosody/auth.${H}.crt`]: 'CERT',
  [`var/lib/prosody/auth.${H}.key`]: 'KEY',
  [`var/lib/prosody/auth.${H}.cnf`]: 'openssl config',
  'var/lib/prosody/meet.example.org.crt': 'CERT',
  'var/lib/prosody/meet.example.org.key': 'KEY',
  'var/lib/prosody/auth%2ejitsi%2dplaceholder%2einvalid/accounts/focus.dat': 'return { password = "x" }',
  'var/lib/prosody/auth%2ejitsi%2dplaceholder%2einvalid/accounts/jvb.dat': 'return { password = "y" }',
  'var/lib/prosody/auth%2ejitsi%2dplaceholder%2einvalid/roster/focus.dat': 'return {}',
  'var/lib/prosody/jitsi%2dplaceholder%2einvalid/accounts/guest.dat': 'return {}',
  'var/lib/prosody/internal%2Eauth%2Ejitsi%2Dplaceholder%2Einvalid/muc/x.dat': 'upper-case escapes',
  'var/lib/prosody/meet%2eexample%2eorg/accounts/focus.dat': 'another host: stays',
  'var/lib/prosody/notjitsi%2dplaceholder%2einvalid/accounts/a.dat': 'stays',
  'etc/prosody/certs/localhost.crt': 'Debian prosody certificate',
  'etc/prosody/certs/localhost.key': 'Debian prosody key',
  // Web configs and certificates (jitsi-meet-web-config's, should it ever run).
  [`etc/jitsi/meet/${H}-config.js`]: 'var config = {}',
  [`etc/jitsi/meet/${H}.crt`]: 'CERT',
  [`etc/jitsi/meet/${H}.key`]: 'KEY',
  'etc/jitsi/meet/meet.example.org-config.js': 'stays',
  [`etc/nginx/sites-available/${H}.conf`]: 'server {}',
  'etc/nginx/sites-available/default': 'server {}',
  // jicofo and the videobridge: generated configs, packaged defaults.
  'etc/jitsi/jicofo/jicofo.conf': 'jicofo { xmpp { client { password: "Zm9jdXMtc2VjcmV0" } } }\n',
  'etc/jitsi/jicofo/config': 'JICOFO_AUTH_PASSWORD=Zm9jdXMtc2VjcmV0\n',
  'etc/jitsi/jicofo/logging.properties': 'handlers = java.util.logging.ConsoleHandler\n',
  'etc/jitsi/videobridge/jvb.conf': 'videobridge { apis { xmpp-client { configs { shard { PASSWORD = "anZiLXNlY3JldA" } } } } }\n',
  'etc/jitsi/videobridge/config': 'JVB_SECRET=anZiLXNlY3JldA\n',
  'etc/jitsi/videobridge/sip-communicator.properties': 'org.jitsi.videobridge.ENABLE_STATISTICS=true\n',
  'etc/jitsi/videobridge/logging.properties': 'handlers = java.util.logging.ConsoleHandler\n',
  // The CA store and Java's.
  'usr/local/share/ca-certificates/local-ca.crt': 'an admin CA: stays',
  'etc/ssl/certs/java/cacerts': 'JKS',
  // debconf.
  'var/cache/debconf/config.dat': CONFIG_DAT,
  'var/cache/debconf/passwords.dat': PASSWORDS_DAT,
  'var/cache/debconf/templates.dat': TEMPLATES_DAT,
  // Users, units, scripts: stay.
  'etc/passwd': 'jicofo:x:100:101::/usr/share/jicofo:/usr/sbin/nologin\njvb:x:101:101::/usr/share/jitsi-videobridge:/usr/sbin/nologin\n',
  'etc/init.d/jicofo': '#!/bin/sh\n',
  'lib/systemd/system/jitsi-videobridge2.service': '[Service]\n',
  'etc/sysctl.d/20-jvb-udp-buffers.conf': 'net.core.rmem_max=10485760\n',
};

const LINKS: Record<string, string> = {
  [`etc/prosody/conf.d/${H}.cfg.lua`]: `../conf.avail/${H}.cfg.lua`,
  'etc/prosody/conf.d/localhost.cfg.lua': '../conf.avail/localhost.cfg.lua',
  'etc/prosody/conf.d/meet.example.org.cfg.lua': '../conf.avail/meet.example.org.cfg.lua',
  [`etc/prosody/certs/${H}.crt`]: `/var/lib/prosody/${H}.crt`,
  [`etc/prosody/certs/${H}.key`]: `/var/lib/prosody/${H}.key`,
  [`etc/prosody/certs/auth.${H}.crt`]: `/var/lib/prosody/auth.${H}.crt`,
  [`etc/prosody/certs/auth.${H}.key`]: `/var/lib/prosody/auth.${H}.key`,
  'etc/prosody/certs/meet.example.org.crt': '/var/lib/prosody/meet.example.org.crt',
  [`usr/local/share/ca-certificates/auth.${H}.crt`]: `/var/lib/prosody/auth.${H}.crt`,
  [`etc/nginx/sites-enabled/${H}.conf`]: `/etc/nginx/sites-available/${H}.conf`,
  'etc/nginx/sites-enabled/default': '/etc/nginx/sites-available/default',
};

async function jitsiRoot(): Promise<string> {
  const root = await scratchDir('jitsi-leftovers-');
  for (const [path, text] of Object.entries(FILES)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  for (const [path, target] of Object.entries(LINKS)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await symlink(target, join(root, path));
  }
  return root;
}

/** Every file, link and directory below `root` (directories end in /). */
async function listing(root: string, dir = ''): Promise<Set<string>> {
  const found = new Set<string>();
  for (const entry of await readdir(join(root, dir), { withFileTypes: true })) {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      found.add(`${path}/`);
      for (const below of await listing(root, path)) found.add(below);
    } else found.add(path);
  }
  return found;
}

/** Runs `step` on a fresh tree; what it removed (sorted) and its log line. */
async function removedBy(step: (root: string) => Promise<string>): Promise<{ removed: string[]; said: string; root: string }> {
  const root = await jitsiRoot();
  const before = await listing(root);
  const said = await step(root);
  const after = await listing(root);
  for (const path of after) if (!before.has(path)) throw new Error(`the step made ${path}`);
  return { removed: [...before].filter((path) => !after.has(path)).sort(), said, root };
}

const ACCOUNT_STORES = ['auth%2ejitsi%2dplaceholder%2einvalid', 'jitsi%2dplaceholder%2einvalid', 'internal%2Eauth%2Ejitsi%2Dplaceholder%2Einvalid'];

test('jitsi-placeholder-host removes the placeholder host file, its link, web config and nginx site, nothing else', async (t) => {
  const { removed, said, root } = await removedBy(removePlaceholderHostFiles);
  t.deepEqual(removed, [
    `etc/jitsi/meet/${H}-config.js`,
    `etc/nginx/sites-available/${H}.conf`,
    `etc/nginx/sites-enabled/${H}.conf`,
    `etc/prosody/conf.avail/${H}.cfg.lua`,
    `etc/prosody/conf.d/${H}.cfg.lua`,
  ]);
  for (const path of removed) t.true(said.includes(`/${path}`), said);
  t.regex(said, /^removed /);
  t.is(await removePlaceholderHostFiles(root), 'nothing to remove', 'a second run finds nothing');
});

/** An inRoot that records argv, answers keytool -list from `aliases()`, and notes what the CA directory held at each call. */
function recorder(root: string, aliases: (listCall: number) => string[]) {
  const calls: string[][] = [];
  const placeholderCaPresent: boolean[] = [];
  let lists = 0;
  const inRoot: InRoot = async (argv) => {
    calls.push(argv);
    placeholderCaPresent.push(await exists(join(root, `usr/local/share/ca-certificates/auth.${H}.crt`)));
    if (argv[0] === 'keytool' && argv[1] === '-list') {
      lists += 1;
      return [
        'Keystore type: JKS',
        'Keystore provider: SUN',
        '',
        'Your keystore contains 3 entries',
        '',
        ...['debian:isrg_root_x1.pem', ...aliases(lists), 'debian:usertrust_rsa_certification_authority.pem'].flatMap((alias) => [
          `${alias}, Dec 1, 2026, trustedCertEntry, `,
          'Certificate fingerprint (SHA-256): 96:BC:EC:06:26:49:76:F3:74:60:77:9A:CF:28:C5:A7:CF:E8:A3:C0:AA:E1:1A:8F:FC:EE:05:C0:BD:DF:08:C6',
        ]),
        '',
      ].join('\n');
    }
    return '';
  };
  return { inRoot, calls, placeholderCaPresent };
}

const LIST = ['keytool', '-list', '-keystore', '/etc/ssl/certs/java/cacerts', '-storepass', 'changeit'];

test('jitsi-placeholder-certificates removes the placeholder certificates, rebuilds the CA store and deletes the Java entry by alias', async (t) => {
  let rec: ReturnType<typeof recorder> | undefined;
  const alias = `debian:auth.${H}.pem`;
  const { removed, said, root } = await removedBy((root) => {
    rec = recorder(root, (n) => (n === 1 ? [alias] : []));
    return removePlaceholderCertificates(root, rec.inRoot);
  });
  t.deepEqual(removed, [
    `etc/jitsi/meet/${H}.crt`,
    `etc/jitsi/meet/${H}.key`,
    `etc/prosody/certs/${H}.crt`,
    `etc/prosody/certs/${H}.key`,
    `etc/prosody/certs/auth.${H}.crt`,
    `etc/prosody/certs/auth.${H}.key`,
    `usr/local/share/ca-certificates/auth.${H}.crt`,
    `var/lib/prosody/${H}.cnf`,
    `var/lib/prosody/${H}.crt`,
    `var/lib/prosody/${H}.key`,
    `var/lib/prosody/auth.${H}.cnf`,
    `var/lib/prosody/auth.${H}.crt`,
    `var/lib/prosody/auth.${H}.key`,
  ].sort());
  t.deepEqual(rec!.calls, [
    ['update-ca-certificates', '--fresh'],
    LIST,
    ['keytool', '-delete', '-noprompt', '-alias', alias, '-keystore', '/etc/ssl/certs/java/cacerts', '-storepass', 'changeit'],
    LIST,
  ]);
  t.deepEqual(rec!.placeholderCaPresent, [false, false, false, false], 'the CA store is rebuilt after the placeholder certificate went');
  t.regex(said, /CA store rebuilt, placeholder out of Java's store$/);
  t.true(said.includes(`/usr/local/share/ca-certificates/auth.${H}.crt`), said);

  // Nothing left: a second run needs no program in the image.
  const again = recorder(root, () => []);
  t.is(await removePlaceholderCertificates(root, again.inRoot), 'nothing to remove');
  t.deepEqual(again.calls, []);
});

test('jitsi-placeholder-certificates fails when Java keeps trusting the placeholder, or when it cannot run programs in the image', async (t) => {
  const stuck = await jitsiRoot();
  const rec = recorder(stuck, () => [`debian:auth.${H}.pem`]);
  const error = await t.throwsAsync(removePlaceholderCertificates(stuck, rec.inRoot));
  t.regex(error!.message, new RegExp(`Java's CA store still trusts debian:auth\\.${H.replaceAll('.', '\\.')}\\.pem after deleting it`));
  t.is(rec.calls.filter((argv) => argv[1] === '-delete').length, 1, 'deleted once, then checked');

  const noRunner = await jitsiRoot();
  await t.throwsAsync(removePlaceholderCertificates(noRunner), { message: /rebuilding it needs the image/ });

  // Without a Java store only the CA store is rebuilt.
  const noJava = await jitsiRoot();
  await rm(join(noJava, 'etc/ssl/certs/java'), { recursive: true });
  const plain = recorder(noJava, () => [`debian:auth.${H}.pem`]);
  await removePlaceholderCertificates(noJava, plain.inRoot);
  t.deepEqual(plain.calls, [['update-ca-certificates', '--fresh']]);
});

test('jitsi-placeholder-certificates without a trusted placeholder certificate runs nothing in the image', async (t) => {
  const root = await jitsiRoot();
  await rm(join(root, `usr/local/share/ca-certificates/auth.${H}.crt`));
  const rec = recorder(root, () => [`debian:auth.${H}.pem`]);
  const said = await removePlaceholderCertificates(root, rec.inRoot);
  t.deepEqual(rec.calls, []);
  t.false(await exists(join(root, `var/lib/prosody/auth.${H}.crt`)));
  t.false(said.includes('CA store'), said);
});

test("jitsi-placeholder-accounts removes prosody's stores for the placeholder's hosts, not another host's or the certificates", async (t) => {
  const { removed, said } = await removedBy(removePlaceholderAccounts);
  const expected = ACCOUNT_STORES.flatMap((store) => [...storePaths(store)]).sort();
  t.deepEqual(removed, expected);
  for (const store of ACCOUNT_STORES) t.true(said.includes(`/var/lib/prosody/${store}`), said);
});

/** The paths (dirs with /) of one prosody store directory in FILES. */
function* storePaths(store: string): Generator<string> {
  const dirs = new Set<string>();
  for (const path of Object.keys(FILES)) {
    if (!path.startsWith(`var/lib/prosody/${store}/`)) continue;
    yield path;
    const parts = path.split('/');
    for (let i = 4; i < parts.length; i++) dirs.add(`${parts.slice(0, i).join('/')}/`);
  }
  yield* dirs;
}

test('jitsi-generated-configs removes the generated jicofo and videobridge configs, keeps logging.properties', async (t) => {
  const { removed, said } = await removedBy(removeGeneratedJitsiConfigs);
  t.deepEqual(removed, [...GENERATED_JITSI_CONFIGS].sort());
  t.deepEqual(removed, [
    'etc/jitsi/jicofo/config',
    'etc/jitsi/jicofo/jicofo.conf',
    'etc/jitsi/videobridge/config',
    'etc/jitsi/videobridge/jvb.conf',
    'etc/jitsi/videobridge/sip-communicator.properties',
  ]);
  t.regex(said, /^removed \/etc\/jitsi\/jicofo\/jicofo\.conf, /);
});

test("debconf-secrets drops the values of Jitsi's secret questions, and of Jitsi's password templates, keeping the rest", async (t) => {
  t.deepEqual(JITSI_DEBCONF_SECRETS, ['jitsi-videobridge/jvbsecret', 'jicofo/jicofo-authpassword', 'jitsi-meet-prosody/turn-secret']);
  const { removed, said, root } = await removedBy(removeDebconfSecrets);
  t.deepEqual(removed, [], 'no file removed, values taken out of them');
  t.is(said, 'removed 5 secret answers');
  const passwords = await readFile(join(root, 'var/cache/debconf/passwords.dat'), 'utf8');
  t.is(
    passwords,
    [
      answer('jicofo/jicofo-authpassword', undefined, 'jicofo'),
      answer('jitsi-videobridge/jvbsecret', undefined, 'jitsi-videobridge2'),
      answer('jitsi-meet-prosody/turn-secret', undefined, 'jitsi-meet-prosody'),
      answer('jitsi-meet-prosody/jaas-password', undefined, 'jitsi-meet-prosody'),
      answer('mariadb-server/root_password', 'keep-this-one', 'mariadb-server'),
      answer('jicofo/jicofo-authpassword-hint', 'not a secret', 'jicofo'),
    ].join('\n\n') + '\n\n',
  );
  const config = await readFile(join(root, 'var/cache/debconf/config.dat'), 'utf8');
  t.is(config, CONFIG_DAT.replace('Value: focus-secret-in-config\n', ''));
  t.regex(config, /^Value: jitsi-placeholder\.invalid$/m, 'the hostname answer is not a secret');
  t.is(await readFile(join(root, 'var/cache/debconf/templates.dat'), 'utf8'), TEMPLATES_DAT);
  t.is(await removeDebconfSecrets(root), 'no secret answers', 'a second run finds none');
});

test('debconf-secrets without templates.dat still drops the fixed list; without debconf it does nothing', async (t) => {
  const root = await jitsiRoot();
  await rm(join(root, 'var/cache/debconf/templates.dat'));
  t.is(await removeDebconfSecrets(root), 'removed 4 secret answers');
  t.regex(await readFile(join(root, 'var/cache/debconf/passwords.dat'), 'utf8'), /^Value: amFhcw$/m, 'the jaas password is only known from templates.dat');
  const empty = await scratchDir('no-debconf-');
  t.is(await removeDebconfSecrets(empty), 'no secret answers');
  t.deepEqual(await readdir(empty), []);
});

test('every step together leaves exactly what must stay', async (t) => {
  const root = await jitsiRoot();
  const rec = recorder(root, (n) => (n === 1 ? [`debian:auth.${H}.pem`] : []));
  await removePlaceholderHostFiles(root);
  await removePlaceholderCertificates(root, rec.inRoot);
  await removePlaceholderAccounts(root);
  await removeGeneratedJitsiConfigs(root);
  await removeDebconfSecrets(root);
  const files = [...(await listing(root))].filter((path) => !path.endsWith('/')).sort();
  t.deepEqual(files, [
    'etc/init.d/jicofo',
    'etc/jitsi/jicofo/logging.properties',
    'etc/jitsi/meet/meet.example.org-config.js',
    'etc/jitsi/videobridge/logging.properties',
    'etc/nginx/sites-available/default',
    'etc/nginx/sites-enabled/default',
    'etc/passwd',
    'etc/prosody/certs/localhost.crt',
    'etc/prosody/certs/localhost.key',
    'etc/prosody/certs/meet.example.org.crt',
    'etc/prosody/conf.avail/localhost.cfg.lua',
    'etc/prosody/conf.avail/meet.example.org.cfg.lua',
    `etc/prosody/conf.avail/not${H}.cfg.lua`,
    'etc/prosody/conf.d/localhost.cfg.lua',
    'etc/prosody/conf.d/meet.example.org.cfg.lua',
    'etc/prosody/prosody.cfg.lua',
    'etc/ssl/certs/java/cacerts',
    'etc/sysctl.d/20-jvb-udp-buffers.conf',
    'lib/systemd/system/jitsi-videobridge2.service',
    'usr/local/share/ca-certificates/local-ca.crt',
    'var/cache/debconf/config.dat',
    'var/cache/debconf/passwords.dat',
    'var/cache/debconf/templates.dat',
    'var/lib/prosody/meet%2eexample%2eorg/accounts/focus.dat',
    'var/lib/prosody/meet.example.org.crt',
    'var/lib/prosody/meet.example.org.key',
    'var/lib/prosody/notjitsi%2dplaceholder%2einvalid/accounts/a.dat',
  ]);
  // Nothing of the placeholder is left but the (non-secret) hostname answer in debconf.
  for (const path of files) {
    if (path.startsWith('var/cache/debconf/') || path.includes(`not${H}`) || path.includes('notjitsi%2d')) continue;
    t.false(path.includes(H), path);
    const text = await readFile(join(root, path), 'utf8').catch(() => '');
    t.false(text.includes(H), path);
  }
  t.notRegex(await readFile(join(root, 'var/cache/debconf/passwords.dat'), 'utf8'), /^Value: (Zm9j|anZi|dHVy|amFh)/m);
});

test('dropDebconfValues: only the named stanzas, exact names, whatever the layout', (t) => {
  const names = new Set(['jicofo/jicofo-authpassword']);
  // The last stanza without the trailing blank line (or any newline).
  t.deepEqual(dropDebconfValues('Name: a/b\nValue: 1\n\nName: jicofo/jicofo-authpassword\nTemplate: jicofo/jicofo-authpassword\nValue: s3cret', names), {
    text: 'Name: a/b\nValue: 1\n\nName: jicofo/jicofo-authpassword\nTemplate: jicofo/jicofo-authpassword',
    dropped: 1,
  });
  t.deepEqual(dropDebconfValues('Name: jicofo/jicofo-authpassword\nValue: s3cret\n', names), { text: 'Name: jicofo/jicofo-authpassword\n', dropped: 1 });
  // A name that is a prefix of another, and the other way round.
  const prefixed = 'Name: jicofo/jicofo-authpassword-old\nValue: keep1\n\nName: jicofo/jicofo-auth\nValue: keep2\n\nName: xjicofo/jicofo-authpassword\nValue: keep3\n\n';
  t.deepEqual(dropDebconfValues(prefixed, names), { text: prefixed, dropped: 0 });
  // A Value naming the question, in another stanza, does not make that stanza one of it.
  const mention = 'Name: other/q\nValue: Name: jicofo/jicofo-authpassword\n\n';
  t.deepEqual(dropDebconfValues(mention, names), { text: mention, dropped: 0 });
  // An empty value goes too; Template and Owners lines stay; nothing else moves.
  t.deepEqual(dropDebconfValues('Name: jicofo/jicofo-authpassword\nTemplate: jicofo/jicofo-authpassword\nValue: \nOwners: jicofo\nFlags: seen\n\n', names), {
    text: 'Name: jicofo/jicofo-authpassword\nTemplate: jicofo/jicofo-authpassword\nOwners: jicofo\nFlags: seen\n\n',
    dropped: 1,
  });
  t.deepEqual(dropDebconfValues('', names), { text: '', dropped: 0 });
  t.deepEqual(dropDebconfValues('Name: jicofo/jicofo-authpassword\nValue: s\n', new Set()), { text: 'Name: jicofo/jicofo-authpassword\nValue: s\n', dropped: 0 });
});
