import test from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { kernelSettingWarnings, procSysPath, readKernelSettings } from '../../../src/configurator/apply/kernel-settings.js';
import { JVB_KERNEL_SETTINGS } from '../../../src/configurator/components/videobridge/index.js';
import { scratchDir } from '../../helpers/scratch.js';

async function procRoot(values: Record<string, string>): Promise<string> {
  const root = await scratchDir('proc-sys-');
  for (const [name, value] of Object.entries(values)) {
    const path = procSysPath(root, name);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, `${value}\n`);
  }
  return root;
}

test('values at or above upstream\'s give no warning', async (t) => {
  const root = await procRoot({ 'net.core.rmem_max': '10485760', 'net.core.netdev_max_backlog': '250000' });
  t.deepEqual(kernelSettingWarnings(await readKernelSettings(root, JVB_KERNEL_SETTINGS)), []);
});

test('a lower value is a warning that names it and says to set it on the host', async (t) => {
  const root = await procRoot({ 'net.core.rmem_max': '212992', 'net.core.netdev_max_backlog': '100000' });
  const warnings = kernelSettingWarnings(await readKernelSettings(root, JVB_KERNEL_SETTINGS));
  t.is(warnings.length, 2, warnings.join('\n'));
  t.regex(warnings[0]!, /^warning: net\.core\.rmem_max is 212992, below the 10485760 /);
  t.regex(warnings[1]!, /HOST.*net\.core\.rmem_max = 10485760, net\.core\.netdev_max_backlog = 100000 .*\/etc\/sysctl\.d\/.*sysctl --system/);
});

test("a setting this machine cannot show (a container's network namespace hides some) is said once", async (t) => {
  const root = await procRoot({ 'net.core.rmem_max': '10485760' });
  const warnings = kernelSettingWarnings(await readKernelSettings(root, JVB_KERNEL_SETTINGS));
  t.regex(warnings[0]!, /^warning: net\.core\.netdev_max_backlog cannot be read in this container/);
  t.regex(warnings.at(-1)!, /HOST/);
});
