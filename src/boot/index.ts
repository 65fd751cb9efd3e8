/**
 * Booting images under systemd-nspawn: the API the CLI `run` command and the integration
 * tests use.
 */
export { bootContainer } from './container.js';
export type { BootInit, BootOptions, Container, ExecOptions, ExecResult, StopResult } from './container.js';
export { detectInit, readTarball, detectCompression } from './tarball.js';
export type { TarEntryInfo, TarballContents } from './tarball.js';
