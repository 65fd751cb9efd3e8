/**
 * Is this server on a network its clients can reach? Checked before anything is changed.
 *
 * The image is meant to share the host's network (its `.nspawn` file says `VirtualEthernet=no`
 * and `Private=no`). systemd applies those settings only from /etc/systemd/nspawn/ (or
 * /run/systemd/nspawn/): a container started with just the copy `machinectl pull-tar` leaves in
 * /var/lib/machines/, or with no settings file, gets `systemd-nspawn@.service`'s private veth
 * link instead, which inside shows as `host0` (down, as nothing in the image configures it).
 * Configuring then half works: coturn finds no address to listen on, and nothing outside
 * could reach nginx or the videobridge anyway. So the configurator refuses in one line, saying
 * which file to install where, and changes nothing.
 *
 * The reading (`ip -j address show`) is kept apart from the decision (pure functions over a
 * snapshot), so tests can hand in any set of interfaces.
 */
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { BlockList, isIP } from 'node:net';
import { hostname as kernelHostname } from 'node:os';
import { join } from 'node:path';

export interface InterfaceState {
  name: string;
  /** Administratively up and with a link (loopback: up). */
  up: boolean;
  loopback: boolean;
  addresses: string[];
}

export interface NetworkSnapshot {
  interfaces: InterfaceState[];
  /** Running inside a container (systemd-nspawn or another manager). */
  inContainer: boolean;
  /** The kernel hostname: in a container not yet configured, the machine name. */
  hostname: string;
}

/** Where systemd-nspawn and systemd inside a container say that it is one. */
const CONTAINER_MARKERS = ['run/host/container-manager', 'run/systemd/container'];

interface IpLink {
  ifname?: string;
  flags?: string[];
  addr_info?: { local?: string }[];
}

/**
 * Interfaces from `ip -j address show`: every interface of this network namespace, down ones
 * too, with flags and addresses, read over netlink. Not /sys/class/net: inside a container
 * that sysfs may show the devices of the namespace that mounted it (the host's), not its own.
 */
export function parseIpAddresses(json: string): InterfaceState[] {
  const links = JSON.parse(json) as IpLink[];
  return links
    .filter((link) => typeof link.ifname === 'string')
    .map((link) => {
      const flags = new Set(link.flags ?? []);
      const loopback = flags.has('LOOPBACK');
      // UP alone is only the admin state; LOWER_UP says there is a link (loopback has none to report).
      const up = flags.has('UP') && (flags.has('LOWER_UP') || loopback);
      return { name: link.ifname!, up, loopback, addresses: (link.addr_info ?? []).flatMap((info) => (info.local ? [info.local] : [])) };
    })
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** This network namespace's interfaces (`ip`, from iproute2, is in the image), and whether `root` is a container. */
export async function readNetworkSnapshot(root = '/'): Promise<NetworkSnapshot> {
  const { stdout } = await execa('ip', ['-j', 'address', 'show'], { stdin: 'ignore' });
  const inContainer = CONTAINER_MARKERS.some((marker) => existsSync(join(root, marker)));
  return { interfaces: parseIpAddresses(stdout), inContainer, hostname: kernelHostname() };
}

function usable(snapshot: NetworkSnapshot): InterfaceState[] {
  return snapshot.interfaces.filter((entry) => !entry.loopback && entry.up && entry.addresses.some((address) => !/^fe[89ab]/i.test(address)));
}

function describeInterfaces(snapshot: NetworkSnapshot): string {
  return snapshot.interfaces.map((entry) => (entry.loopback ? entry.name : `${entry.name} (${entry.up ? entry.addresses.join(', ') || 'no address' : 'down'})`)).join(' and ');
}

/** The machine name to put in advice: the kernel hostname until the configurator changed it. */
function machineName(snapshot: NetworkSnapshot): string {
  return /^[a-z0-9][a-z0-9_-]*$/i.test(snapshot.hostname) ? snapshot.hostname : '<machine>';
}

/** What a container admin must do on the host, in one sentence. */
export function settingsFileAdvice(snapshot: NetworkSnapshot): string {
  const name = machineName(snapshot);
  return (
    `on the host run \`mkdir -p /etc/systemd/nspawn\`, copy the image's settings file there as /etc/systemd/nspawn/${name}.nspawn ` +
    `(the .nspawn file from the release, or /var/lib/machines/${name}.nspawn that machinectl pull-tar saved), ` +
    `then \`machinectl stop ${name}\` and \`machinectl start ${name}\``
  );
}

/**
 * Why this machine cannot serve anyone, or undefined when it can: there must be an interface
 * besides loopback that is up and has an address (link-local ones do not count).
 */
export function hostNetworkProblem(snapshot: NetworkSnapshot): string | undefined {
  if (usable(snapshot).length > 0) return undefined;
  const seen = describeInterfaces(snapshot) || 'no interface at all';
  if (snapshot.inContainer) {
    return `this container is not on the host's network (it sees only ${seen}), so nobody could reach the server: it was started without its settings file; ${settingsFileAdvice(snapshot)}. Nothing was changed.`;
  }
  return `this machine has no network interface with an address besides loopback (it sees only ${seen}), so nobody could reach the server: connect it to a network first. Nothing was changed.`;
}

function sameAddress(a: string, b: string): boolean {
  const family = isIP(a);
  if (family === 0 || family !== isIP(b)) return false;
  const list = new BlockList();
  list.addAddress(a, family === 4 ? 'ipv4' : 'ipv6');
  return list.check(b, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Why `internalIp` (the master config's address of this machine) cannot be right here, or
 * undefined: it must be an address of one of this machine's interfaces, because nginx, coturn
 * and the videobridge listen there.
 */
export function internalAddressProblem(snapshot: NetworkSnapshot, internalIp: string, source: string): string | undefined {
  const all = snapshot.interfaces.flatMap((entry) => (entry.up ? entry.addresses : []));
  if (all.some((address) => sameAddress(address, internalIp))) return undefined;
  const own = usable(snapshot).flatMap((entry) => entry.addresses);
  const where = snapshot.inContainer ? 'this container' : 'this machine';
  const listed = own.length > 0 ? own.join(', ') : 'none besides loopback';
  const fix =
    snapshot.inContainer && snapshot.interfaces.some((entry) => entry.name === 'host0')
      ? `the container has a private network (host0) instead of the host's: ${settingsFileAdvice(snapshot)}`
      : `give one of this machine's addresses as the internal address (in ${source}: internal_ip)`;
  return `the internal address ${internalIp} is not an address of ${where} (its addresses: ${listed}); ${fix}. Nothing was changed.`;
}
