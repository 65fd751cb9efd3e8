/**
 * `--init all` for real: both images in one command, from an empty cache directory, so the
 * second image starts from the base the first one bootstrapped, unpacked while the first one
 * was finishing. Each image must be byte-identical to the same init system's image built on
 * its own (the shared test images): an image does not depend on which command built it.
 */
import test from 'ava';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { projectVersion } from '../../src/builder/pipeline.js';
import { hostArchitecture } from '../../src/host/tools.js';
import { artifactStem, packageListName, tarballName } from '../../src/image/artifact-names.js';
import { CACHE_ROOT, imageInputsKey, runBuildCommand, sha256File, testImage } from '../helpers/images.js';
import { scratchDir } from '../helpers/scratch.js';

test('--init all from an empty cache: the second image starts from the first one\'s base and both equal single builds', async (t) => {
  const reference = { systemd: await testImage('systemd'), openrc: await testImage('openrc') };
  const scratch = await scratchDir('release-all-', join(CACHE_ROOT, '..'));
  const out = join(scratch, 'out');
  const build = await runBuildCommand(
    ['--init', 'all', '--cache-dir', join(scratch, 'cache'), '--workdir', join(scratch, 'work'), '--out', out, '--compression', 'zstd', '--level', '1', '--jitsi-source', 'none'],
    { logFile: join(scratch, 'build.log') },
  );
  t.is(build.exitCode, 0, build.output.split('\n').slice(-30).join('\n'));
  const log = build.output;
  // The second variant did not unpack the base from the cache tarball itself: the release had
  // it unpacked while the first variant ran its later stages.
  const second = log.slice(log.indexOf('variant 2 of 2: openrc'));
  t.regex(second, /reusing the base .* unpacked while the previous image was finishing/);
  t.notRegex(second, /I: (downloading packages|installing essential packages)/, 'the second variant ran no mmdebstrap');
  t.deepEqual(await readdir(join(scratch, 'work')), [], 'nothing left in the work directory parent');

  if ((await imageInputsKey()) !== reference.systemd.key) {
    t.fail('recipes/, overlays/, src/ or scripts/ changed while this test ran; the comparison proves nothing, run it again');
    return;
  }
  const version = await projectVersion();
  const architecture = await hostArchitecture();
  for (const init of ['systemd', 'openrc'] as const) {
    const stem = artifactStem({ distro: 'debian', suite: 'bookworm', init, version, architecture });
    const packages = await readFile(join(out, packageListName(stem)), 'utf8');
    if (packages !== (await readFile(reference[init].packages, 'utf8'))) {
      t.fail(`${init}: the mirror's packages changed since the shared test image was built; the comparison proves nothing, run it again`);
      continue;
    }
    t.is(await sha256File(join(out, tarballName(stem, 'zstd'))), reference[init].sha256, `${init}: --init all and --init ${init} gave different tarballs`);
  }
});
