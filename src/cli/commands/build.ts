/**
 * `nspawn-jitsi build`: builds one rootfs tarball with its .nspawn settings file and package
 * list, or with `--init all` / `--arch amd64,arm64` every variant into one release directory.
 * `npm run build:rootfs -- ...` runs this.
 */
import { ALL_INITS, BUILD_CHOICES, BUILD_DEFAULTS, DEFAULT_SUITE, initsFor, LEVEL_BOUNDS, levelHelp, parseArchitectureList } from '../../builder/build-options.js';
import { buildRootfs, interruptedExitCode, type BuildOptions } from '../../builder/pipeline.js';
import { buildRelease } from '../../builder/release-build.js';
import { BuildInterrupted } from '../../builder/run-program.js';
import type { Compression } from '../../image/compression.js';
import type { CommandSpec } from '../options.js';

export const buildCommand: CommandSpec = {
  name: 'build',
  summary: 'Build a bootable Jitsi Meet rootfs tarball (+ .nspawn settings and .packages list).',
  description: `
Writes <out>/<name>.tar.xz (.tar.zst with --compression zstd, .tar with none), <out>/<name>.nspawn
and <out>/<name>.packages, where <name> is <distro>-<suite>-jitsi-<init>-<version>-<arch>, e.g.
debian-bookworm-jitsi-systemd-0.1.0-amd64. --init all and a list of architectures build every
variant into <out>, signed together with --sign (one SHA256SUMS); nothing is published unless
all of them succeeded. A foreign architecture is built under qemu-user emulation
(qemu-user-static and binfmt_misc). Downloaded .deb files and the bootstrapped tree are kept in
the cache directory for the next build (see --cache-dir). The recipe is
recipes/<distro>-<suite>.yaml. Nothing appears in <out> unless the whole build succeeded;
Ctrl-C stops the build and removes everything it made. Needs root (mmdebstrap root mode;
for Gentoo, systemd-nspawn runs portage in the stage3).
SOURCE_DATE_EPOCH from the environment, or else the recipe's, makes the tarball reproducible.`,
  options: [
    { name: 'init', type: 'choice', choices: BUILD_CHOICES.init, required: true, valueName: 'INIT', doc: `Init system of the image; ${ALL_INITS} builds one image for each.` },
    {
      name: 'arch',
      type: 'string',
      valueName: 'ARCH',
      doc: `Debian architecture of the image: ${BUILD_CHOICES.arch.join(', ')}, or a comma-separated list (one image each). Default: the recipe's, else the host's. Another than the host's is built under qemu-user emulation (apt install qemu-user-static binfmt-support), about 7 times slower.`,
    },
    {
      name: 'distro',
      type: 'choice',
      choices: BUILD_CHOICES.distro,
      default: BUILD_DEFAULTS.distro,
      valueName: 'DISTRO',
      doc: "Distribution. gentoo builds from Gentoo's verified stage3 and binary packages and needs Gentoo's keys (--gentoo-key); docs/gentoo.md says what only stand-ins have exercised.",
    },
    {
      name: 'suite',
      type: 'string',
      valueName: 'SUITE',
      doc: `Suite with a recipe: bookworm or trixie for debian, 23.0 (the profile release) for gentoo. Default: ${Object.entries(DEFAULT_SUITE).map(([distro, suite]) => `${suite} for ${distro}`).join(', ')}.`,
    },
    { name: 'recipe', type: 'path', valueName: 'FILE', doc: 'Use this recipe file instead of recipes/<distro>-<suite>.yaml.' },
    { name: 'out', type: 'path', default: `${BUILD_DEFAULTS.outDir}/`, valueName: 'DIR', doc: 'Output directory (relative to where you ran the command).' },
    { name: 'compression', type: 'choice', choices: BUILD_CHOICES.compression, default: BUILD_DEFAULTS.compression, valueName: 'KIND', doc: 'Tarball compression.' },
    { name: 'level', type: 'integer', ...LEVEL_BOUNDS, valueName: 'N', doc: `Compression level: ${levelHelp()}.` },
    {
      name: 'jitsi-source',
      type: 'string',
      default: 'upstream',
      valueName: 'SOURCE',
      doc: "Where Jitsi's packages come from: upstream (Jitsi's stable repository, key pinned by the recipe), the http(s):// or file: URL of a mirror (the directory holding stable/, serving the key as jitsi-key.gpg.key; same pinning), or none (an image without jicofo, videobridge, web app and prosody plugins).",
    },
    { name: 'jitsi-key', type: 'path', valueName: 'FILE', doc: "Trust the repository key in FILE instead of the recipe's pinned key (a mirror its operator signs); the build log prints its fingerprint." },
    {
      name: 'gentoo-key',
      type: 'path',
      valueName: 'FILE',
      doc: "Gentoo images: the OpenPGP key file holding Gentoo's release and snapshot keys (gentoo-release.asc), instead of the recipe's gentoo.key-file. The keys must have the fingerprints the recipe pins.",
    },
    { name: 'sign', type: 'string', valueName: 'KEY', doc: 'Sign the release with this OpenPGP key (see the sign command).' },
    {
      name: 'skip',
      type: 'string',
      valueName: 'NAMES',
      doc: "Comma-separated stages of the image's distribution or cleanup steps to skip, e.g. cleanup/logs,package-list; bootstrap (gentoo-stage3 on Gentoo) and pack cannot be skipped.",
    },
    {
      name: 'cache-dir',
      type: 'path',
      default: BUILD_DEFAULTS.cacheDir,
      valueName: 'DIR',
      doc: "Cache of downloaded .deb files (debs/: reused after apt checked each against the signed index) and of bootstrapped trees (bootstrap/: reused while packages, mirror state and mmdebstrap are unchanged). Must be root's, writable by nobody else. Deleting it is always safe.",
    },
    { name: 'no-cache', type: 'boolean', doc: 'Bootstrap afresh and download every package; neither read nor fill the cache.' },
    { name: 'workdir', type: 'path', valueName: 'DIR', doc: 'Where the temporary rootfs is made. Default: $TMPDIR or /var/tmp.' },
    { name: 'keep-workdir', type: 'boolean', doc: 'Keep the unpacked rootfs after the build and print where it is.' },
    { name: 'plain', type: 'boolean', doc: 'Timestamped log lines even on a terminal (the default when not a terminal).' },
    { name: 'verbose', type: 'boolean', doc: 'Show the output of every program the build runs.' },
  ],
  async run({ options }) {
    // npm run changes into the package root; INIT_CWD is where the user ran it.
    const cwd = process.env.INIT_CWD ?? process.cwd();
    const inits = initsFor(options.init as string);
    const architectures = options.arch === undefined ? undefined : parseArchitectureList(options.arch as string);
    const common: Omit<BuildOptions, 'init'> = {
      distro: options.distro as string,
      suite: options.suite as string,
      recipe: options.recipe as string | undefined,
      outDir: options.out as string,
      compression: options.compression as Compression,
      level: options.level as number | undefined,
      signKey: options.sign as string | undefined,
      jitsiSource: options['jitsi-source'] as string,
      jitsiKey: options['jitsi-key'] as string | undefined,
      gentooKey: options['gentoo-key'] as string | undefined,
      skip: ((options.skip as string | undefined) ?? '').split(',').map((s) => s.trim()).filter(Boolean),
      workdirParent: options.workdir as string | undefined,
      keepWorkdir: options['keep-workdir'] === true,
      verbose: options.verbose === true,
      renderer: options.plain === true ? 'plain' : 'auto',
      cwd,
      handleSignals: true,
      cacheDir: options['cache-dir'] as string,
      noCache: options['no-cache'] === true,
    };
    try {
      if (inits.length > 1 || (architectures?.length ?? 0) > 1) {
        const release = await buildRelease({ ...common, inits, ...(architectures ? { architectures } : {}) });
        const lines = release.variants.map((v) => `  ${v.init} ${v.architecture}: ${v.seconds} s, sha256 ${v.sha256}`);
        process.stdout.write(`built ${release.variants.length} images in ${release.seconds} s:\n${lines.join('\n')}\npublished:\n${release.artifacts.map((a) => `  ${a}`).join('\n')}\n`);
        return 0;
      }
      const result = await buildRootfs({ ...common, init: inits[0], ...(architectures ? { architecture: architectures[0] } : {}) });
      process.stdout.write(`built in ${result.seconds} s:\n${result.artifacts.map((a) => `  ${a}`).join('\n')}\nsha256 ${result.sha256}\n`);
      return 0;
    } catch (error) {
      if (error instanceof BuildInterrupted) {
        process.stderr.write(`nspawn-jitsi build: ${error.message}\n`);
        return interruptedExitCode(error);
      }
      throw error;
    }
  },
};
