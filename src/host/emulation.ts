/**
 * Building (and booting) an image of another architecture on this host: Debian's
 * qemu-user-static registers its interpreters with the kernel's binfmt_misc, so every program
 * of the foreign architecture that mmdebstrap, apt, dpkg's maintainer scripts or
 * systemd-nspawn start in the image runs under qemu-user without anything copied into it.
 * That needs three things on the host, each a different fix: binfmt_misc mounted, the
 * qemu-user-static package, and its entry enabled with the `F` flag (the kernel opens the
 * interpreter when it is registered, so it works inside a chroot that does not contain it).
 */
import { access, constants, readFile } from 'node:fs/promises';
import { UserError } from '../lib/errors.js';

/** The architectures images are built for (Debian's names). */
export const ARCHITECTURES = ['amd64', 'arm64'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/** qemu's name of each architecture: qemu-user-static's binfmt entry is `qemu-<name>`. */
export const QEMU_ARCHITECTURE: Record<Architecture, string> = { amd64: 'x86_64', arm64: 'aarch64' };

const BINFMT_DIR = '/proc/sys/fs/binfmt_misc';

/** What the host says about running `architecture`'s programs (read by readEmulationFacts). */
export interface EmulationFacts {
  /** /proc/sys/fs/binfmt_misc is mounted (its `status` file exists). */
  binfmtMounted: boolean;
  /** The `qemu-<name>` binfmt entry, when registered. */
  entry?: { enabled: boolean; interpreter: string; flags: string };
  /** The registered interpreter exists (a removed package leaves its entry behind). */
  interpreterExists: boolean;
  /** Debian's qemu-user-static is installed (its /usr/bin/qemu-<name>-static exists). */
  qemuInstalled: boolean;
}

/** `enabled\ninterpreter /usr/libexec/...\nflags: PF\n...` (binfmt_misc's entry file). */
export function parseBinfmtEntry(text: string): { enabled: boolean; interpreter: string; flags: string } {
  const lines = text.split('\n');
  return {
    enabled: lines[0]?.trim() === 'enabled',
    interpreter: /^interpreter (.*)$/m.exec(text)?.[1]?.trim() ?? '',
    flags: /^flags: ?(.*)$/m.exec(text)?.[1]?.trim() ?? '',
  };
}

/**
 * Why this host cannot run `architecture`'s programs, as one line saying what to do; undefined
 * when it can. Pure, so each case is tested without changing the host.
 */
export function emulationProblem(architecture: Architecture, hostArchitecture: string, facts: EmulationFacts): string | undefined {
  if (architecture === hostArchitecture) return undefined;
  const qemu = QEMU_ARCHITECTURE[architecture];
  const what = `building ${architecture} on this ${hostArchitecture} host runs its programs under qemu-user emulation`;
  if (!facts.qemuInstalled && !facts.entry) return `${what}, which is not installed: apt install qemu-user-static binfmt-support`;
  if (!facts.binfmtMounted) {
    return `${what}, but binfmt_misc is not mounted: mount -t binfmt_misc binfmt_misc ${BINFMT_DIR} && update-binfmts --enable ${`qemu-${qemu}`}`;
  }
  if (!facts.entry) return `${what}, but qemu-${qemu} is not registered with binfmt_misc: update-binfmts --enable qemu-${qemu}`;
  if (!facts.entry.enabled) return `${what}, but the binfmt_misc entry qemu-${qemu} is disabled: update-binfmts --enable qemu-${qemu}`;
  if (!facts.interpreterExists) {
    return `${what}, but the registered interpreter ${facts.entry.interpreter} is missing: apt install --reinstall qemu-user-static`;
  }
  if (!facts.entry.flags.includes('F')) {
    // Without F the kernel looks the interpreter up inside the chroot, where it does not exist.
    return `${what}, but qemu-${qemu} is registered without the F flag (flags: ${facts.entry.flags || 'none'}), so it cannot run inside the image: use Debian's qemu-user-static (apt install qemu-user-static binfmt-support) and update-binfmts --enable qemu-${qemu}`;
  }
  return undefined;
}

const exists = (path: string) =>
  access(path, constants.F_OK).then(
    () => true,
    () => false,
  );

export async function readEmulationFacts(architecture: Architecture): Promise<EmulationFacts> {
  const qemu = QEMU_ARCHITECTURE[architecture];
  const text = await readFile(`${BINFMT_DIR}/qemu-${qemu}`, 'utf8').catch(() => undefined);
  const entry = text === undefined ? undefined : parseBinfmtEntry(text);
  return {
    binfmtMounted: await exists(`${BINFMT_DIR}/status`),
    entry,
    interpreterExists: entry ? await exists(entry.interpreter) : false,
    qemuInstalled: await exists(`/usr/bin/qemu-${qemu}-static`),
  };
}

/** Throws a UserError (one line, what to install or enable) unless this host can run `architecture`'s programs. */
export async function requireEmulation(architecture: Architecture, hostArchitecture: string): Promise<void> {
  if (architecture === hostArchitecture) return;
  const problem = emulationProblem(architecture, hostArchitecture, await readEmulationFacts(architecture));
  if (problem) throw new UserError(problem);
}

export function isArchitecture(name: string): name is Architecture {
  return (ARCHITECTURES as readonly string[]).includes(name);
}
