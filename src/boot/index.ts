/**
 * Booting images under systemd-nspawn: the API the CLI `run` command and the integration
 * tests use.
 */
export { bootContainer } from './container.js';
export type { BootOptions, Container, ExecOptions, ExecResult, StopResult } from './container.js';
