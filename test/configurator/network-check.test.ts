/**
 * The configurator refuses to configure a server nobody could reach: a container started
 * without its settings file (private veth network: only lo and a down host0), or an internal
 * address that is on no interface. It says so in one line, changes nothing, and its last line
 * says FAILED. Every configuring run ends with a SUCCESS or FAILED line.
 */
import test from 'ava';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { join } from 'node:path';
import {
  hostNetworkProblem,
  internalAddressProblem,
  parseIpAddresses,
  type NetworkSnapshot,
} from '../../src/configurator/network-check.js';
import { MAIN, runInProcess, runProcess } from '../helpers/configurator-process.js';
import { createNetns, type Netns } from '../helpers/netns.js';
import { scratchDir } from '../helpers/scratch.js';

/** A network namespace like a container's without its settings file: lo up, the veth end host0 down. */
async function privateVethNamespace(): Promise<Netns> {
  const ns = await createNetns('jmc-veth');
  await execa('ip', ['-n', ns.name, 'link', 'add', 'host0', 'type', 'veth', 'peer', 'name', 'vb-peer']);
  return ns;
}

async function containerRoot(): Promise<string> {
  const root = await scratchDir('jmc-');
  await mkdir(join(root, 'run/host'), { recursive: true });
  await writeFile(join(root, 'run/host/container-manager'), 'systemd-nspawn\n');
  return root;
}

test('a namespace with only loopback and a down host0 is refused, naming the file to install and where', async (t) => {
  const ns = await privateVethNamespace();
  t.teardown(() => ns.delete());
  const { stdout } = await execa('ip', ['-n', ns.name, '-j', 'address', 'show']);
  const interfaces = parseIpAddresses(stdout);
  t.deepEqual(
    interfaces.map((i) => [i.name, i.up, i.loopback]),
    [
      ['host0', false, false],
      ['lo', true, true],
      ['vb-peer', false, false],
    ].sort(),
  );
  const problem = hostNetworkProblem({ interfaces: interfaces.filter((i) => i.name !== 'vb-peer'), inContainer: true, hostname: 'jitsi' });
  t.truthy(problem);
  t.false(problem!.includes('\n'), 'one line');
  t.regex(problem!, /^this container is not on the host's network \(it sees only host0 \(down\) and lo\)/);
  t.regex(problem!, /mkdir -p \/etc\/systemd\/nspawn/);
  t.regex(problem!, /as \/etc\/systemd\/nspawn\/jitsi\.nspawn/);
  t.regex(problem!, /\/var\/lib\/machines\/jitsi\.nspawn that machinectl pull-tar saved/);
  t.regex(problem!, /machinectl stop jitsi` and `machinectl start jitsi`/);
  t.regex(problem!, /Nothing was changed\.$/);
});

test('the host network (an interface with a global address) passes; a link-local address alone does not', (t) => {
  const base = { inContainer: true, hostname: 'jitsi' };
  const lo = { name: 'lo', up: true, loopback: true, addresses: ['127.0.0.1', '::1'] };
  const onHost: NetworkSnapshot = { ...base, interfaces: [lo, { name: 'ens3', up: true, loopback: false, addresses: ['10.0.2.15', 'fe80::1'] }] };
  t.is(hostNetworkProblem(onHost), undefined);
  const linkLocalOnly: NetworkSnapshot = { ...base, interfaces: [lo, { name: 'host0', up: true, loopback: false, addresses: ['fe80::5'] }] };
  t.regex(hostNetworkProblem(linkLocalOnly)!, /not on the host's network \(it sees only lo and host0 \(fe80::5\)\)/);
  const bareMachine: NetworkSnapshot = { inContainer: false, hostname: 'meet.example.org', interfaces: [lo] };
  t.regex(hostNetworkProblem(bareMachine)!, /^this machine has no network interface with an address besides loopback .*connect it to a network first/);
});

test('the internal address must be one of this machine\'s (IPv6 compared as numbers)', (t) => {
  const snapshot: NetworkSnapshot = {
    inContainer: true,
    hostname: 'meet',
    interfaces: [
      { name: 'lo', up: true, loopback: true, addresses: ['127.0.0.1'] },
      { name: 'eth0', up: true, loopback: false, addresses: ['10.0.0.5', '2001:db8::10'] },
    ],
  };
  t.is(internalAddressProblem(snapshot, '10.0.0.5', '/etc/jitsi/master-config.yaml'), undefined);
  t.is(internalAddressProblem(snapshot, '2001:0db8:0000::0010', '/etc/jitsi/master-config.yaml'), undefined);
  t.is(internalAddressProblem(snapshot, '127.0.0.1', '/etc/jitsi/master-config.yaml'), undefined, 'localhost servers use loopback');
  const problem = internalAddressProblem(snapshot, '203.0.113.7', '/etc/jitsi/master-config.yaml');
  t.is(problem, 'the internal address 203.0.113.7 is not an address of this container (its addresses: 10.0.0.5, 2001:db8::10); give one of this machine\'s addresses as the internal address (in /etc/jitsi/master-config.yaml: internal_ip). Nothing was changed.');
});

test('jitsi-meet-config in a container on a private network: one line saying why, FAILED last, nothing written', async (t) => {
  const ns = await privateVethNamespace();
  t.teardown(() => ns.delete());
  const root = await containerRoot();
  const answers = join(root, 'answers.yaml');
  await writeFile(answers, 'hostname: localhost\n');
  const before = (await readdir(root)).sort();
  // The configurator as a process inside that namespace, as it runs inside such a container.
  const result = await ns.exec([process.execPath, '--import', 'tsx', MAIN, '--root', root, '--answers', answers], { reject: false, env: { NODE_OPTIONS: '' } });
  t.is(result.exitCode, 1, result.stderr);
  const lines = result.stderr.trimEnd().split('\n');
  t.is(lines.length, 2, result.stderr);
  t.regex(lines[0], /^jitsi-meet-config: this container is not on the host's network \(it sees only host0 \(down\) and lo and vb-peer \(down\)\)/);
  t.is(lines[1], 'jitsi-meet-config: FAILED: nothing was changed.');
  t.deepEqual((await readdir(root)).sort(), before, 'no master config, no generated file');
});

test('every configuring run ends with a SUCCESS or FAILED line', async (t) => {
  const root = await scratchDir('jmc-');
  const last = (text: string) => text.trimEnd().split('\n').at(-1);

  const configured = await runInProcess(['--root', root, '--yes']);
  t.is(configured.code, 0, configured.stderr);
  t.is(last(configured.stdout), 'jitsi-meet-config: SUCCESS: the server https://localhost/ is configured (no init system here: services were not started); `jitsi-meet-config --show` prints the configuration.');

  const notApplied = await runInProcess(['--root', root, '--yes', '--no-apply']);
  t.regex(last(notApplied.stdout)!, /^jitsi-meet-config: SUCCESS: the configuration is in .*; it is not applied yet\.$/);

  const invalid = join(root, 'bad.yaml');
  await writeFile(invalid, 'hostname: "not a host"\n');
  const rejected = await runInProcess(['--root', root, '--answers', invalid]);
  t.is(rejected.code, 2);
  t.is(last(rejected.stderr), 'jitsi-meet-config: FAILED: the answers are not valid; nothing was changed.');

  const usage = await runInProcess(['--bogus']);
  t.is(usage.code, 2);
  t.is(last(usage.stderr), 'jitsi-meet-config: FAILED: bad command line; nothing was changed.');

  const fresh = await scratchDir('jmc-');
  const cutShort = await runProcess(['--root', fresh], 'localhost\n');
  t.is(cutShort.code, 1);
  t.is(last(cutShort.stderr), 'jitsi-meet-config: FAILED: nothing was changed.');
});
