/** `nspawn-jitsi verify`: checks a downloaded or freshly signed release directory. */
import { access } from 'node:fs/promises';
import { readPublicKeys } from '../../release/keys.js';
import { formatVerifyReport, verifyRelease } from '../../release/verify.js';
import { UsageError, type CommandSpec } from '../options.js';

/** The keyrings systemd-importd trusts, newest name first: without --key we trust what it trusts. */
export const SYSTEM_KEYRINGS = ['/etc/systemd/import-pubring.pgp', '/etc/systemd/import-pubring.gpg'];

export const verifyCommand: CommandSpec = {
  name: 'verify',
  summary: 'Check the signatures and checksums of a release directory.',
  description: `
Checks SHA256SUMS.gpg against SHA256SUMS, every listed file's SHA-256, every artifact's
<file>.asc, and that no artifact is present without being listed. Every problem is printed
with its file and reason (bad signature, unknown key, checksum mismatch, missing file, file
not listed, malformed); the exit code is 1 if there is any. Without --key the keys come from
${SYSTEM_KEYRINGS.join(' or ')} (what machinectl pull-tar trusts).`,
  options: [
    { name: 'key', type: 'path', valueName: 'PUBKEY', doc: 'Trusted public key(s): armored .asc or a binary keyring such as import-pubring.gpg.' },
  ],
  positionals: [{ name: 'DIR', doc: 'Release directory holding SHA256SUMS and the artifacts.', required: true }],
  async run({ options, positionals }) {
    let keyFile = options.key as string | undefined;
    if (!keyFile) {
      for (const candidate of SYSTEM_KEYRINGS) {
        if (await access(candidate).then(() => true, () => false)) {
          keyFile = candidate;
          break;
        }
      }
      if (!keyFile) throw new UsageError(`no trusted key: pass --key PUBKEY (none of ${SYSTEM_KEYRINGS.join(', ')} exists)`);
    }
    const keys = await readPublicKeys(keyFile);
    const report = await verifyRelease(positionals[0], keys);
    (report.failures.length ? process.stderr : process.stdout).write(formatVerifyReport(report));
    return report.failures.length === 0 ? 0 : 1;
  },
};
