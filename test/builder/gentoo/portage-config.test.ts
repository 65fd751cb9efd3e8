import test from 'ava';
import { validate } from '../../../src/lib/schema.js';
import { recipeSchema, type GentooRecipe } from '../../../src/builder/recipe/schema.js';
import { binhostUrl, portageConfigFiles, PORTAGE_FEATURES, type PortageConfigInput } from '../../../src/builder/gentoo/portage-config.js';

/** A gentoo section as the loader gives it: parsed by the recipe schema, defaults applied. */
function section(value: Record<string, unknown>): GentooRecipe {
  const result = validate(recipeSchema, { gentoo: value });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.value.gentoo!;
}

const RECIPE = section({
  'package-use': [
    { atom: 'dev-java/openjdk-bin', flags: ['headless-awt'], why: 'no X libraries on a server' },
    { atom: 'net-im/prosody', flags: ['LUA_SINGLE_TARGET:', '-*', 'lua5-4'] },
    { atom: 'sys-process/cronie', flags: ['-inotify'], init: 'openrc' },
  ],
  'accept-keywords': [
    { atom: 'net-im/coturn', why: 'coturn has only testing keywords' },
    { atom: 'dev-lang/example', keywords: ['**'], init: 'systemd', why: 'a systemd-only test' },
    { atom: 'net-im/prosody', architecture: 'arm64', why: 'testing on arm64 only' },
  ],
  'make-conf': [{ name: 'MAKEOPTS', value: '-j2 -l2', why: 'two cores' }, { name: 'USE', value: '-X' }],
});

function files(input: Partial<PortageConfigInput> = {}): Map<string, string> {
  const all = portageConfigFiles({ gentoo: RECIPE, suite: '23.0', init: 'openrc', architecture: 'amd64', ...input });
  return new Map(all.map((file) => [file.path, file.text]));
}

test('every file is below etc/portage, relative, world-readable', (t) => {
  for (const file of portageConfigFiles({ gentoo: RECIPE, suite: '23.0', init: 'openrc', architecture: 'arm64' })) {
    t.regex(file.path, /^etc\/portage\/[^/]/, file.path);
    t.is(file.mode, 0o644, file.path);
  }
});

test('make.conf: the stage3 flags, the mirror, FEATURES with a reason for each, then the recipe settings', (t) => {
  const makeConf = files().get('etc/portage/make.conf')!;
  t.is(
    makeConf,
    [
      '# Written by the nspawn-jitsi-meet build from its recipe. Portage reads this file; edit it freely',
      '# on a running system (the build does not come back).',
      '',
      'COMMON_FLAGS="-O2 -pipe"',
      'CFLAGS="${COMMON_FLAGS}"',
      'CXXFLAGS="${COMMON_FLAGS}"',
      'FCFLAGS="${COMMON_FLAGS}"',
      'FFLAGS="${COMMON_FLAGS}"',
      '',
      '# English build messages, as in the stage3.',
      'LC_MESSAGES=C.utf8',
      '',
      '# Source downloads, when no binary package fits: the mirror the stage3 came from.',
      'GENTOO_MIRRORS="https://distfiles.gentoo.org"',
      '',
      ...PORTAGE_FEATURES.map(({ feature, why }) => `# ${feature}: ${why}`),
      'FEATURES="getbinpkg binpkg-request-signature -network-sandbox -ipc-sandbox -pid-sandbox -mount-sandbox"',
      '',
      "# The recipe's settings.",
      '# two cores',
      'MAKEOPTS="-j2 -l2"',
      'USE="-X"',
      '',
    ].join('\n'),
  );
  // Every namespace sandbox portage knows (make.conf(5)) is off, each with its reason.
  for (const sandbox of ['network-sandbox', 'ipc-sandbox', 'pid-sandbox', 'mount-sandbox']) {
    t.regex(makeConf, new RegExp(`^# -${sandbox}: \\S.*namespace`, 'm'), sandbox);
  }
  const features = /^FEATURES="([^"]*)"$/m.exec(makeConf)![1].split(' ');
  t.false(features.includes('-sandbox') || features.includes('-usersandbox'), 'the LD_PRELOAD sandboxes stay on');
  t.is(makeConf.match(/^FEATURES=/gm)?.length, 1, 'one FEATURES line: a second would replace the first');
});

test('binrepos.conf: the official binary host for the architecture and suite, signatures verified', (t) => {
  t.is(
    files().get('etc/portage/binrepos.conf/gentoobinhost.conf'),
    [
      '# The binary host (written by the nspawn-jitsi-meet build). verify-signature: every package must carry',
      "# a valid signature by a key in /etc/portage/gnupg, which getuto fills with Gentoo's release keys.",
      '[gentoobinhost]',
      'priority = 1',
      'sync-uri = https://distfiles.gentoo.org/releases/amd64/binpackages/23.0/x86-64',
      'verify-signature = true',
      '',
    ].join('\n'),
  );
  t.regex(files({ architecture: 'arm64' }).get('etc/portage/binrepos.conf/gentoobinhost.conf')!, /^sync-uri = https:\/\/distfiles\.gentoo\.org\/releases\/arm64\/binpackages\/23\.0\/arm64$/m);
  t.is(binhostUrl({ mirror: 'http://mirror.example.org/gentoo/' }, '23.0', 'amd64'), 'http://mirror.example.org/gentoo/releases/amd64/binpackages/23.0/x86-64');
  t.is(binhostUrl({ mirror: 'https://distfiles.gentoo.org', binhost: 'https://bin.example.org/x86-64/' }, '23.0', 'amd64'), 'https://bin.example.org/x86-64');
  const mirrored = portageConfigFiles({ gentoo: section({ mirror: 'http://mirror.example.org/gentoo' }), suite: '23.0', init: 'systemd', architecture: 'amd64' });
  const makeConf = mirrored.find((file) => file.path === 'etc/portage/make.conf')!.text;
  t.regex(makeConf, /^GENTOO_MIRRORS="http:\/\/mirror\.example\.org\/gentoo"$/m);
});

test('repos.conf: the repository at /var/db/repos/gentoo, sync settings left to portage', (t) => {
  const repos = files().get('etc/portage/repos.conf/gentoo.conf')!;
  t.regex(repos, /^\[DEFAULT\]\nmain-repo = gentoo\n\n\[gentoo\]\nlocation = \/var\/db\/repos\/gentoo\n$/m);
  t.notRegex(repos, /sync-|auto-sync/);
});

test("package.use and package.accept_keywords: the init system's lines, each under its reason", (t) => {
  const openrc = files();
  t.is(
    openrc.get('etc/portage/package.use/nspawn-jitsi'),
    [
      '# USE flags the recipe sets (written by the nspawn-jitsi-meet build).',
      '# no X libraries on a server',
      'dev-java/openjdk-bin headless-awt',
      'net-im/prosody LUA_SINGLE_TARGET: -* lua5-4',
      'sys-process/cronie -inotify',
      '',
    ].join('\n'),
  );
  t.is(
    openrc.get('etc/portage/package.accept_keywords/nspawn-jitsi'),
    [
      '# Testing versions the recipe accepts (written by the nspawn-jitsi-meet build). An atom alone',
      "# accepts the testing keyword of the image's architecture (~amd64, ~arm64).",
      '# coturn has only testing keywords',
      'net-im/coturn',
      '',
    ].join('\n'),
  );
  t.regex(files({ architecture: 'arm64' }).get('etc/portage/package.accept_keywords/nspawn-jitsi')!, /^# testing on arm64 only\nnet-im\/prosody$/m);
  const systemd = files({ init: 'systemd' });
  t.notRegex(systemd.get('etc/portage/package.use/nspawn-jitsi')!, /cronie/);
  t.regex(systemd.get('etc/portage/package.accept_keywords/nspawn-jitsi')!, /^# a systemd-only test\ndev-lang\/example \*\*$/m);
  const bare = portageConfigFiles({ gentoo: section({}), suite: '23.0', init: 'openrc', architecture: 'amd64' }).map((file) => file.path);
  t.deepEqual(bare, ['etc/portage/make.conf', 'etc/portage/binrepos.conf/gentoobinhost.conf', 'etc/portage/repos.conf/gentoo.conf'], 'no empty package files');
});
