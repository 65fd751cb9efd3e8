/**
 * The inspection a tarball must pass before it is signed. The build's inspect stage and
 * `sign` (and so the build's sign stage) both run it, so a tarball the build would refuse
 * cannot be signed by hand either. There is deliberately no way to skip it: an image with an
 * error is fixed and rebuilt, not published.
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { errorCount, humanBytes, inspectTarball, type InspectReport } from './index.js';

export interface GateResult {
  reports: InspectReport[];
  /** `<tarball>: <path>: <message>` for every error; empty when all may be published. */
  failures: string[];
}

/**
 * Reports made in this process, by path, reused while the file is the same (same inode, size,
 * mtime and ctime): a build inspects its tarball in the inspect stage and signs it moments
 * later, and reading a large image twice would only cost time.
 */
const inspected = new Map<string, { identity: string; report: InspectReport }>();

async function identity(path: string): Promise<string> {
  const info = await stat(path, { bigint: true });
  return `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
}

export async function inspectForRelease(tarballs: string[], options: { signal?: AbortSignal; log?: (line: string) => void } = {}): Promise<GateResult> {
  const log = options.log ?? (() => {});
  const reports: InspectReport[] = [];
  const failures: string[] = [];
  for (const tarball of tarballs) {
    const before = await identity(tarball);
    let report = inspected.get(tarball)?.identity === before ? inspected.get(tarball)!.report : undefined;
    if (!report) {
      report = await inspectTarball(tarball, { signal: options.signal });
      // Changed while it was read: do not vouch for either version later.
      if ((await identity(tarball)) === before) inspected.set(tarball, { identity: before, report });
    }
    reports.push(report);
    const name = basename(tarball);
    const os = report.osRelease?.PRETTY_NAME ?? 'no os-release';
    log(`${name}: ${report.entries} entries, ${humanBytes(report.totalBytes)}, ${os}, ${report.architecture ?? 'architecture unknown'}, init ${report.init.name}`);
    for (const finding of report.findings) {
      if (finding.severity === 'info') continue;
      log(`${name}: ${finding.severity}: ${finding.path}: ${finding.message}`);
      if (finding.severity === 'error') failures.push(`${name}: ${finding.path}: ${finding.message}`);
    }
    if (errorCount(report) === 0) log(`${name}: no errors`);
  }
  return { reports, failures };
}

export function thingsThatMustNotShip(failures: string[]): string {
  return `${failures.length} thing${failures.length === 1 ? '' : 's'} that must not ship`;
}
