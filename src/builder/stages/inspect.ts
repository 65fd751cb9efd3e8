/**
 * inspect: reads every tarball this build wrote, as `nspawn-jitsi inspect` would, and fails
 * the build when one holds something that must not ship: per-instance state (machine-id,
 * ssh host keys, random seed, credential secret), private keys, prosody accounts, a usable
 * root password, world-writable files or directories without the sticky bit, dangerous file
 * capabilities, absolute or `..` paths, entries written through links out of the root,
 * entries it cannot interpret. Warnings and notes (setuid programs, apt lists) are logged,
 * not fatal. It checks the archive, not the rootfs directory, so it sees exactly what users
 * will unpack.
 * `sign` runs the same inspection (release/inspect/gate.ts) before it signs anything.
 */
import { basename } from 'node:path';
import { UserError } from '../../lib/errors.js';
import { isTarball } from '../../image/artifact-names.js';
import { inspectForRelease, thingsThatMustNotShip } from '../../release/inspect/gate.js';
import type { BuildContext, Stage } from '../stage.js';

export const inspect: Stage = {
  name: 'inspect',
  title: 'Inspect the tarball for state and files that must not ship',
  async run(ctx: BuildContext) {
    const tarballs = ctx.artifacts.filter((path) => isTarball(basename(path)));
    if (tarballs.length === 0) throw new Error('no tarball among the artifacts: the pack stage must run before inspect');
    const { failures } = await inspectForRelease(tarballs, { signal: ctx.signal, log: ctx.log });
    if (failures.length) {
      throw new UserError(
        `the image holds ${thingsThatMustNotShip(failures)} (fix the cleanup or recipe, or see 'nspawn-jitsi inspect'):\n  ${failures.join('\n  ')}`,
      );
    }
  },
};
