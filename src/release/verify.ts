/**
 * Verifies a release directory the way an admin would before trusting it: SHA256SUMS and its
 * signature, every listed file's checksum, every artifact's own `.asc`, and that nothing that
 * looks like an artifact is present without being listed. Every problem is collected and
 * named with its file; nothing stops at the first one.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type * as openpgp from 'openpgp';
import { UserError } from '../lib/errors.js';
import { listRelease, SIGNATURE_SUFFIX, SUMS_FILE, SUMS_SIGNATURE_FILE } from './artifacts.js';
import { parseSums, sha256File } from './checksums.js';
import { verifyBytes, verifyFile, type SignatureCheck } from './signatures.js';

export type VerifyFailureReason = 'bad signature' | 'unknown key' | 'checksum mismatch' | 'missing file' | 'file not listed' | 'not covered' | 'malformed';

export interface VerifyFailure {
  file: string;
  reason: VerifyFailureReason;
  detail: string;
}

export interface VerifyReport {
  failures: VerifyFailure[];
  /** One line per check that passed, for the user to see what was covered. */
  passed: string[];
}

export async function verifyRelease(dir: string, keys: readonly openpgp.PublicKey[]): Promise<VerifyReport> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new UserError(`${dir}: not a directory; pass the release directory holding SHA256SUMS`);
  const listing = await listRelease(dir);
  const failures: VerifyFailure[] = [];
  const passed: string[] = [];
  const fail = (file: string, reason: VerifyFailureReason, detail: string) => failures.push({ file, reason, detail });
  const signatureResult = (file: string, what: string, check: SignatureCheck) => {
    if (check.ok) passed.push(`${file}: good signature of ${what} by key ${check.keyId}`);
    else fail(file, check.failure, check.detail);
  };

  const listed = new Map<string, string>();
  if (!listing.hasSums) {
    fail(SUMS_FILE, 'missing file', 'the checksum list is absent; the release was not signed (run nspawn-jitsi sign)');
  } else {
    const sumsBytes = await readFile(join(dir, SUMS_FILE));
    const { entries, problems } = parseSums(sumsBytes.toString('utf8'));
    for (const problem of problems) fail(`${SUMS_FILE}:${problem.line}`, 'malformed', problem.message);
    for (const entry of entries) listed.set(entry.name, entry.sha256);
    if (!listing.hasSumsSignature) {
      fail(SUMS_SIGNATURE_FILE, 'missing file', 'the signature of SHA256SUMS is absent; machinectl pull-tar --verify=signature will refuse this release');
    } else {
      signatureResult(SUMS_SIGNATURE_FILE, SUMS_FILE, await verifyBytes(sumsBytes, await readFile(join(dir, SUMS_SIGNATURE_FILE)), keys));
    }
  }

  // Beside a signed release, anything the signatures do not cover looks vouched for: a failure.
  for (const { name, why } of listing.notFiles) fail(name, 'not covered', why);
  for (const name of listing.unknown) {
    if (!listed.has(name)) fail(name, 'not covered', `neither an artifact (.tar*, .nspawn, .packages) nor a signature, and not in ${SUMS_FILE}: nothing vouches for it; remove it`);
  }

  const present = new Set(listing.artifacts);
  const notFiles = new Set(listing.notFiles.map((entry) => entry.name));
  for (const [name, expected] of listed) {
    if (present.has(name)) continue;
    // Already reported, and never read: a listed name may be a FIFO or a link to a device.
    if (notFiles.has(name)) continue;
    // Listed but not named like an artifact: still checked when it exists, never called missing.
    const actual = await sha256File(join(dir, name)).catch(() => undefined);
    if (actual === undefined) fail(name, 'missing file', `listed in ${SUMS_FILE} but not in the directory`);
    else if (actual !== expected) fail(name, 'checksum mismatch', `SHA-256 is ${actual}, ${SUMS_FILE} says ${expected}`);
    else passed.push(`${name}: checksum matches ${SUMS_FILE}`);
  }
  for (const orphan of listing.orphanSignatures) {
    const artifact = orphan.slice(0, -SIGNATURE_SUFFIX.length);
    if (!listed.has(artifact)) fail(artifact, 'missing file', `${orphan} signs it but the file is not in the directory`);
  }

  for (const artifact of listing.artifacts) {
    const path = join(dir, artifact);
    const expected = listed.get(artifact);
    if (listing.hasSums && expected === undefined) fail(artifact, 'file not listed', `not in ${SUMS_FILE}, so nothing vouches for it`);
    const signatureName = artifact + SIGNATURE_SUFFIX;
    let actual: string;
    if (listing.signatures.includes(signatureName)) {
      const { check, sha256 } = await verifyFile(path, await readFile(join(dir, signatureName)), keys);
      signatureResult(signatureName, artifact, check);
      actual = sha256;
    } else {
      fail(signatureName, 'missing file', `the detached signature of ${artifact} is absent`);
      actual = await sha256File(path);
    }
    if (expected !== undefined) {
      if (expected === actual) passed.push(`${artifact}: checksum matches ${SUMS_FILE}`);
      else fail(artifact, 'checksum mismatch', `SHA-256 is ${actual}, ${SUMS_FILE} says ${expected}`);
    }
  }
  return { failures, passed };
}

export function formatVerifyReport(report: VerifyReport): string {
  const lines = report.passed.map((line) => `ok    ${line}`);
  for (const failure of report.failures) lines.push(`FAIL  ${failure.file}: ${failure.reason}: ${failure.detail}`);
  lines.push(report.failures.length === 0 ? 'release verified' : `${report.failures.length} problem${report.failures.length === 1 ? '' : 's'} found`);
  return lines.join('\n') + '\n';
}
