/**
 * Asking the stand-in Jitsi daemons (test/helpers/jitsi-standin) whether they are healthy, as
 * a monitoring client would: GET /about/health on the bridge (127.0.0.1:8080) and on jicofo
 * (127.0.0.1:8888, healthy only once it sees a bridge in the brewery), from inside a network
 * namespace; and waiting for a condition with a deadline.
 */
import type { Netns } from './netns.js';

export const STANDIN_HEALTH_PORTS = { bridge: 8080, jicofo: 8888 } as const;

/** The HTTP status of http://127.0.0.1:<port>/about/health seen from `ns`; 0 when nothing answers. */
export async function standinHealth(ns: Netns, port: number): Promise<number> {
  const script = `fetch('http://127.0.0.1:${port}/about/health').then((r) => console.log(r.status), () => console.log(0))`;
  const { stdout } = await ns.exec([process.execPath, '-e', script], { reject: false });
  return Number(stdout.trim()) || 0;
}

/** Resolves once `check` holds (asked every 500 ms); throws naming `what` after `timeoutMs`. */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
}
