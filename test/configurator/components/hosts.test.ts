import test from 'ava';
import { ETC_HOSTNAME, ETC_HOSTS, hostsComponent } from '../../../src/configurator/components/hosts/index.js';
import { loadFixture } from '../../helpers/generated-files.js';
import { DEBIAN } from '../../../src/configurator/distribution.js';

/** name → addresses, as a resolver reading /etc/hosts would see them. */
function resolve(hosts: string): Map<string, string[]> {
  const names = new Map<string, string[]>();
  for (const line of hosts.split('\n')) {
    const [address, ...aliases] = line.replace(/#.*/, '').trim().split(/\s+/);
    if (!address) continue;
    for (const alias of aliases) names.set(alias, [...(names.get(alias) ?? []), address]);
  }
  return names;
}

test('the hostname is an alias of 127.0.0.1 only (IPv4 loopback services), and /etc/hostname holds it', async (t) => {
  const config = await loadFixture('public-nat');
  const files = hostsComponent.plan(config, { distribution: DEBIAN, init: 'systemd' }).files;
  const names = resolve(files.find((f) => f.path === ETC_HOSTS)!.content);
  t.deepEqual(names.get('meet.example.org'), ['127.0.0.1']);
  t.deepEqual(names.get('localhost'), ['127.0.0.1', '::1']);
  t.is(files.find((f) => f.path === ETC_HOSTNAME)?.content, 'meet.example.org\n');
});

test('localhost_alias false and write_etc_hostname false are honoured', async (t) => {
  const config = await loadFixture('own-cert');
  const files = hostsComponent.plan(config, { distribution: DEBIAN, init: 'systemd' }).files;
  t.false(resolve(files.find((f) => f.path === ETC_HOSTS)!.content).has(config.hostname));
  t.false(files.some((f) => f.path === ETC_HOSTNAME));
});

test('hostname localhost is not listed twice', async (t) => {
  const files = hostsComponent.plan(await loadFixture('localhost'), { distribution: DEBIAN, init: 'systemd' }).files;
  t.deepEqual(resolve(files.find((f) => f.path === ETC_HOSTS)!.content).get('localhost'), ['127.0.0.1', '::1']);
});
