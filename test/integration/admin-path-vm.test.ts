/**
 * The admin's path from README.md, run for real on a machine whose PID 1 is systemd (systemd
 * 252, Debian bookworm): a QEMU VM (test/helpers/vm.ts), since the machines the tests run on do
 * not boot systemd. The VM trusts our signing key as README's "Trust the signing key once"
 * says, then runs README's `<!-- admin-path: systemd|openrc -->` blocks line by line against a
 * signed release that a loopback HTTP server here serves (the VM reaches it as
 * http://10.0.2.100/ through QEMU's guestfwd): `machinectl pull-tar --verify=signature`, the
 * settings file into /etc/systemd/nspawn/, `machinectl start`, the configurator through
 * `machinectl shell` (systemd image) or `nsenter` (OpenRC image), `machinectl enable`. Then:
 * the configurator's last line says SUCCESS, the container shares the VM's network namespace,
 * its nginx answers HTTPS from the VM, the unit is enabled, and `machinectl terminate` ends the
 * machine within 10 s. One negative case: the same path without the copy into
 * /etc/systemd/nspawn/ gives a container on a private network, and the configurator must
 * refuse and change nothing.
 *
 * The README blocks are read at run time, so a README whose commands fail on a fresh host
 * fails here. The only changes made to its lines: the release URL prefix becomes the
 * guestfwd address, the artifact names become the served ones, and the configure line gets
 * `--answers /root/answers.yaml` (that file is written into the container first).
 *
 * Both images run one after the other in one VM boot: they share the VM's network, so never
 * both at once; each test removes its machine and systemd-pull's cached download of it,
 * whatever happens, so every pull is a first pull, as on a fresh host. Release files are
 * served with ETags, as static web servers do.
 */
import test, { type ExecutionContext } from 'ava';
import { createReadStream } from 'node:fs';
import { copyFile, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { generateSigningKey, readSigningKey } from '../../src/release/keys.js';
import { signRelease } from '../../src/release/sign.js';
import type { InitSystem as TestInit } from '../../src/lib/init-systems.js';
import { PROJECT_ROOT, testImage } from '../helpers/images.js';
import { scratchDir } from '../helpers/scratch.js';
import { bootVm, GUEST_HTTP_ADDRESS, type Vm } from '../helpers/vm.js';

const README = join(PROJECT_ROOT, 'README.md');
/** What README's blocks use, and what the test puts in their place. */
const README_URL_PREFIX = 'https://example.org/jitsi/';
const SERVED_URL_PREFIX = `http://${GUEST_HTTP_ADDRESS}/`;
const MACHINE = 'jitsi';
const MACHINE_ROOT = `/var/lib/machines/${MACHINE}`;
const ANSWERS_PATH = '/root/answers.yaml';
const HOST = 'meet.jitsi.test';
const ANSWERS = `hostname: ${HOST}\ntls: {mode: self-signed}\n`;
const CONFIGURATOR = '/usr/sbin/jitsi-meet-config';
const PASSPHRASE = 'admin path vm test';
/** What `machinectl shell` itself prints around the session (systemd 252). */
const MACHINECTL_SHELL_BANNER = /^(Connected to machine \S+\. Press \^\] three times within 1s to exit session\.|Connection to machine \S+ terminated\.)$/;

const scratch = (prefix: string) => scratchDir(prefix);

let vm: Vm | undefined;
let server: Server | undefined;
let release = '';
/** Served tarball basename per init, e.g. debian-jitsi-systemd.tar.xz. */
const served = new Map<TestInit, string>();
let setupDone = false;
let anyFailed = false;

// ---------------------------------------------------------------- README blocks

/** A shell line without its trailing `# comment` (a `#` outside quotes that starts a word). */
function stripComment(line: string): string {
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = '';
    } else if (c === '\\') i++;
    else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i).trimEnd();
  }
  return line.trimEnd();
}

/** The command lines of a fenced ```sh block: comments and blank lines dropped, `\` continuations joined. */
function commandLines(body: string): string[] {
  const lines: string[] = [];
  let pending = '';
  for (const raw of body.split('\n')) {
    const line = stripComment(raw);
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (full) lines.push(full);
  }
  if (pending.trim()) lines.push(pending.trim());
  return lines;
}

/** The first fenced ```sh block after `from` in `text`, or undefined. */
function shBlockAfter(text: string, from: number, mustFollowImmediately: boolean): string[] | undefined {
  const rest = text.slice(from);
  const match = /^[ \t]*```sh[ \t]*\n([\s\S]*?)^[ \t]*```[ \t]*$/m.exec(rest);
  if (!match) return undefined;
  if (mustFollowImmediately && rest.slice(0, match.index).trim() !== '') return undefined;
  return commandLines(match[1]!);
}

async function readmeAdminPath(init: TestInit): Promise<string[]> {
  const text = await readFile(README, 'utf8');
  const marker = `<!-- admin-path: ${init} -->`;
  const at = text.indexOf(marker);
  const lines = at < 0 ? undefined : shBlockAfter(text, at + marker.length, true);
  if (!lines || lines.length === 0) {
    throw new Error(`README.md has no admin path for the ${init} image: expected a line '${marker}' directly followed by a fenced \`\`\`sh block of commands (see this test's file comment)`);
  }
  return lines;
}

async function readmeTrustKey(): Promise<string[]> {
  const text = await readFile(README, 'utf8');
  const at = text.indexOf('**Trust the signing key once.**');
  const lines = at < 0 ? undefined : shBlockAfter(text, at, false);
  if (!lines?.some((line) => line.includes('/etc/systemd/import-pubring'))) {
    throw new Error("README.md: found no '**Trust the signing key once.**' paragraph followed by a ```sh block that installs /etc/systemd/import-pubring.*");
  }
  return lines;
}

interface AdminLine {
  /** As README has it. */
  readme: string;
  /** As the test runs it. */
  command: string;
  kind: 'pull' | 'configure' | 'start' | 'enable' | 'other';
}

/** README's lines with the test's three substitutions (see the file comment). */
function adaptAdminPath(init: TestInit, lines: string[]): AdminLine[] {
  const pull = lines.find((line) => /\bmachinectl\s+pull-tar\b/.test(line) && line.includes(README_URL_PREFIX));
  if (!pull) throw new Error(`README.md's ${init} admin path has no 'machinectl pull-tar ... ${README_URL_PREFIX}...' line:\n${lines.join('\n')}`);
  const readmeTarball = new RegExp(`${README_URL_PREFIX.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(\\S+?\\.tar\\.xz)\\b`).exec(pull)?.[1];
  if (!readmeTarball) throw new Error(`README.md's ${init} pull-tar line names no .tar.xz under ${README_URL_PREFIX}: ${pull}`);
  if (!lines.some((line) => line.includes(CONFIGURATOR))) throw new Error(`README.md's ${init} admin path has no line running ${CONFIGURATOR}:\n${lines.join('\n')}`);
  const readmeStem = readmeTarball.replace(/\.tar\.xz$/, '');
  const servedStem = served.get(init)!.replace(/\.tar\.xz$/, '');
  return lines.map((readme) => {
    let command = readme.replaceAll(README_URL_PREFIX, SERVED_URL_PREFIX).replaceAll(readmeStem, servedStem);
    let kind: AdminLine['kind'] = 'other';
    if (readme === pull) kind = 'pull';
    else if (readme.includes(CONFIGURATOR)) {
      kind = 'configure';
      command += ` --answers ${ANSWERS_PATH}`;
    } else if (/\bmachinectl\s+start\b/.test(readme)) kind = 'start';
    else if (/\bmachinectl\s+enable\b/.test(readme)) kind = 'enable';
    return { readme, command, kind };
  });
}

// ---------------------------------------------------------------- helpers

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Output through a pty has \r\n (and maybe escape sequences): plain lines. */
function plainLines(output: string): string[] {
  return output
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
    .replace(/\r/g, '')
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line !== '');
}

/** Runs one line in the VM as root types it: stdin from /dev/null, stderr into stdout (so the order of lines is kept). */
async function runInVm(command: string, timeoutMs: number) {
  const started = Date.now();
  const result = await vm!.ssh(`exec 2>&1 </dev/null; ${command}`, { timeoutMs });
  return { ...result, ms: Date.now() - started };
}

/** A remote command that must succeed; returns its trimmed output. */
async function must(command: string, timeoutMs = 60_000): Promise<string> {
  const result = await runInVm(command, timeoutMs);
  if (result.exitCode !== 0) throw new Error(`in the VM, '${command}' exited with ${result.exitCode}:\n${result.stdout.trim()}`);
  return result.stdout.trim();
}

async function vmAddress(): Promise<string> {
  const out = await must('ip -4 -o addr show scope global');
  const address = /\binet (\d+\.\d+\.\d+\.\d+)\//.exec(out)?.[1];
  if (!address) throw new Error(`the VM has no global IPv4 address:\n${out}`);
  return address;
}

async function leader(): Promise<string> {
  const pid = await must(`machinectl show ${MACHINE} --property=Leader --value`);
  if (!/^[1-9][0-9]*$/.test(pid)) throw new Error(`machinectl show ${MACHINE}: no leader PID (${pid})`);
  return pid;
}

/** Stops and removes the machine and everything README's lines left for it; safe when there is none. */
async function removeMachine(): Promise<void> {
  if (!vm) return;
  const script = [
    `if machinectl show ${MACHINE} >/dev/null 2>&1; then`,
    `  machinectl terminate ${MACHINE}`,
    `  i=0; while machinectl show ${MACHINE} >/dev/null 2>&1 && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done`,
    `  systemctl kill --signal=SIGKILL systemd-nspawn@${MACHINE}.service 2>/dev/null`,
    `  systemctl stop systemd-nspawn@${MACHINE}.service 2>/dev/null`,
    'fi',
    `systemctl reset-failed systemd-nspawn@${MACHINE}.service 2>/dev/null`,
    `machinectl disable ${MACHINE} 2>/dev/null`,
    `machinectl remove ${MACHINE} 2>/dev/null`,
    `rm -f /etc/systemd/nspawn/${MACHINE}.nspawn /var/lib/machines/${MACHINE}.nspawn`,
    // systemd-pull's cached download of each URL (a hidden image, made immutable, so only
    // machinectl removes it): the next test pulls as on a fresh host. With it kept, systemd
    // 252's second pull of the same URL skipped the image ("Image already downloaded") and
    // then hung fetching SHA256SUMS, in two runs out of three.
    'machinectl clean',
    `! machinectl show ${MACHINE} >/dev/null 2>&1 && [ ! -e ${MACHINE_ROOT} ]`,
  ].join('\n');
  const result = await runInVm(script, 3 * 60_000);
  if (result.exitCode !== 0) throw new Error(`could not remove machine ${MACHINE} from the VM:\n${result.stdout}`);
}

interface ConfigureOutcome {
  lines: string[];
  last: string;
  exitCode: number;
}

/**
 * Runs README's lines in order, up to and including the last one `stopAfter` accepts (all by
 * default), skipping those `skip` accepts. Every line but the configurator's must succeed.
 */
async function runAdminPath(
  t: ExecutionContext,
  init: TestInit,
  options: { skip?: (line: AdminLine) => boolean; stopAfter?: AdminLine['kind'] } = {},
): Promise<ConfigureOutcome> {
  const lines = adaptAdminPath(init, await readmeAdminPath(init));
  let configured: ConfigureOutcome | undefined;
  for (const line of lines) {
    if (options.skip?.(line)) {
      t.log(`skipped: ${line.readme}`);
      continue;
    }
    if (line.kind === 'configure') {
      await must(`cat > ${MACHINE_ROOT}${ANSWERS_PATH} <<'EOF'\n${ANSWERS}EOF`);
    }
    const timeoutMs = line.kind === 'pull' || line.kind === 'configure' ? 8 * 60_000 : 3 * 60_000;
    const result = await runInVm(line.command, timeoutMs);
    const output = plainLines(result.stdout);
    t.log(`${seconds(result.ms).padStart(7)}  exit ${result.exitCode}  ${line.command}`);
    if (line.kind === 'configure') {
      // machinectl shell's own two messages (on its stderr, merged here) are not the configurator's.
      const printed = output.filter((text) => !MACHINECTL_SHELL_BANNER.test(text));
      configured = { lines: printed, last: printed.at(-1) ?? '', exitCode: result.exitCode };
      t.log(`    configurator's last line: ${configured.last}`);
    } else if (result.exitCode !== 0) {
      const shown = output.filter((text) => !/^Got \d+% of /.test(text)).slice(-20);
      throw new Error(`README.md's ${init} admin path failed at: ${line.readme}\n(run as: ${line.command})\nexit ${result.exitCode}:\n${shown.join('\n')}`);
    } else if (line.kind === 'pull') {
      const summary = output.filter((text) => /Signature verification|checksum of|Created new|already downloaded|Operation completed/.test(text));
      t.log(summary.map((text) => `    ${text}`).join('\n'));
    }
    if (options.stopAfter && line.kind === options.stopAfter) break;
  }
  if (!configured) throw new Error(`README.md's ${init} admin path: the configurator line was never run`);
  return configured;
}

// ---------------------------------------------------------------- release server

/** Serves the release directory read-only on 127.0.0.1, with ETags and If-None-Match as static servers do. */
async function serveRelease(dir: string): Promise<number> {
  server = createServer((request, response) => {
    void (async () => {
      const name = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
      const info = /^[A-Za-z0-9._-]+$/.test(name) ? await stat(join(dir, name)).catch(() => undefined) : undefined;
      if (!info?.isFile() || (request.method !== 'GET' && request.method !== 'HEAD')) {
        response.writeHead(404).end();
        return;
      }
      const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
      const known = String(request.headers['if-none-match'] ?? '').split(',').map((tag) => tag.trim());
      if (known.includes(etag)) {
        response.writeHead(304, { etag }).end();
        return;
      }
      response.writeHead(200, { 'content-length': info.size, etag });
      if (request.method === 'HEAD') response.end();
      else createReadStream(join(dir, name)).pipe(response);
    })().catch(() => response.destroy());
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** The cached zstd test image as a .tar.xz release entry with its .nspawn and .packages, named after the tarball. */
async function addToRelease(init: TestInit): Promise<void> {
  const image = await testImage(init);
  const stem = basename(image.tarball).replace(/\.tar\.zst$/, '');
  if (stem === basename(image.tarball)) throw new Error(`test image ${image.tarball} is not a .tar.zst`);
  // systemd 252 cannot unpack zstd; README tells admins to use .tar.xz. Level 1: fast.
  // Two steps through a plain .tar (xz replaces it with the .tar.xz): no 700 MB stream
  // passes through this process.
  const tar = join(release, `${stem}.tar`);
  await execa('zstd', ['-q', '-d', '-o', tar, '--', image.tarball]);
  await execa('xz', ['-1', '-T2', '--', tar]);
  await copyFile(image.nspawn, join(release, `${stem}.nspawn`));
  await copyFile(image.packages, join(release, `${stem}.packages`));
  served.set(init, `${stem}.tar.xz`);
}

// ---------------------------------------------------------------- hooks

test.before(async (t) => {
  // Image builds (when the sources changed), recompression and the VM boot; each bounded below.
  t.timeout(30 * 60_000);
  if (process.getuid?.() !== 0) throw new Error('this test builds a VM image with mmdebstrap: run it as root');
  const timing = async <T>(what: string, body: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    const value = await body();
    t.log(`${seconds(Date.now() - started).padStart(7)}  ${what}`);
    return value;
  };
  release = await scratch('admin-path-release-');
  for (const init of ['systemd', 'openrc'] as const) {
    await timing(`${init} test image (cached, or built now)`, () => testImage(init));
    await timing(`${init} test image recompressed to .tar.xz`, () => addToRelease(init));
  }
  const keyDir = await scratch('admin-path-key-');
  await timing('signing key and signed release', async () => {
    const key = await generateSigningKey({ name: 'Admin Path Test', email: 'admin-path@example.org', algorithm: 'ed25519', passphrase: PASSPHRASE });
    await writeFile(join(keyDir, 'private.asc'), key.privateArmored);
    await writeFile(join(keyDir, 'import-pubring.gpg'), key.publicBinary);
    await signRelease(release, await readSigningKey(join(keyDir, 'private.asc'), async () => PASSPHRASE));
  });
  const port = await serveRelease(release);
  vm = await timing('VM (base image cached or built, booted, ssh answers)', () => bootVm({ httpPort: port, log: (line) => t.log(`    ${line}`) }));
  await timing("signing key trusted as README's 'Trust the signing key once' says", async () => {
    const put = await vm!.ssh('cat > /root/import-pubring.gpg', { input: await readFile(join(keyDir, 'import-pubring.gpg')) });
    if (put.exitCode !== 0) throw new Error(`copying the keyring into the VM failed: ${put.stderr}`);
    for (const line of await readmeTrustKey()) await must(`cd /root && ${line}`);
  });
  setupDone = true;
});

test.afterEach.always((t) => {
  if (!t.passed) anyFailed = true;
});

test.after.always(async (t) => {
  if (vm) {
    const { keptLog } = await vm.stop({ keepLog: anyFailed || !setupDone });
    if (keptLog) t.log(`the VM's serial console log is kept: ${keptLog}`);
  }
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

// ---------------------------------------------------------------- tests

for (const init of ['systemd', 'openrc'] as const) {
  test.serial(`README's ${init} admin path on a systemd 252 host: pull-tar with signature, settings file, start, configure, HTTPS, enable, terminate`, async (t) => {
    // Pull (about 3 min under TCG), configure (1 to 3 min), checks; bounded well below the file's budget.
    t.timeout(15 * 60_000);
    t.teardown(removeMachine);
    const started = Date.now();
    const outcome = await runAdminPath(t, init);
    t.log(`configurator exit status as seen through ${init === 'systemd' ? 'machinectl shell' : 'nsenter'}: ${outcome.exitCode}`);
    t.regex(outcome.last, /^jitsi-meet-config: SUCCESS: /, `the configurator's last line:\n${outcome.lines.slice(-15).join('\n')}`);

    const pid = await leader();
    const [containerNet, vmNet] = (await must(`readlink /proc/${pid}/ns/net /proc/1/ns/net`)).split('\n');
    t.is(containerNet, vmNet, 'the container shares the VM network namespace');
    // On the host's network, CAP_NET_ADMIN would let the container change the host's addresses
    // and routes: the bounding set of its init (and so of every process inside) must lack it.
    const bounding = BigInt(`0x${(await must(`sed -n 's/^CapBnd:[[:space:]]*//p' /proc/${pid}/status`)).trim()}`);
    t.is((bounding >> 12n) & 1n, 0n, `CapBnd ${bounding.toString(16)} holds CAP_NET_ADMIN`);

    const address = await vmAddress();
    const configJs = await runInVm(
      `curl -sS --max-time 30 --cacert ${MACHINE_ROOT}/etc/jitsi/tls/${HOST}.crt --resolve ${HOST}:443:${address} https://${HOST}/config.js`,
      60_000,
    );
    t.is(configJs.exitCode, 0, `HTTPS from the VM to the container's nginx: ${configJs.stdout.slice(0, 500)}`);
    t.regex(configJs.stdout, new RegExp(`"domain": "${HOST.replaceAll('.', '\\.')}"`), "config.js names the configured host");
    t.log(`https://${HOST}/config.js via ${address}: ${configJs.stdout.length} bytes, certificate checked against the one the configurator made`);

    t.is(await must(`systemctl is-enabled systemd-nspawn@${MACHINE}.service`), 'enabled');

    // Measured inside the VM, so ssh's own latency does not count.
    const stop = await must(
      [
        's=$(date +%s%N)',
        `machinectl terminate ${MACHINE}`,
        `i=0; while machinectl show ${MACHINE} >/dev/null 2>&1 && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done`,
        'e=$(date +%s%N)',
        `machinectl show ${MACHINE} >/dev/null 2>&1 && echo still-there`,
        'echo $(( (e - s) / 1000000 ))',
      ].join('\n'),
      2 * 60_000,
    );
    const stopMs = Number(stop.split('\n').at(-1));
    t.false(stop.includes('still-there'), `machine ${MACHINE} still registered after machinectl terminate`);
    t.true(stopMs < 10_000, `machinectl terminate took ${stopMs} ms`);
    t.log(`machinectl terminate: machine gone after ${stopMs} ms`);
    t.log(`whole admin path for ${init}: ${seconds(Date.now() - started)}`);
  });

  if (init === 'systemd') {
    test.serial("without the copy into /etc/systemd/nspawn/ the container is on a private network and the configurator refuses, changing nothing", async (t) => {
      t.timeout(10 * 60_000);
      t.teardown(removeMachine);
      const outcome = await runAdminPath(t, 'systemd', {
        // Only the line that installs the settings file in /etc/systemd/nspawn/; the mkdir stays.
        skip: (line) => /\/etc\/systemd\/nspawn\/\S+\.nspawn/.test(line.readme),
        stopAfter: 'configure',
      });
      t.log(`configurator exit status as seen through machinectl shell: ${outcome.exitCode}`);
      const pid = await leader();
      const [containerNet, vmNet] = (await must(`readlink /proc/${pid}/ns/net /proc/1/ns/net`)).split('\n');
      t.not(containerNet, vmNet, 'without its settings file the container gets a network namespace of its own');
      t.regex(outcome.last, /^jitsi-meet-config: FAILED: /, `the configurator's last line:\n${outcome.lines.slice(-15).join('\n')}`);
      t.true(
        outcome.lines.slice(0, -1).some((line) => line.includes("not on the host's network")),
        `an earlier line says the container is not on the host's network:\n${outcome.lines.slice(-15).join('\n')}`,
      );
      t.is(await must(`test -e ${MACHINE_ROOT}/etc/jitsi/master-config.yaml && echo exists || echo absent`), 'absent', 'nothing was configured');
    });
  }
}
