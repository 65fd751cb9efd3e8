/**
 * The component list is spelled in a few places outside the configurator: the systemd target
 * and the OpenRC service that start the whole server, the recipe parts that install and
 * disable the packages (Debian's and Jitsi's), and the packages `inspect` reports. They must agree with
 * COMPONENTS, so adding a component without them (or them without a component) fails here.
 */
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { COMPONENTS, planServer } from '../../../src/configurator/components/index.js';
import { COMPONENT_PACKAGES } from '../../../src/release/inspect/checks.js';
import { PROJECT_ROOT } from '../../../src/builder/pipeline.js';
import { loadFixture } from '../../helpers/generated-files.js';
import { DEBIAN, GENTOO } from '../../../src/configurator/distribution.js';

const read = (path: string) => readFile(join(PROJECT_ROOT, path), 'utf8');
const words = (text: string | undefined) => (text ?? '').trim().split(/\s+/).filter(Boolean);
const sorted = (values: Iterable<string>) => [...new Set(values)].sort();

async function facts() {
  const plan = planServer(await loadFixture('public-nat'), { distribution: DEBIAN, init: 'systemd' });
  const services = plan.services.map((service) => service.name);
  const recipe = yaml.load(await read('recipes/include/jitsi-components.yaml')) as { packages: { name: string }[]; 'services-off': string[] };
  const fromDebian = new Set(recipe.packages.map((entry) => entry.name));
  const jitsi = (yaml.load(await read('recipes/include/jitsi-packages.yaml')) as { jitsi: { packages: { name: string }[]; 'services-off': string[] } }).jitsi;
  const fromJitsi = new Set(jitsi.packages.map((entry) => entry.name));
  // A component's service comes from Debian when the recipe installs the component's packages.
  const serviceFromDebian = new Map<string, boolean>();
  const serviceFromJitsi = new Map<string, boolean>();
  for (const component of COMPONENTS) {
    const own = component.plan(await loadFixture('public-nat'), { distribution: DEBIAN, init: 'systemd' }).services ?? [];
    for (const service of own) {
      serviceFromDebian.set(service.name, component.packages.some((name) => fromDebian.has(name)));
      // prosody's component also has Jitsi's plugins package, but its service is Debian's.
      serviceFromJitsi.set(service.name, !serviceFromDebian.get(service.name) && component.packages.some((name) => fromJitsi.has(name)));
    }
  }
  return { services, recipe, jitsi, serviceFromDebian, serviceFromJitsi };
}

test('the systemd target wants and orders after every service of a component, and nothing else', async (t) => {
  const { services } = await facts();
  const target = await read('overlays/systemd/etc/systemd/system/jitsi-meet-server.target');
  const units = (key: string) => words(new RegExp(`^${key}=(.*)$`, 'm').exec(target)?.[1]).map((unit) => unit.replace(/\.service$/, ''));
  t.deepEqual(sorted(units('Wants')), sorted(services));
  t.deepEqual(sorted(units('After')), sorted(services));
});

test("the OpenRC service needs the services Debian installs and wants Jitsi's (absent from images built without them)", async (t) => {
  const { services, serviceFromDebian, serviceFromJitsi } = await facts();
  const script = await read('overlays/debian-openrc/etc/init.d/jitsi-meet-server');
  const need = words(/^\s*need (.*)$/m.exec(script)?.[1]);
  const want = words(/^\s*want (.*)$/m.exec(script)?.[1]);
  t.deepEqual(sorted([...need, ...want]), sorted(services));
  t.deepEqual(sorted(need), sorted(services.filter((name) => serviceFromDebian.get(name))));
  t.deepEqual(sorted(want), sorted(services.filter((name) => serviceFromJitsi.get(name))));
});

test("Gentoo's OpenRC service needs and wants the same services under Gentoo's names (coturn's is turnserver)", async (t) => {
  const plan = async (distribution: typeof DEBIAN) => planServer(await loadFixture('public-nat'), { distribution, init: 'openrc' });
  const debianNames = (await plan(DEBIAN)).services.map((service) => service.name);
  const gentooNames = (await plan(GENTOO)).services.map((service) => service.name);
  const debianScript = await read('overlays/debian-openrc/etc/init.d/jitsi-meet-server');
  const gentooScript = await read('overlays/gentoo-openrc/etc/init.d/jitsi-meet-server');
  const line = (script: string, key: string) => words(new RegExp(`^\\s*${key} (.*)$`, 'm').exec(script)?.[1]);
  t.deepEqual(sorted([...line(gentooScript, 'need'), ...line(gentooScript, 'want')]), sorted(gentooNames));
  // The same services in the same roles: each of Debian's names maps to Gentoo's by position in the plan.
  const toGentoo = new Map(debianNames.map((name, index) => [name, gentooNames[index]!]));
  for (const key of ['need', 'want']) t.deepEqual(sorted(line(debianScript, key).map((name) => toGentoo.get(name)!)), sorted(line(gentooScript, key)), key);
  t.true(line(gentooScript, 'need').includes(GENTOO.coturn.service.openrc));
});

test('the recipe parts leave off exactly the component services they install', async (t) => {
  const { services, recipe, jitsi, serviceFromDebian, serviceFromJitsi } = await facts();
  t.deepEqual(sorted(recipe['services-off']), sorted(services.filter((name) => serviceFromDebian.get(name))));
  t.deepEqual(sorted(jitsi['services-off']), sorted(services.filter((name) => serviceFromJitsi.get(name))));
});

test('inspect reports every package that runs a component service, and only packages of components', async (t) => {
  const owned = new Set(COMPONENTS.flatMap((component) => component.packages));
  for (const name of COMPONENT_PACKAGES) t.true(owned.has(name), `${name} belongs to no component`);
  const listed = new Set<string>(COMPONENT_PACKAGES);
  const config = await loadFixture('public-nat');
  for (const component of COMPONENTS) {
    if ((component.plan(config, { distribution: DEBIAN, init: 'systemd' }).services ?? []).length === 0) continue;
    for (const name of component.packages) t.true(listed.has(name), `${component.name}'s package ${name} is not reported by inspect`);
  }
});

test("OpenRC runs the bridge with our script (the package ships only a systemd unit), as jvb with the package's launcher", async (t) => {
  const plan = planServer(await loadFixture('public-nat'), { distribution: DEBIAN, init: 'openrc' });
  const bridge = plan.services.find((service) => service.name === 'jitsi-videobridge2');
  const script = await read('overlays/openrc/etc/init.d/jitsi-videobridge2');
  t.is(/^command=(\S+)$/m.exec(script)?.[1], bridge?.program, 'the script runs the program whose presence means "installed"');
  t.regex(script, /^command_user="jvb:jitsi"$/m);
  t.regex(script, /^supervisor=supervise-daemon$/m);
  // It reads the environment file the videobridge component writes.
  t.true(plan.files.some((file) => file.path === /^config_file=(\S+)$/m.exec(script)?.[1]));
});
