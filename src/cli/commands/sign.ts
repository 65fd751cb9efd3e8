/** `nspawn-jitsi sign`: signatures and SHA256SUMS for a release directory. */
import { readSigningKey } from '../../release/keys.js';
import { PASSPHRASE_ENV, PASSPHRASE_FILE_ENV, readPassphrase } from '../../release/passphrase.js';
import { signRelease } from '../../release/sign.js';
import type { CommandSpec } from '../options.js';

export const signCommand: CommandSpec = {
  name: 'sign',
  summary: 'Sign every artifact of a release directory and write SHA256SUMS(.gpg).',
  description: `
For each tarball (.tar, .tar.xz, .tar.zst, .tar.gz, .tar.bz2), .nspawn and .packages file in DIR:
a detached armored signature <file>.asc. Then SHA256SUMS ('<sha256> *<name>' per artifact)
and SHA256SUMS.gpg, its detached signature: what 'machinectl pull-tar --verify=signature'
checks. Signatures that still verify with this key are kept, so signing an unchanged
directory again changes nothing. Any other file (except <name>.public.asc and
import-pubring.*, which are not signed) would be published unsigned, so sign refuses and
names it. Every tarball is first inspected as the build does ('nspawn-jitsi inspect'):
an error in any of them and nothing is signed; there is no option to skip this. On any
failure nothing in DIR changes. An encrypted key's passphrase comes from
--passphrase-file, the ${PASSPHRASE_ENV} environment variable, a file named by
${PASSPHRASE_FILE_ENV}, or a prompt.`,
  options: [
    { name: 'key', type: 'path', required: true, valueName: 'FILE', doc: 'Private key (armored or binary), e.g. the .private.asc from keygen or gpg --export-secret-keys.' },
    { name: 'passphrase-file', type: 'path', valueName: 'FILE', doc: 'Read the key passphrase from the first line of FILE instead of asking.' },
  ],
  positionals: [{ name: 'DIR', doc: 'Release directory holding the artifacts.', required: true }],
  async run({ options, positionals }) {
    const key = await readSigningKey(options.key as string, () =>
      readPassphrase({ file: options['passphrase-file'] as string | undefined }, { prompt: `Passphrase for ${options.key as string}` }),
    );
    const outcome = await signRelease(positionals[0], key, { log: (line) => process.stderr.write(`${line}\n`) });
    const fingerprint = key.getFingerprint().toUpperCase();
    process.stdout.write(
      outcome.written.length === 0
        ? `${positionals[0]}: already signed by ${fingerprint}; nothing changed\n`
        : `${positionals[0]}: signed ${outcome.artifacts.length} artifacts with ${fingerprint}; wrote ${outcome.written.join(', ')}\n`,
    );
    return 0;
  },
};
