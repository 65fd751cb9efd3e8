/**
 * Issue 12: Gentoo images, built with Gentoo's stage list from the shipped recipe
 * (recipes/gentoo-23.0.yaml, only its mirror and pinned keys swapped for the stand-in's), then
 * booted and configured, for each init system. Against stand-ins only:
 * - Gentoo's release tree (test/helpers/gentoo-standin): signed pointer, stage3, DIGESTS and
 *   snapshot on loopback HTTP, the stage3 being a bootable stand-in of a stage3 once portage has
 *   installed the recipe's packages (system-stage3.ts: Debian's builds of the programs laid
 *   out as Gentoo's ebuilds lay them out, with stand-ins of portage's commands);
 * - Jitsi's repository (test/helpers/jitsi-standin), whose .debs the Gentoo path verifies and
 *   unpacks without dpkg.
 * Asserted: the build verifies and unpacks the stage3, runs portage's commands in it under
 * systemd-nspawn, installs Jitsi's packages, and its cleanup leaves none of portage's leftovers
 * (getuto's private key, binary packages, distfiles, logs); the `.packages` list comes from
 * /var/db/pkg; the image boots, `jitsi-meet-config --answers` ends in SUCCESS, and nginx,
 * prosody, coturn (OpenRC: turnserver), jicofo and the videobridge run as their users.
 * Requires root, mmdebstrap and the Debian mirror (for the stand-in stage3), gpg, dpkg-deb.
 */
import test from 'ava';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import yaml from 'js-yaml';
import { bootContainer, type Container } from '../../src/boot/index.js';
import type { InitSystem } from '../../src/lib/init-systems.js';
import { giveLanAddress, LAN_ANSWERS } from '../helpers/configure-scenario.js';
import { until } from '../helpers/jitsi-health.js';
import { buildStandinRelease, createTestKey, serveStandin, SNAPSHOT_DATE, writeKeyFile, type ServedStandin, type TestKey } from '../helpers/gentoo-standin/index.js';
import { standinSystemStage3 } from '../helpers/gentoo-standin/system-stage3.js';
import { PROJECT_ROOT, runBuildCommand } from '../helpers/images.js';
import { serveStandinRepoForTests } from '../helpers/jitsi-standin/index.js';
import { createNetns } from '../helpers/netns.js';
import { scratchDir } from '../helpers/scratch.js';

const jitsi = serveStandinRepoForTests(test);
let mirrorDir = '';
let mirror: ServedStandin | undefined;
let keys: { release: TestKey; snapshot: TestKey };

test.before(async () => {
  keys = { release: await createTestKey('release'), snapshot: await createTestKey('snapshot') };
  mirrorDir = await scratchDir('gentoo-mirror-');
  mirror = await serveStandin(mirrorDir);
});
test.after.always(async () => {
  await mirror?.close();
});

/** The shipped Gentoo recipe with only the mirror, the pinned keys and the snapshot date swapped for the stand-in's. */
async function standinRecipe(dir: string): Promise<string> {
  const shipped = yaml.load(await readFile(join(PROJECT_ROOT, 'recipes/gentoo-23.0.yaml'), 'utf8')) as { gentoo: Record<string, unknown> };
  const keyFile = await writeKeyFile(join(dir, 'standin-keys.asc'), keys.release, keys.snapshot);
  const file = join(dir, 'gentoo-standin.yaml');
  await writeFile(
    file,
    yaml.dump({
      include: [join(PROJECT_ROOT, 'recipes/gentoo-23.0.yaml')],
      gentoo: {
        ...shipped.gentoo,
        mirror: mirror!.url,
        'stage3-key-fingerprint': keys.release.fingerprint,
        'snapshot-key-fingerprint': keys.snapshot.fingerprint,
        'snapshot-date': SNAPSHOT_DATE,
        'key-file': keyFile,
      },
    }),
  );
  return file;
}

async function archiveEntries(tarball: string): Promise<string[]> {
  const { stdout } = await execa('tar', ['--zstd', '--list', `--file=${tarball}`], { maxBuffer: 256 * 1024 * 1024 });
  return stdout.split('\n');
}

/** `user command` of every process in the container, from inside it. */
async function processes(container: Container): Promise<string> {
  return (await container.exec(['ps', '-eo', 'user:20,args'], { reject: false })).stdout;
}

const COTURN_SERVICE: Record<InitSystem, string> = { openrc: 'turnserver', systemd: 'coturn' };

for (const init of ['openrc', 'systemd'] as const) {
  test.serial(`${init}: a Gentoo image from the stand-in stage3 builds with portage's steps and Jitsi's .debs, boots and is configured`, async (t) => {
    const stage3 = await standinSystemStage3(init);
    await buildStandinRelease({ dir: mirrorDir, keys, flavor: init, tarball: await readFile(stage3) });
    const work = await scratchDir(`build-gentoo-${init}-`);
    const out = join(work, 'out');
    const recipe = await standinRecipe(work);
    const run = await runBuildCommand(
      [
        '--init', init, '--recipe', recipe, '--out', out, '--compression', 'zstd', '--level', '1', '--plain',
        '--cache-dir', join(work, 'cache'), '--jitsi-source', jitsi.served.url, '--jitsi-key', jitsi.key.keyring,
      ],
      { logFile: join(work, 'build.log') },
    );
    if (run.exitCode !== 0) {
      t.fail(`build failed (exit ${run.exitCode}):\n${run.output.split('\n').slice(-60).join('\n')}`);
      return;
    }
    t.regex(run.output, /stage3-amd64-\w+-\S+\.tar\.xz is the root/, 'the verified stage3 became the root');
    t.regex(run.output, /wrote \/etc\/portage\/make\.conf, \/etc\/portage\/binrepos\.conf\/gentoobinhost\.conf/, "portage's configuration was written");
    // The stand-in's emerge fails unless the binary host requires signatures, getuto ran first and every atom is installed.
    t.regex(run.output, /emerge \d+ packages \(binary packages/, 'emerge ran in the stage3');
    t.regex(run.output, /portage-gnupg: removed \/etc\/portage\/gnupg/, "getuto's keyring (with its private key) was made, then removed by the cleanup");
    t.regex(run.output, /emerge-logs: removed 1 emerge logs/, "emerge's log was written, then removed");
    t.regex(run.output, /installed jicofo \S+, jitsi-videobridge2 \S+, jitsi-meet-web \S+, jitsi-meet-prosody \S+/, "Jitsi's .debs were unpacked");

    const artifacts = await readdir(out);
    const tarball = join(out, artifacts.find((name) => name.endsWith('.tar.zst'))!);
    t.regex(tarball, new RegExp(`gentoo-23\\.0-jitsi-${init}-`), 'the artifacts are named after the Gentoo recipe');
    const packages = await readFile(join(out, artifacts.find((name) => name.endsWith('.packages'))!), 'utf8');
    for (const atom of ['www-servers/nginx', 'net-im/prosody', 'net-im/coturn', 'net-libs/nodejs', init === 'openrc' ? 'sys-process/cronie' : 'sys-apps/dbus']) {
      t.regex(packages, new RegExp(`^${atom}:\\S+ \\S+ amd64$`, 'm'), `${atom} is in the .packages list read from /var/db/pkg`);
    }
    const entries = await archiveEntries(tarball);
    for (const leftover of ['./etc/portage/gnupg/', './var/log/emerge.log', './var/cache/distfiles/standin.tar.gz', './var/cache/edb/mtimedb']) {
      t.false(entries.includes(leftover), `${leftover} does not ship`);
    }
    t.false(entries.some((entry) => entry.startsWith('./var/cache/binpkgs/') && entry.endsWith('.gpkg.tar')), 'no binary package ships');
    t.true(entries.includes('./usr/share/jitsi-meet/'), "the web app's files are in the image");

    const root = join(work, 'root');
    await mkdir(root, { mode: 0o755 });
    await execa('tar', ['--zstd', '--extract', `--file=${tarball}`, `--directory=${root}`, '--numeric-owner', '--same-permissions', '--xattrs', '--xattrs-include=*']);
    const ns = await createNetns(`gentoo-${init === 'systemd' ? 'sd' : 'rc'}`);
    let container: Container | undefined;
    try {
      await giveLanAddress(ns.name);
      container = await bootContainer({ directory: root, init, netns: ns.name, settingsFile: join(out, artifacts.find((name) => name.endsWith('.nspawn'))!) });
      await container.waitUntilUp(180_000);
      await writeFile(join(root, 'root/answers.yaml'), yaml.dump(LAN_ANSWERS));
      const configured = await container.exec(['jitsi-meet-config', '--answers', '/root/answers.yaml'], { timeoutMs: 300_000, reject: false });
      const output = `${configured.stdout}${configured.stderr}`;
      if (configured.exitCode !== 0) {
        const status = init === 'systemd' ? 'systemctl --no-pager --failed; journalctl --no-pager -n 60' : 'rc-status; rc-service prosody start; ls -la /run/prosody /var/log/prosody; tail -n 30 /var/log/nginx/error.log /var/log/prosody/*';
        const diagnostics = await container.exec(['sh', '-c', status], { reject: false });
        t.fail(`jitsi-meet-config exited ${configured.exitCode}:\n${output}\n${diagnostics.stdout}${diagnostics.stderr}`);
        return;
      }
      t.regex(configured.stdout.trimEnd().split('\n').at(-1) ?? '', /^jitsi-meet-config: SUCCESS: /, output);
      // jicofo and the bridge are wanted, not needed, by the server's service: a bridge that
      // started before prosody listened is started again by its init, so give them a while.
      const expected = [
        ['nginx', 'nginx: worker process'],
        ['prosody', 'prosody'],
        ['turnserver', 'turnserver'],
        ['jicofo', 'java'],
        ['jvb', 'java'],
      ] as const;
      let ps = '';
      const allRunning = async () => {
        ps = await processes(container!);
        return expected.every(([user, command]) => new RegExp(`^${user}\\s+.*${command}`, 'm').test(ps));
      };
      await until('every daemon running as its user', allRunning, 90_000).catch(() => undefined);
      for (const [user, command] of expected) {
        t.regex(ps, new RegExp(`^${user}\\s+.*${command}`, 'm'), `${command} runs as ${user}:\n${ps}`);
      }
      if (!(await allRunning())) {
        const status = init === 'systemd' ? 'systemctl status --no-pager jitsi-videobridge2 jicofo; tail -n 40 /var/log/jitsi/jvb.log' : 'rc-service jitsi-videobridge2 status; tail -n 40 /var/log/jitsi/jvb.log';
        const why = await container.exec(['sh', '-c', status], { reject: false });
        t.log(`${why.stdout}${why.stderr}`);
      }
      const service = COTURN_SERVICE[init];
      const status = await container.exec(init === 'systemd' ? ['systemctl', 'is-active', `${service}.service`] : ['rc-service', service, 'status'], { reject: false });
      t.is(status.exitCode, 0, `coturn's service is ${service} here and runs:\n${status.stdout}${status.stderr}`);
    } finally {
      await container?.stop().catch(() => undefined);
      await container?.dispose();
      await ns.delete();
    }
  });
}
