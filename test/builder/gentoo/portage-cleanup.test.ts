import test from 'ava';
import { chmod, lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CLEANUP_RUNNERS } from '../../../src/builder/stages/cleanup.js';
import { CLEANUP_STEPS } from '../../../src/builder/recipe/schema.js';
import { PORTAGE_CLEANUP } from '../../../src/builder/gentoo/portage-cleanup.js';
import { scratchDir } from '../../helpers/scratch.js';

const exists = (path: string) => lstat(path).then(() => true, () => false);

/** A root laid out as portage leaves it after a build (paths from make.globals and portage's constants). */
async function portageRoot(): Promise<string> {
  const root = await scratchDir('portage-cleanup-');
  const files: Record<string, string> = {
    'var/cache/distfiles/nginx-1.26.2.tar.gz': 'source',
    'var/cache/distfiles/.locks/x': '',
    'var/cache/binpkgs/Packages': 'index',
    'var/cache/binpkgs/www-servers/nginx/nginx-1.26.2-1.gpkg.tar': 'gpkg',
    'var/cache/binhost/gentoobinhost/Packages': 'remote index',
    'var/cache/binhost/gentoobinhost/net-im/prosody/prosody-13.0.5-1.gpkg.tar': 'gpkg',
    'var/tmp/portage/net-im/coturn-4.17.2/temp/build.log': 'log',
    'var/cache/edb/counter': '1234',
    'var/cache/edb/dep/var/db/repos/gentoo/net-im/prosody-13.0.5': 'metadata',
    'var/log/emerge.log': '1700000000:  >>> emerge (1 of 9) www-servers/nginx',
    'var/log/emerge-fetch.log': 'fetched',
    'var/log/portage/elog/summary.log': 'elog',
    'var/log/portage/net-im:coturn-4.17.2:20261202-000000.log': 'build log',
    'var/log/messages': 'keep this file (the logs step empties it)',
    'etc/portage/gnupg/pubring.kbx': 'keyring',
    'etc/portage/gnupg/private-keys-v1.d/ABC.key': 'PRIVATE',
    'etc/portage/gnupg/pass': 'passphrase',
    'etc/portage/make.conf': 'keep me',
    'var/lib/gentoo/news/news-gentoo.unread': '2025-01-01-example',
    'var/lib/gentoo/news/news-gentoo.skip': '',
    'var/db/repos/gentoo/metadata/news/x': 'keep me',
  };
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  // portage's directories are portage:portage, setgid on distfiles; the modes must survive.
  await chmod(join(root, 'var/cache/distfiles'), 0o2775);
  return root;
}

test("the portage steps are in the cleanup table, run before logs, and are the cleanup stage's runners", (t) => {
  const steps = Object.keys(PORTAGE_CLEANUP);
  t.deepEqual(steps, ['portage-distfiles', 'portage-binpkgs', 'portage-binhost-cache', 'portage-tmp', 'portage-cache', 'emerge-logs', 'portage-gnupg', 'gentoo-news']);
  for (const step of steps) {
    t.true((CLEANUP_STEPS as readonly string[]).includes(step), step);
    t.is(CLEANUP_RUNNERS[step as keyof typeof PORTAGE_CLEANUP], PORTAGE_CLEANUP[step as keyof typeof PORTAGE_CLEANUP]);
    t.true(CLEANUP_STEPS.indexOf(step as never) < CLEANUP_STEPS.indexOf('logs'), `${step} before logs`);
  }
});

test('each portage step empties its directory (kept, mode kept) or removes its files, and touches nothing else', async (t) => {
  const root = await portageRoot();
  const lines: string[] = [];
  for (const [step, run] of Object.entries(PORTAGE_CLEANUP)) lines.push(`${step}: ${await run(root)}`);
  for (const dir of ['var/cache/distfiles', 'var/cache/binpkgs', 'var/cache/binhost', 'var/tmp/portage', 'var/cache/edb', 'var/log/portage', 'var/lib/gentoo/news']) {
    t.deepEqual(await readdir(join(root, dir)), [], dir);
  }
  t.is((await stat(join(root, 'var/cache/distfiles'))).mode & 0o7777, 0o2775);
  for (const gone of ['var/log/emerge.log', 'var/log/emerge-fetch.log', 'etc/portage/gnupg']) t.false(await exists(join(root, gone)), gone);
  t.is(await readFile(join(root, 'etc/portage/make.conf'), 'utf8'), 'keep me');
  t.is(await readFile(join(root, 'var/db/repos/gentoo/metadata/news/x'), 'utf8'), 'keep me');
  t.true(await exists(join(root, 'var/log/messages')));
  t.deepEqual(lines, [
    'portage-distfiles: removed 2 entries from /var/cache/distfiles',
    'portage-binpkgs: removed 2 entries from /var/cache/binpkgs',
    'portage-binhost-cache: removed 1 entries from /var/cache/binhost',
    'portage-tmp: removed 1 entries from /var/tmp/portage',
    'portage-cache: removed 2 entries from /var/cache/edb',
    'emerge-logs: removed 2 emerge logs and 2 entries from /var/log/portage',
    'portage-gnupg: removed /etc/portage/gnupg',
    'gentoo-news: removed 2 entries from /var/lib/gentoo/news',
  ]);
});

test('a directory that is a symbolic link is not followed out of the root; a tree without portage is left alone', async (t) => {
  const root = await scratchDir('portage-cleanup-link-');
  const outside = await scratchDir('portage-cleanup-outside-');
  await writeFile(join(outside, 'precious'), 'host file');
  await mkdir(join(root, 'var/cache'), { recursive: true });
  await symlink(outside, join(root, 'var/cache/distfiles'));
  t.is(await PORTAGE_CLEANUP['portage-distfiles'](root), 'removed 0 entries from /var/cache/distfiles');
  t.is(await readFile(join(outside, 'precious'), 'utf8'), 'host file');
  const debian = await scratchDir('portage-cleanup-debian-');
  await mkdir(join(debian, 'etc'));
  for (const run of Object.values(PORTAGE_CLEANUP)) await t.notThrowsAsync(run(debian));
  t.deepEqual(await readdir(debian), ['etc']);
});
