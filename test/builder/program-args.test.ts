import test from 'ava';
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { childEnvironment, compressorCommand, isolatedCommand, mmdebstrapArgs, tarArgs } from '../../src/builder/program-args.js';

test('mmdebstrap: root mode into a directory, one --include, suite target mirror last', (t) => {
  const args = mmdebstrapArgs({
    suite: 'bookworm',
    mirror: 'http://deb.debian.org/debian',
    variant: 'minbase',
    components: ['main', 'contrib'],
    packages: ['systemd-sysv', 'nginx'],
    target: '/w/rootfs',
  });
  t.deepEqual(args, [
    '--variant=minbase',
    '--mode=root',
    '--format=directory',
    '--components=main,contrib',
    '--include=systemd-sysv,nginx',
    'bookworm',
    '/w/rootfs',
    'http://deb.debian.org/debian',
  ]);
  const verbose = mmdebstrapArgs({ suite: 's', mirror: 'm', variant: 'apt', components: ['main'], packages: [], target: 't', architecture: 'arm64', verbose: true });
  t.true(verbose.includes('--architectures=arm64') && verbose.includes('--verbose'));
  t.false(verbose.some((a) => a.startsWith('--include')), 'no empty --include');
});

test('isolatedCommand runs the program as PID 1 of new PID and mount namespaces', async (t) => {
  const { file, args } = isolatedCommand('sh', ['-c', 'echo $$; grep -c . /proc/self/mountinfo >/dev/null && echo ok']);
  t.is(file, 'setpriv');
  t.deepEqual(args.slice(0, 10), ['--pdeathsig', 'SIGKILL', '--', 'unshare', '--mount', '--propagation=private', '--pid', '--fork', '--kill-child', '--mount-proc']);
  const { stdout } = await execa(file, args);
  t.deepEqual(stdout.split('\n'), ['1', 'ok']);
});

test('tar: deterministic flags', (t) => {
  const args = tarArgs('/w/rootfs', 1735689600);
  for (const flag of ['--sort=name', '--mtime=@1735689600', '--clamp-mtime', '--numeric-owner', '--format=pax', '--xattrs', '--one-file-system']) {
    t.true(args.includes(flag), flag);
  }
  t.true(args.some((a) => a.startsWith('--pax-option=') && a.includes('exthdr.name=%d/PaxHeaders/%f') && a.includes('delete=atime') && a.includes('delete=ctime')));
  t.deepEqual(args.slice(-1), ['.']);
  t.true(args.includes('--directory=/w/rootfs'));
});

test('compressor: xz never single-threaded, zstd quiet, levels checked', (t) => {
  const xz = compressorCommand('xz', 6);
  t.is(xz.file, 'xz');
  t.true(xz.args.includes('-6') && xz.args.includes('--threads=0'));
  t.false(xz.args.some((a) => a === '-T1' || a === '--threads=1'));
  const zstd = compressorCommand('zstd', 19);
  t.true(zstd.args.includes('-19') && zstd.args.includes('--stdout'));
  t.throws(() => compressorCommand('xz', 10), { instanceOf: RangeError });
  t.throws(() => compressorCommand('zstd', 0), { instanceOf: RangeError });
});

test('child environment: SOURCE_DATE_EPOCH set, output-changing variables removed', (t) => {
  const env = childEnvironment({ PATH: '/bin', XZ_OPT: '-T1', XZ_DEFAULTS: '-9', TAR_OPTIONS: '--format=gnu', ZSTD_CLEVEL: '3', SOURCE_DATE_EPOCH: '5' }, 42);
  t.is(env.SOURCE_DATE_EPOCH, '42');
  t.is(env.PATH, '/bin');
  for (const name of ['XZ_OPT', 'XZ_DEFAULTS', 'TAR_OPTIONS', 'ZSTD_CLEVEL']) t.false(name in env, name);
});

/** Compressible but not trivial: random words repeated, several xz blocks at level 0. */
function sampleData(megabytes: number): Buffer {
  const words = Array.from({ length: 4096 }, () => randomBytes(6).toString('hex'));
  const parts: string[] = [];
  let size = 0;
  let seed = 1;
  while (size < megabytes * 1024 * 1024) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const word = words[seed % words.length];
    parts.push(word);
    size += word.length + 1;
  }
  return Buffer.from(parts.join(' '));
}

test('xz as we call it gives the same bytes on one core and on all cores (and -T1 would not)', async (t) => {
  const input = sampleData(8);
  const { file, args } = compressorCommand('xz', 0);
  const compress = async (cpuList: string, extra: string[] = []) =>
    (await execa('taskset', ['--cpu-list', cpuList, file, ...args, ...extra], { input, encoding: 'buffer', stripFinalNewline: false, env: childEnvironment(process.env, 0), extendEnv: false })).stdout;
  const oneCore = await compress('0');
  const allCores = await compress(`0-${Math.max(1, (await import('node:os')).availableParallelism() - 1)}`);
  t.true(Buffer.compare(oneCore, allCores) === 0, 'same bytes whatever the core count');
  const singleThreaded = await compress('0', ['--threads=1']);
  t.false(Buffer.compare(oneCore, singleThreaded) === 0, 'the single-threaded encoder writes other bytes: the flag matters');
});
