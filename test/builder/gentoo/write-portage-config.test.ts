import test from 'ava';
import { lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writePortageConfig } from '../../../src/builder/gentoo/write-portage-config.js';
import { portageConfigFiles } from '../../../src/builder/gentoo/portage-config.js';
import { validate } from '../../../src/lib/schema.js';
import { recipeSchema } from '../../../src/builder/recipe/schema.js';
import { UserError } from '../../../src/lib/errors.js';
import { scratchDir } from '../../helpers/scratch.js';

function files() {
  const result = validate(recipeSchema, { gentoo: { 'accept-keywords': [{ atom: 'net-im/coturn', why: 'testing only' }], 'package-use': [{ atom: 'dev-java/openjdk-bin', flags: ['headless-awt'] }] } });
  if (!result.ok) throw new Error('bad recipe');
  return portageConfigFiles({ gentoo: result.value.gentoo!, suite: '23.0', init: 'openrc', architecture: 'amd64' });
}

/** /etc/portage as a stage3 has it: make.conf, binrepos.conf/gentoobinhost.conf, a profile link. */
async function stage3Root(): Promise<string> {
  const root = await scratchDir('portage-write-');
  await mkdir(join(root, 'etc/portage/binrepos.conf'), { recursive: true });
  await writeFile(join(root, 'etc/portage/make.conf'), 'COMMON_FLAGS="-O2 -pipe"\n');
  await writeFile(join(root, 'etc/portage/binrepos.conf/gentoobinhost.conf'), '[gentoobinhost]\nsync-uri = https://old.example.org\n');
  await symlink('../../var/db/repos/gentoo/profiles/default/linux/amd64/23.0', join(root, 'etc/portage/make.profile'));
  return root;
}

test('the files land in the root with their text and mode, replacing the stage3 ones, directories made', async (t) => {
  const root = await stage3Root();
  await writePortageConfig(root, files());
  for (const file of files()) {
    t.is(await readFile(join(root, file.path), 'utf8'), file.text, file.path);
    t.is((await stat(join(root, file.path))).mode & 0o777, 0o644, file.path);
  }
  t.deepEqual((await readdir(join(root, 'etc/portage'))).sort(), ['binrepos.conf', 'make.conf', 'make.profile', 'package.accept_keywords', 'package.use', 'repos.conf']);
  t.deepEqual(await readdir(join(root, 'etc/portage/binrepos.conf')), ['gentoobinhost.conf'], 'replaced, no second host');
  t.true((await lstat(join(root, 'etc/portage/make.profile'))).isSymbolicLink(), 'the profile link is left alone');
});

test('a file where a directory goes, or a symbolic link on the way, is refused before anything is written', async (t) => {
  const root = await stage3Root();
  await writeFile(join(root, 'etc/portage/package.use'), 'sys-apps/foo bar\n');
  const error = await t.throwsAsync(writePortageConfig(root, files()), { instanceOf: UserError });
  t.regex(error!.message, /etc\/portage\/package\.use is a file, where portage's configuration needs a directory/);
  t.is(await readFile(join(root, 'etc/portage/make.conf'), 'utf8'), 'COMMON_FLAGS="-O2 -pipe"\n', 'nothing written');
  const outside = await scratchDir('portage-write-outside-');
  const linked = await scratchDir('portage-write-link-');
  await mkdir(join(linked, 'etc'));
  await symlink(outside, join(linked, 'etc/portage'));
  await t.throwsAsync(writePortageConfig(linked, files()), { message: /etc\/portage is a symbolic link/ });
  t.deepEqual(await readdir(outside), []);
});
