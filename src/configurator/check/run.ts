/**
 * Runs the checks of checks.ts: every check starts as soon as the checks it needs are done
 * (independent ones run at the same time, so a run takes about as long as its slowest probe),
 * a check whose need failed or was skipped is skipped naming it, and each check has a time
 * limit of its own. Then the report: one line per check, or JSON.
 */
import type { Check, CheckContext, CheckResult } from './types.js';

/** A check that takes longer than this fails: the whole run must finish in seconds. */
export const CHECK_TIME_LIMIT_MS = 8000;

export async function runChecks<C>(checks: readonly Check<C>[], ctx: CheckContext<C>, limitMs = CHECK_TIME_LIMIT_MS): Promise<CheckResult[]> {
  const byName = new Map(checks.map((check) => [check.name, check]));
  for (const check of checks) {
    for (const need of check.needs) if (!byName.has(need)) throw new Error(`check ${check.name} needs ${need}, which is not in the table`);
  }
  const visit = (check: Check<C>, path: string[]): void => {
    if (path.includes(check.name)) throw new Error(`checks need each other in a circle: ${[...path, check.name].join(' -> ')}`);
    for (const need of check.needs) visit(byName.get(need)!, [...path, check.name]);
  };
  for (const check of checks) visit(check, []);
  const started = new Map<string, Promise<CheckResult>>();
  const start = (check: Check<C>): Promise<CheckResult> => {
    const known = started.get(check.name);
    if (known) return known;
    const promise = (async (): Promise<CheckResult> => {
      // Not applicable is said first: a check for a component that is not installed is never "skipped".
      const note = await check.notApplicable?.(ctx).catch(() => undefined);
      if (note) return { name: check.name, status: 'not-applicable', detail: note };
      const needs = await Promise.all(check.needs.map((need) => start(byName.get(need)!)));
      const failed = needs.filter((result) => result.status === 'fail' || result.status === 'skipped').map((result) => result.name);
      if (failed.length > 0) {
        return { name: check.name, status: 'skipped', detail: `${check.what}: skipped because ${failed.join(', ')} failed`, because: failed };
      }
      return runOne(check, ctx, limitMs);
    })();
    started.set(check.name, promise);
    return promise;
  };
  return Promise.all(checks.map((check) => start(check)));
}

async function runOne<C>(check: Check<C>, ctx: CheckContext<C>, limitMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result within ${limitMs / 1000} s`)), limitMs);
  });
  try {
    const verdict = await Promise.race([check.run(ctx), limit]);
    const result: CheckResult = { name: check.name, status: verdict.status, detail: verdict.detail };
    if (verdict.status !== 'pass') result.fix = verdict.fix ?? check.fix;
    return result;
  } catch (error) {
    return { name: check.name, status: 'fail', detail: `${check.what}: the check itself failed: ${(error as Error).message}`, fix: check.fix };
  } finally {
    clearTimeout(timer);
  }
}

const SYMBOL: Record<CheckResult['status'], string> = {
  pass: '✔',
  warn: '⚠',
  fail: '✘',
  skipped: '-',
  'not-applicable': '·',
};

/** One line per check: symbol, name, what was found, and for ⚠/✘ the fix. */
export function formatResults(results: readonly CheckResult[]): string {
  return results.map((result) => `${SYMBOL[result.status]} ${result.name}: ${result.detail}${result.fix ? ` -> fix: ${result.fix}` : ''}\n`).join('');
}

export function summary(results: readonly CheckResult[]): { failed: number; warnings: number; passed: number; skipped: number; notApplicable: number } {
  const count = (status: CheckResult['status']) => results.filter((result) => result.status === status).length;
  return { failed: count('fail'), warnings: count('warn'), passed: count('pass'), skipped: count('skipped'), notApplicable: count('not-applicable') };
}

export function summaryLine(results: readonly CheckResult[]): string {
  const s = summary(results);
  const parts = [`${s.passed} passed`, `${s.warnings} warning(s)`, `${s.failed} failed`];
  if (s.skipped) parts.push(`${s.skipped} skipped`);
  if (s.notApplicable) parts.push(`${s.notApplicable} not applicable`);
  return parts.join(', ');
}

/** Exit status of --check: 1 when anything failed (a skipped check means its need failed). */
export function exitCode(results: readonly CheckResult[]): number {
  return results.some((result) => result.status === 'fail') ? 1 : 0;
}

export function resultsJson(results: readonly CheckResult[], hostname: string, now: Date): string {
  return `${JSON.stringify({ hostname, time: now.toISOString(), ok: exitCode(results) === 0, summary: summary(results), checks: results }, null, 2)}\n`;
}
