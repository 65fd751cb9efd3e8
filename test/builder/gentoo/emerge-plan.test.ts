import test from 'ava';
import { validate } from '../../../src/lib/schema.js';
import { recipeSchema, type GentooRecipe } from '../../../src/builder/recipe/schema.js';
import { emergePlan, IMAGE_GROUPS } from '../../../src/builder/gentoo/emerge-plan.js';
import { KEY_GROUP } from '../../../src/configurator/paths.js';

function section(value: Record<string, unknown>): GentooRecipe {
  const result = validate(recipeSchema, { gentoo: value });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.value.gentoo!;
}

const RECIPE = section({
  packages: [
    { atom: 'www-servers/nginx' },
    { atom: 'dev-java/openjdk-bin:21' },
    { atom: 'sys-process/cronie', init: 'openrc' },
    { atom: 'sys-apps/dbus', init: 'systemd' },
    { atom: 'www-servers/nginx', why: 'named twice' },
  ],
  profile: { systemd: 'default/linux/amd64/23.0/systemd' },
});

test("getuto, the init system's profile, one emerge of its atoms with binary packages, env-update", (t) => {
  const systemd = emergePlan({ gentoo: RECIPE, init: 'systemd', jobs: 2 });
  t.deepEqual(
    systemd.commands.map((command) => command.argv),
    [
      ['getuto'],
      ['eselect', 'profile', 'set', 'default/linux/amd64/23.0/systemd'],
      ['emerge', '--ask=n', '--getbinpkg', '--noreplace', '--verbose', '--color=n', '--nospinner', '--quiet-build=y', '--jobs=2', '--load-average=2', 'www-servers/nginx', 'dev-java/openjdk-bin:21', 'sys-apps/dbus'],
      ['groupadd', '--system', '--force', 'ssl-cert'],
      ['env-update'],
    ],
  );
  t.deepEqual(systemd.atoms, ['www-servers/nginx', 'dev-java/openjdk-bin:21', 'sys-apps/dbus']);
  const openrc = emergePlan({ gentoo: RECIPE, init: 'openrc', jobs: 3 });
  t.deepEqual(openrc.commands.map((command) => command.argv[0]), ['getuto', 'emerge', 'groupadd', 'env-update'], "no profile for openrc: the stage3's stays");
  t.deepEqual(openrc.atoms, ['www-servers/nginx', 'dev-java/openjdk-bin:21', 'sys-process/cronie']);
  t.true(openrc.commands[1].argv.includes('--jobs=3'));
  for (const command of [...systemd.commands, ...openrc.commands]) t.truthy(command.what, command.argv.join(' '));
});

test('never --usepkgonly, never a sync, never --oneshot: binary packages preferred, the rest compiled, all kept in @world', (t) => {
  const argv = emergePlan({ gentoo: RECIPE, init: 'systemd', jobs: 1 }).commands.flatMap((command) => command.argv);
  for (const word of ['--usepkgonly', '-K', '--getbinpkgonly', '--sync', '--oneshot', '-1', 'emerge-webrsync']) t.false(argv.includes(word), word);
});

test('the environment is complete and fixed: UTF-8 (portage requires it), no colour, no countdowns, MAKEOPTS from the job count and load', (t) => {
  const { env } = emergePlan({ gentoo: RECIPE, init: 'openrc', jobs: 4 });
  t.deepEqual(env, {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/root',
    LC_ALL: 'C.UTF-8',
    TERM: 'dumb',
    NOCOLOR: 'true',
    EMERGE_WARNING_DELAY: '0',
    CLEAN_DELAY: '0',
    MAKEOPTS: '-j4 -l4',
  });
});

test('no packages: no emerge; a bad job count is a programming error', (t) => {
  t.deepEqual(emergePlan({ gentoo: section({}), init: 'openrc', jobs: 1 }).commands.map((command) => command.argv), [['getuto'], ['groupadd', '--system', '--force', 'ssl-cert'], ['env-update']]);
  t.throws(() => emergePlan({ gentoo: RECIPE, init: 'openrc', jobs: 0 }), { message: /jobs must be a whole number >= 1, not 0/ });
});

test("the key group the configurator uses (KEY_GROUP) is made after emerge, on both init systems: Debian's ssl-cert package makes it, no Gentoo package does", (t) => {
  for (const init of ['systemd', 'openrc'] as const) {
    const argv = emergePlan({ gentoo: RECIPE, init, jobs: 1 }).commands.map((command) => command.argv);
    const made = argv.findIndex((command) => command[0] === 'groupadd' && command.at(-1) === KEY_GROUP);
    t.true(made > argv.findIndex((command) => command[0] === 'emerge'), `${init}: after emerge (the acct-group packages' fixed ids first)`);
    t.deepEqual(argv[made], ['groupadd', '--system', '--force', KEY_GROUP], 'a system group; an existing one is kept');
  }
  t.deepEqual(IMAGE_GROUPS.map((group) => group.name), [KEY_GROUP]);
});
