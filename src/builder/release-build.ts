/**
 * A whole release in one command: `--init all` and/or `--arch amd64,arm64` build every variant
 * (each init system for each architecture) into one output directory, signed together.
 *
 * Every variant is an ordinary build (pipeline.ts) whose output directory is this release's
 * private staging directory inside the real one (`.partial-release-<pid>`, which sign, verify
 * and the next build ignore while its owner lives). Only when every variant succeeded is the
 * set signed (one SHA256SUMS over the new images and those already in the directory, signed
 * once) and moved into place, the signature files last; a failed or interrupted variant
 * leaves the output directory as it was.
 *
 * What the variants share: the resolved options, the signing key (unlocked once, before the
 * first build, so a wrong passphrase fails in seconds), one inspection per tarball (in the
 * sign step), and the cache: the bootstrap's base (mmdebstrap's solve, download and dpkg run
 * over every package all init systems get, most of a build's time) is made by the first
 * variant of an architecture and taken by the next, which only installs its own init
 * system's packages on it (stages/bootstrap.ts); their .deb files come from the package
 * cache as far as it has them. They run one after the other: two bootstraps at once only
 * compete for the same cores and disk, and the second would not find the first's base. What
 * does overlap: the next variant's copy of the base is unpacked while the first one finishes
 * (base-handoff.ts).
 */
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type * as openpgp from 'openpgp';
import type { Architecture } from '../host/emulation.js';
import type { InitSystem } from '../lib/init-systems.js';
import { processRuns } from '../lib/process-exists.js';
import { BUILD_STAGING_PREFIX, listRelease, SIGNATURE_SUFFIX, SUMS_FILE, SUMS_SIGNATURE_FILE } from '../release/artifacts.js';
import { readSigningKey } from '../release/keys.js';
import { readPassphrase } from '../release/passphrase.js';
import { refuseUncovered, signRelease } from '../release/sign.js';
import { createBaseHandoff } from './base-handoff.js';
import { BUILD_DEFAULTS } from './build-options.js';
import { buildRootfs, listenForInterruptions, type BuildOptions, type BuildResult } from './pipeline.js';
import { resolveWorkdirParent } from './workspace.js';

export interface Variant {
  init: InitSystem;
  /** Undefined: the recipe's, else the host's. */
  architecture?: Architecture;
}

export interface ReleaseOptions extends Omit<BuildOptions, 'init' | 'architecture'> {
  inits: InitSystem[];
  /** Default: one, the recipe's, else the host's. */
  architectures?: Architecture[];
}

export interface ReleaseResult {
  variants: { init: InitSystem; architecture: Architecture; seconds: number; tarball: string; sha256: string }[];
  /** Every file published, in the order moved into place. */
  artifacts: string[];
  outDir: string;
  seconds: number;
}

const RELEASE_STAGING_PREFIX = `${BUILD_STAGING_PREFIX}release-`;

/** Every init system for every architecture, architecture by architecture. */
export function variantsOf(inits: readonly InitSystem[], architectures: readonly Architecture[] | undefined): Variant[] {
  if (!architectures) return inits.map((init) => ({ init }));
  return architectures.flatMap((architecture) => inits.map((init) => ({ init, architecture })));
}

/** Publication order: images and lists first, their signatures next, SHA256SUMS and its signature last. */
export function publicationOrder(names: readonly string[]): string[] {
  const rank = (name: string) =>
    name === SUMS_SIGNATURE_FILE ? 3 : name === SUMS_FILE ? 2 : name.endsWith(SIGNATURE_SUFFIX) ? 1 : 0;
  return [...names].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** Release staging directories of builds that no longer run. */
async function removeStaleReleaseStaging(outDir: string): Promise<void> {
  for (const name of await readdir(outDir).catch(() => [] as string[])) {
    if (!name.startsWith(RELEASE_STAGING_PREFIX)) continue;
    const pid = Number(name.slice(RELEASE_STAGING_PREFIX.length));
    if (Number.isInteger(pid) && pid !== process.pid && processRuns(pid)) continue;
    await rm(join(outDir, name), { recursive: true, force: true });
  }
}

export async function buildRelease(options: ReleaseOptions): Promise<ReleaseResult> {
  const started = Date.now();
  const cwd = options.cwd ?? process.cwd();
  const outDir = resolve(cwd, options.outDir ?? BUILD_DEFAULTS.outDir);
  const variants = variantsOf(options.inits, options.architectures);
  const log = (line: string) => {
    if (options.renderer !== 'silent') process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  };

  let key: openpgp.PrivateKey | undefined;
  if (options.signKey) {
    key = await readSigningKey(resolve(cwd, options.signKey), () => readPassphrase({ noPrompt: true }, { prompt: `Passphrase for ${options.signKey}` }));
  }
  // One listener for the whole release: between two variants no build listens.
  const interruption = listenForInterruptions(options, 'the release build');
  const abort = { signal: interruption.signal };
  const stagingDir = join(outDir, `${RELEASE_STAGING_PREFIX}${process.pid}`);
  const handoff = createBaseHandoff({ workdirParent: resolveWorkdirParent(options.workdirParent, cwd), signal: abort.signal });
  try {
    await removeStaleReleaseStaging(outDir);
    if (key) refuseUncovered(outDir, await listRelease(outDir).catch(() => ({ ...emptyListing })));
    await rm(stagingDir, { recursive: true, force: true });
    const built: ReleaseResult['variants'] = [];
    for (const [index, variant] of variants.entries()) {
      if (abort.signal.aborted) throw abort.signal.reason;
      log(`variant ${index + 1} of ${variants.length}: ${variant.init}${variant.architecture ? ` ${variant.architecture}` : ''}`);
      const next = variants[index + 1];
      const result: BuildResult = await buildRootfs({
        ...options,
        init: variant.init,
        architecture: variant.architecture,
        // The next variant of the same architecture starts from this one's base.
        baseHandoff: handoff.portFor(next !== undefined && next.architecture === variant.architecture),
        outDir: stagingDir,
        // Signed once below, over the whole set.
        signKey: undefined,
        signal: abort.signal,
        handleSignals: false,
        ...(options.skip ? { skip: options.skip.filter((name) => name !== 'sign') } : {}),
      });
      built.push({ init: variant.init, architecture: result.architecture, seconds: result.seconds, tarball: join(outDir, result.tarball.slice(stagingDir.length + 1)), sha256: result.sha256 });
    }
    if (key) {
      const outcome = await signRelease(outDir, key, { stagingDir, log, signal: abort.signal });
      log(`signed with ${key.getFingerprint().toUpperCase()}: ${outcome.written.join(', ') || 'nothing new'}`);
    }
    if (abort.signal.aborted) throw abort.signal.reason;
    const published: string[] = [];
    for (const name of publicationOrder(await readdir(stagingDir))) {
      if (!(await stat(join(stagingDir, name))).isFile()) continue;
      await rename(join(stagingDir, name), join(outDir, name));
      published.push(join(outDir, name));
    }
    return { variants: built, artifacts: published, outDir, seconds: Math.round((Date.now() - started) / 1000) };
  } catch (error) {
    throw abort.signal.aborted ? abort.signal.reason : error;
  } finally {
    await handoff.dispose();
    await rm(stagingDir, { recursive: true, force: true });
    interruption.dispose();
  }
}

/** What an output directory that does not exist yet holds. */
const emptyListing = {
  artifacts: [],
  signatures: [],
  orphanSignatures: [],
  hasSums: false,
  hasSumsSignature: false,
  publicKeys: [],
  leftovers: [],
  unknown: [],
  notFiles: [],
};
