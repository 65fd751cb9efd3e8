import test from 'ava';
import { UserError } from '../../../src/lib/errors.js';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { CONFIGURATOR_PATH, bundleConfigurator, installConfigurator } from '../../../src/builder/stages/install-configurator.js';
import type { BuildContext } from '../../../src/builder/stage.js';
import { scratchDir } from '../../helpers/scratch.js';

const projectRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

test('the bundle is one self-contained executable that runs without node_modules', async (t) => {
  const dir = await scratchDir('install-configurator-');
  const bundle = join(dir, 'jitsi-meet-config');
  await bundleConfigurator(projectRoot, bundle);
  t.is((await stat(bundle)).mode & 0o777, 0o755);
  const text = await readFile(bundle, 'utf8');
  t.true(text.startsWith('#!/usr/bin/node\n'));
  t.notRegex(text, /require\("(js-yaml|execa)"\)/, 'dependencies are bundled, not required at run time');
  // Run from a directory with no node_modules anywhere above it, as in the image.
  const result = await execa(process.execPath, [bundle, '--help'], { cwd: dir, reject: false });
  t.is(result.exitCode, 0, result.stderr);
  t.regex(result.stdout, /--answers FILE/);
});

test('the same sources give the same bundle bytes', async (t) => {
  const dir = await scratchDir('install-configurator-');
  await bundleConfigurator(projectRoot, join(dir, 'a'));
  await bundleConfigurator(projectRoot, join(dir, 'b'));
  t.deepEqual(await readFile(join(dir, 'a')), await readFile(join(dir, 'b')));
});

function context(rootfs: string, workDir: string): BuildContext {
  return { rootfs, workDir, projectRoot, init: 'systemd', log: () => {} } as unknown as BuildContext;
}

test('installs /usr/sbin/jitsi-meet-config 0755 into the rootfs', async (t) => {
  const dir = await scratchDir('install-configurator-');
  const rootfs = join(dir, 'rootfs');
  await mkdir(join(rootfs, 'usr/bin'), { recursive: true });
  await writeFile(join(rootfs, 'usr/bin/node'), '');
  await mkdir(join(dir, 'work'));
  await installConfigurator.run(context(rootfs, join(dir, 'work')));
  const installed = await stat(join(rootfs, CONFIGURATOR_PATH));
  t.is(installed.mode & 0o7777, 0o755);
  t.is(installed.uid, 0);
});

test('refuses an image without Node.js, naming the package', async (t) => {
  const dir = await scratchDir('install-configurator-');
  await mkdir(join(dir, 'rootfs'));
  const error = await t.throwsAsync(installConfigurator.run(context(join(dir, 'rootfs'), dir)));
  t.regex(error!.message, /add nodejs to the recipe/);
});

test('a recipe without nodejs is refused while inputs are checked, before any bootstrap', async (t) => {
  const withNode = { recipe: { file: '/r/debian-bookworm.yaml', packages: ['nginx', 'nodejs'] } } as unknown as BuildContext;
  await t.notThrowsAsync(installConfigurator.verify!(withNode));
  const without = { recipe: { file: '/r/debian-bookworm.yaml', packages: ['nginx'] } } as unknown as BuildContext;
  const error = await t.throwsAsync(installConfigurator.verify!(without), { instanceOf: UserError });
  t.regex(error!.message, /^\/r\/debian-bookworm\.yaml: packages: nodejs is missing; \/usr\/sbin\/jitsi-meet-config runs on it/);
});

test("a gentoo recipe needs net-libs/nodejs among its atoms for the image's init system, not a Debian package", async (t) => {
  const gentoo = (init: string, packages: { atom: string; init?: string }[]) =>
    ({ init, recipe: { file: '/r/gentoo-23.0.yaml', distro: 'gentoo', packages: [], gentoo: { packages } } }) as unknown as BuildContext;
  await t.notThrowsAsync(installConfigurator.verify!(gentoo('openrc', [{ atom: 'www-servers/nginx' }, { atom: 'net-libs/nodejs' }])));
  await t.notThrowsAsync(installConfigurator.verify!(gentoo('systemd', [{ atom: '>=net-libs/nodejs-20:0' }])));
  const error = await t.throwsAsync(installConfigurator.verify!(gentoo('openrc', [{ atom: 'net-libs/nodejs', init: 'systemd' }, { atom: 'net-libs/nodejs-lts' }])), { instanceOf: UserError });
  t.regex(error!.message, /^\/r\/gentoo-23\.0\.yaml: gentoo\.packages: net-libs\/nodejs is missing for openrc; /);
});
