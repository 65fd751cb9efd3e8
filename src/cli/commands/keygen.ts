/** `nspawn-jitsi keygen`: a new release signing key, ready for gpg and systemd-pull. */
import { PASSPHRASE_ENV, PASSPHRASE_FILE_ENV, readPassphrase } from '../../release/passphrase.js';
import { writeNewKey } from '../../release/keygen.js';
import type { CommandSpec } from '../options.js';

export const keygenCommand: CommandSpec = {
  name: 'keygen',
  summary: 'Make an OpenPGP key for signing releases.',
  description: `
Writes to --out: <base>.private.asc (armored, passphrase-protected, mode 0600; keep it
secret and backed up), <base>.public.asc (armored, for gpg users) and import-pubring.gpg +
import-pubring.pgp (the same binary keyring under the names systemd-importd reads from
/etc/systemd/). The key is a v4 EdDSA (ed25519) key, or RSA 4096 with --rsa: both are
verified by GnuPG 2.2 and by machinectl pull-tar. Existing files are never replaced.
The passphrase (at least 8 characters) comes from --passphrase-file, the ${PASSPHRASE_ENV}
environment variable, a file named by ${PASSPHRASE_FILE_ENV}, or a prompt (asked twice, not
echoed); never from an argument.`,
  options: [
    { name: 'name', type: 'string', required: true, valueName: 'NAME', doc: "Name in the key's user id, e.g. 'Example Jitsi Releases'." },
    { name: 'email', type: 'string', required: true, valueName: 'ADDRESS', doc: "E-mail address in the key's user id." },
    { name: 'out', type: 'path', default: '.', valueName: 'DIR', doc: 'Directory to write the key files to (created if missing).' },
    { name: 'basename', type: 'string', valueName: 'BASE', doc: 'File name prefix of the .private.asc/.public.asc files. Default: derived from --name.' },
    { name: 'rsa', type: 'boolean', doc: 'Make an RSA 4096 key instead of ed25519 (for verifiers without EdDSA support).' },
    { name: 'passphrase-file', type: 'path', valueName: 'FILE', doc: 'Read the passphrase from the first line of FILE instead of asking.' },
  ],
  async run({ options }) {
    const passphrase = await readPassphrase(
      { file: options['passphrase-file'] as string | undefined },
      { prompt: 'Passphrase for the new private key', confirm: true },
    );
    const result = await writeNewKey({
      name: options.name as string,
      email: options.email as string,
      algorithm: options.rsa ? 'rsa4096' : 'ed25519',
      passphrase,
      outDir: options.out as string,
      baseName: options.basename as string | undefined,
    });
    process.stdout.write(
      [
        `key ${result.fingerprint}`,
        `private key: ${result.files.privateKey} (keep secret)`,
        `public key:  ${result.files.publicKey}`,
        `keyrings:    ${result.files.keyrings.join(', ')} (install on hosts as /etc/systemd/import-pubring.gpg or .pgp)`,
        '',
      ].join('\n'),
    );
    return 0;
  },
};
