/**
 * inspect: reads every tarball this build wrote, as `nspawn-jitsi inspect` would, and fails
 * the build when one holds something that must not ship: per-instance state (machine-id,
 * ssh host keys, random seed, credential secret), private keys, prosody accounts, a usable
 * root password, world-writable files or directories without the sticky bit, absolute or
 * `..` paths. Warnings and notes (setuid programs, apt lists) are logged, not fatal. It
 * checks the archive, not the rootfs directory, so it sees exactly what users will unpack.
 */
import { basename } from 'node:path';
import { UserError } from '../../lib/errors.js';
import { isTarball } from '../../image/artifact-names.js';
import { errorCount, humanBytes, inspectTarball } from '../../release/inspect/index.js';
import type { BuildContext, Stage } from '../stage.js';

export const inspect: Stage = {
  name: 'inspect',
  title: 'Inspect the tarball for state and files that must not ship',
  async run(ctx: BuildContext) {
    const tarballs = ctx.artifacts.filter((path) => isTarball(basename(path)));
    if (tarballs.length === 0) throw new Error('no tarball among the artifacts: the pack stage must run before inspect');
    const failures: string[] = [];
    for (const tarball of tarballs) {
      const report = await inspectTarball(tarball, { signal: ctx.signal });
      const name = basename(tarball);
      const os = report.osRelease?.PRETTY_NAME ?? 'no os-release';
      ctx.log(`${name}: ${report.entries} entries, ${humanBytes(report.totalBytes)}, ${os}, init ${report.init.name}`);
      for (const finding of report.findings) {
        if (finding.severity === 'info') continue;
        ctx.log(`${name}: ${finding.severity}: ${finding.path}: ${finding.message}`);
        if (finding.severity === 'error') failures.push(`${name}: ${finding.path}: ${finding.message}`);
      }
      if (errorCount(report) === 0) ctx.log(`${name}: no errors`);
    }
    if (failures.length) {
      throw new UserError(
        `the image holds ${failures.length} thing${failures.length === 1 ? '' : 's'} that must not ship (fix the cleanup or recipe, or see 'nspawn-jitsi inspect'):\n  ${failures.join('\n  ')}`,
      );
    }
  },
};
