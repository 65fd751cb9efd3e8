/**
 * The shape of one check of `jitsi-meet-config --check`. The checks are rows of one table
 * (checks.ts); the runner (run.ts) orders them by what they need, skips a check whose need
 * failed, and prints or serializes the results.
 */
import type { InitSystem } from '../../lib/init-systems.js';
import type { DistributionLayout } from '../distribution.js';
import type { MasterConfig } from '../master-config.js';

/** What a check decided. `fix` is required for warn and fail (the runner falls back to the table's). */
export interface Verdict {
  status: 'pass' | 'warn' | 'fail';
  /** What was found, in a few words: "prosody runs as prosody (pid 123)". */
  detail: string;
  fix?: string;
}

/** Facts the checks share, read once per run (lazily, so a check that does not run reads nothing). */
export interface CheckContext<C = MasterConfig> {
  /** The master config of this machine's role (a main server's, or an additional bridge's). */
  config: C;
  root: string;
  init: InitSystem;
  /** The distribution's paths, users and service names (read once, from the machine's os-release). */
  distribution: DistributionLayout;
  /** Network time limit of a single probe. */
  timeoutMs: number;
  /** Reads a fact once per run: `ctx.once('listeners', listeners)`. */
  once<T>(key: string, read: () => Promise<T>): Promise<T>;
}

export interface Check<C = MasterConfig> {
  /** Short stable name (also the key in --json): `service:prosody`, `tls:certificate`. */
  name: string;
  /** What is checked, for the report when no verdict detail is more precise. */
  what: string;
  /** Names of checks that must not have failed (a failure there skips this one). */
  needs: readonly string[];
  /** The fix when the check fails or warns and its verdict names none. */
  fix: string;
  /**
   * Why the check does not apply on this server (its component is not installed, the TLS
   * mode does not use it): a note, not a failure. Undefined when it applies.
   */
  notApplicable?(ctx: CheckContext<C>): Promise<string | undefined>;
  run(ctx: CheckContext<C>): Promise<Verdict>;
}

/** One line of the report. */
export interface CheckResult {
  name: string;
  status: 'pass' | 'warn' | 'fail' | 'skipped' | 'not-applicable';
  detail: string;
  fix?: string;
  /** The failed needs, for `skipped`. */
  because?: string[];
}
