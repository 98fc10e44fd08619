/**
 * Rates from the router's counters: each answer of `/v1/services/NAME/traffic` holds per-release
 * totals since the router started; two answers a second apart give requests per second, the share
 * of 5xx answers and the mean latency over that second, per release.
 */
import type { TrafficResponse } from '../../src/api/dashboard-types.js';

export interface Sample {
  /** Seconds (the chart's x). */
  t: number;
  perRelease: Map<number, { rps: number; errorPct: number | null; meanMs: number | null; p99Ms: number | null }>;
}

/** The sample between two reads; undefined when the router restarted in between (its counts began again). */
export function sampleBetween(prev: TrafficResponse, next: TrafficResponse): Sample | undefined {
  if (prev.bootId !== next.bootId || next.at <= prev.at) return undefined;
  const dt = (next.at - prev.at) / 1000;
  const perRelease: Sample['perRelease'] = new Map();
  for (const p of next.pools) {
    const q = prev.pools.find((x) => x.release === p.release);
    const requests = p.requests - (q?.requests ?? 0);
    const errors = p.errors5xx - (q?.errors5xx ?? 0);
    const sum = p.latencySumMs - (q?.latencySumMs ?? 0);
    const buckets = p.latencyBuckets.map((n, i) => n - (q?.latencyBuckets[i] ?? 0));
    perRelease.set(p.release, {
      rps: requests / dt,
      errorPct: requests > 0 ? (100 * errors) / requests : null,
      meanMs: requests > 0 ? sum / requests : null,
      p99Ms: requests > 0 ? quantile(buckets, next.bucketsMs, 0.99) : null,
    });
  }
  return { t: next.at / 1000, perRelease };
}

/** The upper bound of the bucket holding quantile q (the histogram's resolution; past the last bound: that bound). */
function quantile(buckets: number[], bounds: number[], q: number): number {
  const total = buckets.reduce((a, b) => a + b, 0);
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i]!;
    if (seen >= q * total) return bounds[Math.min(i, bounds.length - 1)]!;
  }
  return bounds.at(-1)!;
}

/** Chart data for one measure: times, then one line per release. */
export function series(
  samples: Sample[],
  releases: number[],
  pick: (v: NonNullable<ReturnType<Sample['perRelease']['get']>>) => number | null,
) {
  return [samples.map((s) => s.t), ...releases.map((r) => samples.map((s) => (s.perRelease.has(r) ? pick(s.perRelease.get(r)!) : null)))];
}
