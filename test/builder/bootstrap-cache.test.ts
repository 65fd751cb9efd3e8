import test from 'ava';
import { execa } from 'execa';
import { chmod, mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  BOOTSTRAPS_KEPT,
  bootstrapKey,
  commitBootstrap,
  extractArgs,
  fetchInRelease,
  findCachedBootstrap,
  incomingPath,
  requirePrivateCacheDir,
  storeArgs,
} from '../../src/builder/bootstrap-cache.js';
import { UserError } from '../../src/lib/errors.js';
import { scratchDir } from '../helpers/scratch.js';

const inputs = { args: ['--variant=minbase', '--architectures=arm64', 'bookworm', '', 'http://m/debian'], mmdebstrapVersion: 'mmdebstrap 1.3.5', sourceDateEpoch: 1700000000, inRelease: Buffer.from('Date: Sat, 01 Nov 2026\n') };

test('the key changes with every input that decides the tree, and only with them', (t) => {
  const key = bootstrapKey(inputs);
  t.regex(key, /^[0-9a-f]{64}$/);
  t.is(bootstrapKey({ ...inputs }), key);
  t.not(bootstrapKey({ ...inputs, args: [...inputs.args.slice(0, 1), '--architectures=amd64', ...inputs.args.slice(2)] }), key);
  t.not(bootstrapKey({ ...inputs, mmdebstrapVersion: 'mmdebstrap 1.4.0' }), key);
  t.not(bootstrapKey({ ...inputs, sourceDateEpoch: 1 }), key);
  t.not(bootstrapKey({ ...inputs, inRelease: Buffer.from('Date: Sun, 02 Nov 2026\n') }), key, 'a new archive state');
});

test('InRelease from a file: mirror, Release when there is no InRelease, nothing when neither exists', async (t) => {
  const mirror = await scratchDir('bootstrap-mirror-');
  await mkdir(join(mirror, 'dists/bookworm'), { recursive: true });
  await mkdir(join(mirror, 'dists/trixie'), { recursive: true });
  await writeFile(join(mirror, 'dists/bookworm/InRelease'), 'signed');
  await writeFile(join(mirror, 'dists/trixie/Release'), 'plain');
  const url = pathToFileURL(mirror).href;
  t.is((await fetchInRelease(url, 'bookworm'))?.toString(), 'signed');
  t.is((await fetchInRelease(`${url}/`, 'trixie'))?.toString(), 'plain');
  t.is(await fetchInRelease(url, 'sid'), undefined);
  t.is(await fetchInRelease('http://127.0.0.1:9/debian', 'bookworm'), undefined, 'an unreachable mirror: no caching, no error');
});

test('a stored tree comes back with owners, modes, links and xattrs', async (t) => {
  const dir = await scratchDir('bootstrap-store-');
  const rootfs = join(dir, 'rootfs');
  await mkdir(join(rootfs, 'usr/bin'), { recursive: true });
  await writeFile(join(rootfs, 'usr/bin/ping'), 'ELF');
  await chmod(join(rootfs, 'usr/bin/ping'), 0o4755);
  await execa('setcap', ['cap_net_raw=ep', join(rootfs, 'usr/bin/ping')]);
  await execa('ln', ['-s', 'usr/bin', join(rootfs, 'bin')]);
  const cache = join(dir, 'cache');
  await mkdir(cache);
  const incoming = incomingPath(cache, 'k');
  await execa('tar', storeArgs(rootfs, incoming));
  await commitBootstrap(cache, incoming, 'k');
  const cached = await findCachedBootstrap(cache, 'k');
  t.truthy(cached);
  const restored = join(dir, 'restored');
  await mkdir(restored);
  await execa('tar', extractArgs(cached!, restored));
  t.is((await stat(join(restored, 'usr/bin/ping'))).mode & 0o7777, 0o4755);
  t.regex((await execa('getcap', [join(restored, 'usr/bin/ping')])).stdout, /cap_net_raw=ep/);
  t.is(await readFile(join(restored, 'bin/ping'), 'utf8'), 'ELF');
  t.is(await findCachedBootstrap(cache, 'other'), undefined);
});

test(`only the newest ${BOOTSTRAPS_KEPT} bootstraps are kept; stale temporary files go, a running build's stay`, async (t) => {
  const cache = await scratchDir('bootstrap-prune-');
  const old = Date.now() / 1000 - 7200;
  const made = BOOTSTRAPS_KEPT + 2;
  for (let index = 0; index < made; index++) {
    await writeFile(join(cache, `${index}.tar.zst`), '');
    await utimes(join(cache, `${index}.tar.zst`), old + index, old + index);
  }
  await writeFile(join(cache, '.incoming-1-dead.tar.zst'), '');
  await utimes(join(cache, '.incoming-1-dead.tar.zst'), old, old);
  await writeFile(join(cache, '.incoming-2-live.tar.zst'), '');
  await writeFile(join(cache, '.incoming-3-new.tar.zst'), '');
  await commitBootstrap(cache, join(cache, '.incoming-3-new.tar.zst'), 'new');
  // The new one and the newest BOOTSTRAPS_KEPT - 1 of the older ones.
  const newest = Array.from({ length: BOOTSTRAPS_KEPT - 1 }, (_, i) => `${made - BOOTSTRAPS_KEPT + 1 + i}.tar.zst`);
  t.deepEqual((await readdir(cache)).sort(), ['.incoming-2-live.tar.zst', ...newest, 'new.tar.zst'].sort());
});

test('a cache directory others can write is refused with what to do', async (t) => {
  const dir = join(await scratchDir('bootstrap-perm-'), 'cache');
  await requirePrivateCacheDir(dir);
  t.is((await stat(dir)).mode & 0o777, 0o755);
  await chmod(dir, 0o777);
  await t.throwsAsync(requirePrivateCacheDir(dir), { instanceOf: UserError, message: /writable by others \(mode 777\).*chmod go-w/ });
});
