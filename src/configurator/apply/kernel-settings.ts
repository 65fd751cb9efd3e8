/**
 * Kernel settings a service wants at least (the videobridge's UDP buffers). Read, never set: in
 * a container /proc/sys is the host's and read-only, so the only useful thing is to tell the
 * admin what to set on the host. Lower values are a warning, not a failure: the bridge works
 * with the kernel's defaults, it only drops more packets under load.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KernelSettingMinimum } from '../components/types.js';

export interface KernelSettingReading extends KernelSettingMinimum {
  /** The current value; undefined when this machine does not show it (a container's network namespace hides some). */
  value?: number;
}

/** /proc/sys path of a sysctl name. */
export function procSysPath(root: string, name: string): string {
  return join(root, 'proc/sys', ...name.split('.'));
}

export async function readKernelSettings(root: string, wanted: readonly KernelSettingMinimum[]): Promise<KernelSettingReading[]> {
  const readings: KernelSettingReading[] = [];
  for (const setting of wanted) {
    const text = await readFile(procSysPath(root, setting.name), 'utf8').catch(() => undefined);
    const value = text === undefined ? undefined : Number.parseInt(text.trim(), 10);
    readings.push(Number.isFinite(value) ? { ...setting, value } : { ...setting });
  }
  return readings;
}

/**
 * The warnings for `readings`: one line per setting below its minimum, and one for those this
 * machine cannot show. Nothing when all are high enough.
 */
export function kernelSettingWarnings(readings: readonly KernelSettingReading[]): string[] {
  const warnings: string[] = [];
  const low = readings.filter((reading) => reading.value !== undefined && reading.value < reading.minimum);
  for (const reading of low) {
    warnings.push(`warning: ${reading.name} is ${reading.value}, below the ${reading.minimum} upstream Jitsi sets (${reading.reason})`);
  }
  const unseen = readings.filter((reading) => reading.value === undefined);
  if (unseen.length > 0) {
    warnings.push(`warning: ${unseen.map((reading) => reading.name).join(', ')} cannot be read in this container; the host's values apply`);
  }
  if (warnings.length > 0) {
    const lines = readings.map((reading) => `${reading.name} = ${reading.minimum}`).join(', ');
    warnings.push(
      `warning: these are the HOST's kernel settings (a container cannot change them): on the host, put ${lines} ` +
        'into a file in /etc/sysctl.d/ and run `sysctl --system`',
    );
  }
  return warnings;
}
