/**
 * `inspect`: what is in an image tarball and whether it is fit to publish. One streaming pass
 * over the archive (see src/image/tarball.ts) collects sizes, a few small files and entry-level
 * findings (checks.ts); this file turns them into the report.
 */
import { posix } from 'node:path';
import { architectureFromDpkgStatus } from '../../image/architecture.js';
import type { ReadableCompression } from '../../image/compression.js';
import { initOfImage, parseDpkgStatus, type DetectedInit } from '../../image/init-detection.js';
import { normalizeEntryPath, walkArchive } from '../../image/tarball.js';
import { COMPONENT_PACKAGES, ImageScanner, type Finding, type Severity } from './checks.js';

export type { Finding, Severity } from './checks.js';
export { parseDpkgStatus } from '../../image/init-detection.js';

export interface InspectReport {
  archive: string;
  compression: ReadableCompression;
  entries: number;
  /** Sum of regular file sizes (uncompressed). */
  totalBytes: number;
  sizesByTopLevel: { dir: string; bytes: number }[];
  osRelease?: Record<string, string>;
  /** Debian architecture (of the image's dpkg package); undefined without a dpkg database. */
  architecture?: string;
  init: DetectedInit;
  components: { package: string; version?: string }[];
  findings: Finding[];
}

/** KEY=value lines; values may be quoted (os-release(5) uses shell-like quoting). */
export function parseOsRelease(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!match) continue;
    let value = match[2];
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) {
      value = value.slice(1, -1);
      if (match[2][0] === '"') value = value.replace(/\\(["\\$`])/g, '$1');
    }
    fields[match[1]] = value;
  }
  return fields;
}

function resolveLink(from: string, target: string): string {
  return target.startsWith('/') ? posix.normalize(target).slice(1) : posix.normalize(posix.join(posix.dirname(from), target));
}

const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

export async function inspectTarball(path: string, options: { signal?: AbortSignal } = {}): Promise<InspectReport> {
  const scanner = new ImageScanner();
  const walk = await walkArchive(path, {
    wantContent: (entry) => scanner.wantContent(entry),
    onEntry: (entry, content) => scanner.onEntry(entry, content),
    signal: options.signal,
  });
  const { facts } = scanner;
  const findings = facts.findings;
  for (const problem of walk.problems) {
    findings.push({ severity: 'error', kind: 'archive', path: problem.path ? `/${normalizeEntryPath(problem.path)}` : '(archive)', message: problem.message });
  }
  if (walk.entries === 0) findings.push({ severity: 'error', kind: 'archive', path: '(archive)', message: 'no entries: not a tar archive, or an empty one' });

  // /etc/os-release is usually a link to ../usr/lib/os-release.
  let osText = facts.contents.get('etc/os-release');
  const osLink = facts.symlinks.get('etc/os-release');
  if (!osText && osLink) osText = facts.contents.get(resolveLink('etc/os-release', osLink));
  osText ??= facts.contents.get('usr/lib/os-release');
  const osRelease = osText ? parseOsRelease(osText.toString('utf8')) : undefined;
  if (!osRelease && walk.entries > 0) findings.push({ severity: 'warning', kind: 'os-release', path: '/etc/os-release', message: 'missing: tools (and machinectl) cannot tell what this image is' });

  const status = facts.contents.get('var/lib/dpkg/status');
  const packages = status ? parseDpkgStatus(status.toString('utf8')) : new Map<string, string>();
  const init = initOfImage({ packages, symlinks: facts.symlinks, programs: facts.initPrograms });
  if (init.name === 'unknown' && walk.entries > 0) {
    findings.push({ severity: 'warning', kind: 'init', path: '/sbin/init', message: 'no init system found: the image will not boot with systemd-nspawn --boot' });
  }

  findings.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    archive: path,
    compression: walk.compression,
    entries: walk.entries,
    totalBytes: facts.totalBytes,
    sizesByTopLevel: [...facts.sizesByTopLevel].map(([dir, bytes]) => ({ dir, bytes })).sort((a, b) => b.bytes - a.bytes || (a.dir < b.dir ? -1 : 1)),
    osRelease,
    architecture: status ? architectureFromDpkgStatus(status.toString('utf8')) : undefined,
    init,
    components: COMPONENT_PACKAGES.map((name) => ({ package: name, version: packages.get(name) })),
    findings,
  };
}

export function errorCount(report: InspectReport): number {
  return report.findings.filter((finding) => finding.severity === 'error').length;
}

export function humanBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function formatInspectReport(report: InspectReport): string {
  const lines: string[] = [];
  lines.push(`archive:     ${report.archive} (${report.compression}, ${report.entries} entries, ${humanBytes(report.totalBytes)} in files)`);
  const os = report.osRelease;
  lines.push(`os-release:  ${os ? `${os.PRETTY_NAME ?? os.NAME ?? '?'} (ID=${os.ID ?? '?'}${os.VERSION_ID ? `, VERSION_ID=${os.VERSION_ID}` : ''})` : 'not found'}`);
  lines.push(`architecture: ${report.architecture ?? 'unknown (no architecture in a dpkg database)'}`);
  lines.push(`init system: ${report.init.name} (${report.init.evidence})`);
  lines.push('components:');
  const width = Math.max(...report.components.map((c) => c.package.length)) + 2;
  for (const component of report.components) lines.push(`  ${component.package.padEnd(width)}${component.version ?? 'not installed'}`);
  lines.push('size by top-level directory:');
  for (const { dir, bytes } of report.sizesByTopLevel) lines.push(`  ${humanBytes(bytes).padStart(10)}  ${dir.startsWith('(') ? dir : `/${dir}`}`);
  lines.push('findings:');
  if (report.findings.length === 0) lines.push('  none');
  const label: Record<Severity, string> = { error: 'ERROR', warning: 'WARN ', info: 'info ' };
  for (const finding of report.findings) lines.push(`  ${label[finding.severity]} ${finding.path}: ${finding.message}`);
  const count = (severity: Severity) => report.findings.filter((f) => f.severity === severity).length;
  lines.push(`${count('error')} errors, ${count('warning')} warnings, ${count('info')} notes`);
  return lines.join('\n') + '\n';
}
