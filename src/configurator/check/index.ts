/**
 * `jitsi-meet-config --check`: the running server checks itself (the table is in checks.ts).
 * Also run at the end of every configuring run, as a summary. Reads only: it takes no run
 * lock, writes no file and restarts nothing.
 */
import { existsSync } from 'node:fs';
import type { InitSystem } from '../../lib/init-systems.js';
import type { DistributionLayout } from '../distribution.js';
import type { MasterConfig } from '../master-config.js';
import { readDistribution } from '../os-release.js';
import { CHECKS } from './checks.js';
import { exitCode, formatResults, resultsJson, runChecks, summaryLine } from './run.js';
import type { Check, CheckContext, CheckResult } from './types.js';

/** Time limit of one network probe (a login, an allocation, an HTTP request). */
export const PROBE_TIMEOUT_MS = 3000;

/** The init system running this machine, or undefined (a root prefix, a build). */
export function runningInit(root: string): InitSystem | undefined {
  if (root !== '/') return undefined;
  if (existsSync('/run/systemd/system')) return 'systemd';
  if (existsSync('/run/openrc') || existsSync('/sbin/openrc-run')) return 'openrc';
  return undefined;
}

export function checkContext<C = MasterConfig>(config: C, init: InitSystem, root = '/', distribution: DistributionLayout = readDistribution(root)): CheckContext<C> {
  const facts = new Map<string, Promise<unknown>>();
  return {
    config,
    root,
    init,
    distribution,
    timeoutMs: PROBE_TIMEOUT_MS,
    once<T>(key: string, read: () => Promise<T>): Promise<T> {
      let fact = facts.get(key) as Promise<T> | undefined;
      if (!fact) {
        fact = read();
        facts.set(key, fact);
      }
      return fact;
    },
  };
}

export async function checkServer(config: MasterConfig, init: InitSystem, checks: readonly Check[] = CHECKS): Promise<CheckResult[]> {
  return runChecks(checks, checkContext(config, init));
}

export { exitCode, formatResults, resultsJson, summaryLine };
