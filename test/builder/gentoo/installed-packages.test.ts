import test from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { architectureOfChost, gentooPackageListText, readInstalledPackages, splitPackageVersion } from '../../../src/builder/gentoo/installed-packages.js';
import { scratchDir } from '../../helpers/scratch.js';

/** One package directory as portage's vartree writes it: one file per field, each ending in a newline. */
async function install(root: string, category: string, pf: string, fields: Record<string, string>): Promise<void> {
  const dir = join(root, 'var/db/pkg', category, pf);
  await mkdir(dir, { recursive: true });
  for (const [name, value] of Object.entries({ CATEGORY: category, PF: pf, repository: 'gentoo', EAPI: '8', ...fields })) {
    await writeFile(join(dir, name), `${value}\n`);
  }
  await writeFile(join(dir, 'CONTENTS'), 'dir /usr\n');
}

test('the .packages list of a Gentoo root: category/name:slot, version with revision, architecture of its CHOST', async (t) => {
  const root = await scratchDir('vdb-');
  await install(root, 'www-servers', 'nginx-1.26.2-r1', { SLOT: 'mainline', CHOST: 'x86_64-pc-linux-gnu' });
  await install(root, 'dev-java', 'openjdk-bin-21.0.12.1_p1', { SLOT: '21', CHOST: 'x86_64-pc-linux-gnu' });
  await install(root, 'dev-java', 'openjdk-bin-17.0.20.1_p1', { SLOT: '17', CHOST: 'x86_64-pc-linux-gnu' });
  await install(root, 'dev-libs', 'openssl-3.5.4', { SLOT: '0/3', CHOST: 'x86_64-pc-linux-gnu' });
  await install(root, 'acct-user', 'prosody-0-r3', { SLOT: '0' });
  await install(root, 'net-im', 'prosody-13.0.5', { SLOT: '0', CHOST: 'x86_64-pc-linux-gnu' });
  // What portage's database holds besides installed packages.
  await mkdir(join(root, 'var/db/pkg/net-im/-MERGING-coturn-4.17.2'), { recursive: true });
  await writeFile(join(root, 'var/db/pkg/.keep'), '');
  const packages = await readInstalledPackages(root, 'amd64');
  t.is(
    gentooPackageListText(packages),
    [
      'acct-user/prosody:0 0-r3 amd64',
      'dev-java/openjdk-bin:17 17.0.20.1_p1 amd64',
      'dev-java/openjdk-bin:21 21.0.12.1_p1 amd64',
      'dev-libs/openssl:0 3.5.4 amd64',
      'net-im/prosody:0 13.0.5 amd64',
      'www-servers/nginx:mainline 1.26.2-r1 amd64',
      '',
    ].join('\n'),
  );
  const arm = await scratchDir('vdb-arm-');
  await install(arm, 'net-im', 'coturn-4.17.2', { CHOST: 'aarch64-unknown-linux-gnu' });
  t.is(gentooPackageListText(await readInstalledPackages(arm, 'amd64')), 'net-im/coturn:0 4.17.2 arm64\n', 'no SLOT file: slot 0; CHOST wins over the fallback');
});

test('names and versions split where PMS versions start; CHOST machines map to image architectures', (t) => {
  t.deepEqual(splitPackageVersion('openjdk-bin-21.0.12.1_p1-r1'), { name: 'openjdk-bin', version: '21.0.12.1_p1-r1' });
  t.deepEqual(splitPackageVersion('lua-5.4.7-r1'), { name: 'lua', version: '5.4.7-r1' });
  t.deepEqual(splitPackageVersion('gtk+-3.24.43'), { name: 'gtk+', version: '3.24.43' });
  t.deepEqual(splitPackageVersion('font-misc-1.0'), { name: 'font-misc', version: '1.0' });
  t.is(splitPackageVersion('no-version'), undefined);
  t.is(architectureOfChost('x86_64-pc-linux-gnu'), 'amd64');
  t.is(architectureOfChost('aarch64-unknown-linux-gnu'), 'arm64');
  t.is(architectureOfChost('riscv64-unknown-linux-gnu'), 'riscv64');
});

test('a root without the database, or with a directory that is not name-version, is refused', async (t) => {
  const empty = await scratchDir('vdb-empty-');
  await t.throwsAsync(readInstalledPackages(empty, 'amd64'), { message: /var\/db\/pkg does not exist: not a Gentoo root/ });
  const odd = await scratchDir('vdb-odd-');
  await mkdir(join(odd, 'var/db/pkg/net-im/prosody'), { recursive: true });
  await t.throwsAsync(readInstalledPackages(odd, 'amd64'), { message: /net-im\/prosody: not <name>-<version>/ });
});
