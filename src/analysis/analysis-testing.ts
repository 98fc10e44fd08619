/** Seeded random traffic for the analysis tests: reproducible, no I/O. */
import { LATENCY_BUCKETS_MS } from '../router/types.js';
import { emptyCounters, type PoolCounters } from './window.js';

export { seededRandom } from '../core/seeded-random.js';

/** A log-normal latency (ms) with the given median and log-scale spread (Box–Muller). */
export function logNormal(rand: () => number, medianMs: number, sigma: number): number {
  const u = 1 - rand();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  return medianMs * Math.exp(sigma * z);
}

export interface TrafficProfile {
  medianMs: number;
  /** Log-scale spread of latency. @default 0.5 */
  sigma?: number;
  /** Probability that a request is answered 5xx. @default 0 */
  errorRate?: number;
}

/** Counts `requests` simulated requests the way the router does (src/router/metrics.ts). */
export function simulateCounters(rand: () => number, requests: number, p: TrafficProfile): PoolCounters {
  const c = emptyCounters();
  for (let i = 0; i < requests; i++) {
    const ms = logNormal(rand, p.medianMs, p.sigma ?? 0.5);
    c.requests++;
    if (rand() < (p.errorRate ?? 0)) c.byClass['5xx']++;
    else c.byClass['2xx']++;
    let b = 0;
    while (b < LATENCY_BUCKETS_MS.length && ms > LATENCY_BUCKETS_MS[b]!) b++;
    c.latencyBuckets[b]!++;
    c.latencySumMs += ms;
  }
  return c;
}
