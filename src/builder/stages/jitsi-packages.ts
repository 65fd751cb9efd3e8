/**
 * jitsi-packages: installs Jitsi's own packages (the recipe's `jitsi.packages`: jicofo,
 * jitsi-videobridge2, jitsi-meet-web and jitsi-meet-prosody) from Jitsi's apt repository, or a
 * mirror of it (`--jitsi-source`, see src/builder/jitsi-repository.ts).
 *
 * Before anything is built, the check step fetches the repository key and refuses it unless it
 * has the recipe's pinned fingerprint (or was given with `--jitsi-key`, whose fingerprint the
 * log prints). Then, in the bootstrapped root:
 * - the key goes to /usr/share/keyrings/jitsi-keyring.gpg and the apt source
 *   (`deb [signed-by=...] <repository> stable/`) to /etc/apt/sources.list.d/jitsi-stable.list;
 *   both stay, so `apt update && apt upgrade` works inside a container;
 * - debconf is preseeded with the placeholder hostname jitsi-placeholder.invalid (the packages'
 *   scripts ask for a hostname; the configurator writes the real one back);
 * - apt-get installs the packages without recommends, with a policy-rc.d that keeps every
 *   daemon from starting (removed afterwards); apt checks the repository's signature against
 *   that one key, and a repository signed by another key fails the stage with apt's reason.
 * What the packages' scripts make for the placeholder (host files, certificates, accounts,
 * generated configs with secrets, debconf secrets) is removed by the cleanup stage's jitsi-*
 * and debconf-secrets steps; their services stay off (the recipe's `jitsi.services-off`).
 *
 * Skipped with `--jitsi-source none`: the image then has nginx, prosody and coturn only.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../../lib/errors.js';
import { MIRROR_MOUNT, runInRoot } from '../in-root.js';
import { aptSourceLine, checkKey, fetchKey, formatFingerprint, JITSI_KEYRING, JITSI_PLACEHOLDER_HOSTNAME, JITSI_SOURCES_FILE, type CheckedKey, type JitsiSource } from '../jitsi-repository.js';
import { CommandFailed } from '../run-program.js';
import type { BuildContext, Stage } from '../stage.js';

const checkedKeys = new WeakMap<BuildContext, CheckedKey>();

/** The apt sources the build itself uses for Jitsi (on the namespace's private /run). */
const BUILD_SOURCE_PARTS = '/run/jitsi-build/sources.list.d';

/** The debconf answers Jitsi's scripts ask for; the hostname is a placeholder, secrets are left for them to generate (and the cleanup to remove). */
export function jitsiPreseed(): string {
  return [
    `jitsi-videobridge2 jitsi-videobridge/jvb-hostname string ${JITSI_PLACEHOLDER_HOSTNAME}`,
    // jitsi-meet-web-config is not installed; its question is answered so no script waits on it.
    'jitsi-meet-web-config jitsi-meet/cert-choice select Generate a new self-signed certificate',
    'jitsi-meet-web-config jitsi-meet/jaas-choice boolean false',
    '',
  ].join('\n');
}

/** Why apt refused the repository, in words an admin can act on; undefined when it is not a signature problem. */
export function signatureProblem(aptOutput: string, source: JitsiSource, fingerprint: string): string | undefined {
  const line = aptOutput.split('\n').find((l) => /NO_PUBKEY|BADSIG|EXPKEYSIG|is not signed|signatures couldn't be verified|The repository .* is not signed/.test(l));
  if (!line) return undefined;
  return (
    `the Jitsi repository ${source.url} (${source.suite}) is not signed by the trusted key ${formatFingerprint(fingerprint)}: apt said: ${line.replace(/^\s*\|?\s*/, '').trim()}. ` +
    'Use a repository signed by that key, or pass the key its operator signs it with (--jitsi-key FILE).'
  );
}

export const jitsiPackages: Stage = {
  name: 'jitsi-packages',
  title: "Install Jitsi's packages",
  skip: (ctx) =>
    ctx.jitsi
      ? undefined
      : '--jitsi-source none: the image gets no jicofo, videobridge, web app or Jitsi prosody plugins (nginx, prosody and coturn only), so no conference can happen in it',
  async verify(ctx) {
    const source = ctx.jitsi;
    if (!source) return;
    const { bytes, from } = await fetchKey(source.key, ctx.signal);
    const key = await checkKey(bytes, from, source.pinnedFingerprint);
    checkedKeys.set(ctx, key);
    ctx.log(
      source.pinnedFingerprint
        ? `Jitsi repository key ${formatFingerprint(key.fingerprint)} (pinned by the recipe) from ${from}`
        : `Jitsi repository key ${formatFingerprint(key.fingerprint)} from ${from} (--jitsi-key: trusted by request, not the recipe's pinned key)`,
    );
  },
  async run(ctx) {
    const source = ctx.jitsi!;
    const key = checkedKeys.get(ctx);
    if (!key) throw new Error('jitsi-packages: the key was not checked (its verify step did not run)');
    const at = (path: string) => join(ctx.rootfs, path);

    await mkdir(dirname(at(JITSI_KEYRING)), { recursive: true });
    await writeFile(at(JITSI_KEYRING), key.keyring, { mode: 0o644 });
    await writeFile(
      at(JITSI_SOURCES_FILE),
      `# Jitsi's packages (jicofo, jitsi-videobridge2, jitsi-meet-web, jitsi-meet-prosody), key ${formatFingerprint(key.fingerprint)}.\n${aptSourceLine(source.url, source.suite)}\n`,
      { mode: 0o644 },
    );

    // A file: mirror is a directory of the build host: shown read-only inside the root.
    const mirrorDir = source.url.startsWith('file:') ? fileURLToPath(source.url) : undefined;
    const buildUrl = mirrorDir ? `file:${MIRROR_MOUNT}` : source.url;
    const apt = (args: string[]) => [
      'sh',
      '-c',
      // The build's own source list (same key, the URL as reachable from inside the build) on
      // the private /run, so the image's list names the repository as given.
      `mkdir -p ${BUILD_SOURCE_PARTS} && printf '%s\\n' "$1" > ${BUILD_SOURCE_PARTS}/jitsi.list && shift && exec apt-get -o Dir::Etc::SourceParts=${BUILD_SOURCE_PARTS} "$@"`,
      'apt',
      aptSourceLine(buildUrl, source.suite),
      ...args,
    ];

    const policy = at('usr/sbin/policy-rc.d');
    await writeFile(policy, '#!/bin/sh\n# nspawn-jitsi-meet build: no daemon starts while packages install.\nexit 101\n', { mode: 0o755 });
    try {
      await runInRoot(ctx, ['debconf-set-selections'], { input: jitsiPreseed() });
      ctx.log(`apt-get update (${source.url} ${source.suite} and the Debian mirror)`);
      try {
        await runInRoot(ctx, apt(['update']), { mirrorDir, displayName: 'apt-get update' });
      } catch (error) {
        const problem = error instanceof CommandFailed ? signatureProblem(error.message, source, key.fingerprint) : undefined;
        if (problem) throw new UserError(problem);
        throw error;
      }
      ctx.log(`installing ${source.packages.join(', ')}`);
      await runInRoot(ctx, apt(['install', '--yes', '--no-install-recommends', ...source.packages]), { mirrorDir, displayName: 'apt-get install' });
      const versions = await runInRoot(ctx, ['dpkg-query', '--show', '--showformat=${Package} ${Version}\\n', ...source.packages.map((p) => p.split('=')[0]!)]);
      ctx.log(`installed: ${versions.trim().split('\n').join(', ')}`);
    } finally {
      await rm(policy, { force: true });
    }
  },
};
