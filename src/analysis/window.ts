/**
 * From the router's cumulative counters to the numbers judges read: per-interval deltas that
 * survive router restarts, error rates over a window, latency percentiles estimated from the
 * histogram, and approximate samples for the Mann–Whitney comparison. Pure; no clock.
 */
import { LATENCY_BUCKETS_MS, type PoolStats } from '../router/types.js';

/** The counters of one pool that analysis reads (cumulative in a snapshot, or a delta). */
export type PoolCounters = Pick<PoolStats, 'requests' | 'byClass' | 'latencyBuckets' | 'latencySumMs'>;

/** Status classes of PoolStats.byClass. */
export type StatusClass = keyof PoolStats['byClass'];

/** One reading of a pool's cumulative counters. */
export interface CounterSnapshot {
  /** RouterStats.bootId of the router that counted: counters restart from zero when it changes. */
  bootId: string;
  /** When the reading was taken (ms since the epoch, from the caller's clock). */
  at: number;
  counters: PoolCounters;
}

/** What happened between two snapshots. */
export interface IntervalDelta {
  from: number;
  to: number;
  counters: PoolCounters;
  /**
   * True when the router restarted (or the pool's counters went backwards) in between: the
   * counts are then those since the restart, and whatever happened before it is lost.
   */
  reset: boolean;
}

const BUCKET_COUNT = LATENCY_BUCKETS_MS.length + 1;

/** Counters that are all zero. */
export function emptyCounters(bucketCount: number = BUCKET_COUNT): PoolCounters {
  return {
    requests: 0,
    byClass: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 },
    latencyBuckets: new Array<number>(bucketCount).fill(0),
    latencySumMs: 0,
  };
}

/**
 * The counts between two snapshots of the same pool. A changed bootId, any counter that went
 * down, or a different number of buckets means the counters restarted in between; the new
 * values are then the best (and never negative) estimate of the interval. With no previous
 * snapshot nothing is known about when the counts happened, so the delta is empty: take a
 * snapshot when the analysis starts.
 */
export function counterDelta(prev: CounterSnapshot | undefined, next: CounterSnapshot): IntervalDelta {
  const n = next.counters;
  if (prev === undefined) return { from: next.at, to: next.at, counters: emptyCounters(n.latencyBuckets.length), reset: false };
  const p = prev.counters;
  const restarted =
    prev.bootId !== next.bootId ||
    n.requests < p.requests ||
    n.latencySumMs < p.latencySumMs ||
    n.latencyBuckets.length !== p.latencyBuckets.length ||
    n.latencyBuckets.some((c, i) => c < p.latencyBuckets[i]!) ||
    (Object.keys(n.byClass) as StatusClass[]).some((k) => n.byClass[k] < p.byClass[k]);
  if (restarted) return { from: prev.at, to: next.at, counters: copyCounters(n), reset: true };
  return {
    from: prev.at,
    to: next.at,
    counters: {
      requests: n.requests - p.requests,
      byClass: mapClasses((k) => n.byClass[k] - p.byClass[k]),
      latencyBuckets: n.latencyBuckets.map((c, i) => c - p.latencyBuckets[i]!),
      latencySumMs: Math.max(0, n.latencySumMs - p.latencySumMs),
    },
    reset: false,
  };
}

/** a + b, bucket by bucket. */
export function addCounters(a: PoolCounters, b: PoolCounters): PoolCounters {
  if (a.latencyBuckets.length !== b.latencyBuckets.length) throw new RangeError('addCounters: different bucket layouts');
  return {
    requests: a.requests + b.requests,
    byClass: mapClasses((k) => a.byClass[k] + b.byClass[k]),
    latencyBuckets: a.latencyBuckets.map((c, i) => c + b.latencyBuckets[i]!),
    latencySumMs: a.latencySumMs + b.latencySumMs,
  };
}

/**
 * The counts of the deltas that end after `since` (all of them by default): the counters of a
 * window such as "since the analysis started" or "the last 2 s". Windows are as fine as the
 * polling: a delta that straddles `since` counts whole.
 */
export function sumDeltas(deltas: readonly IntervalDelta[], since = -Infinity): PoolCounters {
  let sum = emptyCounters(deltas[0]?.counters.latencyBuckets.length ?? BUCKET_COUNT);
  for (const d of deltas) if (d.to > since) sum = addCounters(sum, d.counters);
  return sum;
}

export interface ErrorRate {
  errors: number;
  requests: number;
  /** errors / requests; NaN when there were no requests. */
  rate: number;
}

/**
 * The share of requests answered with an error status class (5xx by default: 4xx are usually the
 * client's fault). The router answers its own proxy failures 502/504, so they count as 5xx.
 * Requests the client abandoned before an answer count in `requests` but not as errors.
 */
export function errorRate(c: PoolCounters, errorClasses: readonly StatusClass[] = ['5xx']): ErrorRate {
  const errors = errorClasses.reduce((sum, k) => sum + c.byClass[k], 0);
  const requests = Math.max(c.requests, errors);
  return { errors, requests, rate: requests === 0 ? NaN : errors / requests };
}

/**
 * The q-quantile (0 ≤ q ≤ 1) of a latency histogram, as Prometheus' histogram_quantile
 * estimates it: find the bucket holding the rank q·total and interpolate linearly inside it,
 * as if its observations were spread evenly between its bounds (the first bucket starts at 0).
 * A rank in the +Inf bucket returns the last finite bound, so the estimate never exceeds it.
 * NaN for an empty histogram.
 */
export function histogramQuantile(q: number, buckets: readonly number[], bounds: readonly number[] = LATENCY_BUCKETS_MS): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`histogramQuantile: q must be within [0, 1], got ${q}`);
  if (buckets.length !== bounds.length + 1) throw new RangeError('histogramQuantile: need one bucket per bound plus +Inf');
  const total = buckets.reduce((s, c) => s + c, 0);
  if (total === 0) return NaN;
  const rank = q * total;
  let below = 0;
  for (let b = 0; b < buckets.length; b++) {
    const count = buckets[b]!;
    // The first bucket whose cumulative count reaches the rank (skipping empty ones for q = 0).
    if (count > 0 && below + count >= rank) {
      if (b === bounds.length) return bounds[bounds.length - 1]!;
      const lower = b === 0 ? 0 : bounds[b - 1]!;
      const upper = bounds[b]!;
      return lower + (upper - lower) * ((rank - below) / count);
    }
    below += count;
  }
  return bounds[bounds.length - 1]!;
}

export interface LatencyPercentiles {
  p50: number;
  p95: number;
  p99: number;
  /** Mean from the exact sum (not estimated); NaN when empty. */
  mean: number;
  samples: number;
}

/** p50, p95 and p99 estimated from the histogram (see histogramQuantile), plus the exact mean. */
export function latencyPercentiles(c: PoolCounters, bounds: readonly number[] = LATENCY_BUCKETS_MS): LatencyPercentiles {
  const samples = c.latencyBuckets.reduce((s, n) => s + n, 0);
  return {
    p50: histogramQuantile(0.5, c.latencyBuckets, bounds),
    p95: histogramQuantile(0.95, c.latencyBuckets, bounds),
    p99: histogramQuantile(0.99, c.latencyBuckets, bounds),
    mean: samples === 0 ? NaN : c.latencySumMs / samples,
    samples,
  };
}

/**
 * Approximate samples from a histogram, for rank tests. The router keeps counts per bucket, not
 * the latencies themselves, so each bucket's c observations are placed evenly inside it, at
 * lower + (upper − lower)·(k + ½)/c, the same "spread evenly" assumption histogram_quantile makes;
 * the +Inf bucket's observations all sit at the last finite bound.
 *
 * What this does to the Mann–Whitney test: two samples that share a bucket are interleaved
 * symmetrically, so each bucket contributes exactly what ties would (half of its cross pairs) to
 * U, while the variance has no tie correction, making p-values slightly larger than treating a
 * bucket as ties: conservative, never more false alarms. A difference inside one bucket cannot
 * be seen (a 10% change in a 100–250 ms bucket shows only through the counts moving between
 * buckets), and the shift estimate is only as fine as the buckets.
 *
 * Above `maxSamples` the counts are scaled down proportionally (rounded): fewer samples mean
 * less power but the same location, so it also never adds false alarms.
 */
export function expandHistogram(buckets: readonly number[], bounds: readonly number[] = LATENCY_BUCKETS_MS, maxSamples = 50_000): number[] {
  if (buckets.length !== bounds.length + 1) throw new RangeError('expandHistogram: need one bucket per bound plus +Inf');
  const total = buckets.reduce((s, c) => s + c, 0);
  const scale = total > maxSamples ? maxSamples / total : 1;
  const out: number[] = [];
  buckets.forEach((raw, b) => {
    const count = Math.round(raw * scale);
    if (b === bounds.length) {
      for (let k = 0; k < count; k++) out.push(bounds[bounds.length - 1]!);
      return;
    }
    const lower = b === 0 ? 0 : bounds[b - 1]!;
    const upper = bounds[b]!;
    for (let k = 0; k < count; k++) out.push(lower + ((upper - lower) * (k + 0.5)) / count);
  });
  return out;
}

/** One sample per request: 1 for an error, 0 otherwise (for comparing error rates by rank). */
export function errorIndicatorSamples(rate: ErrorRate): number[] {
  const out = new Array<number>(rate.requests).fill(0);
  out.fill(1, 0, rate.errors);
  return out;
}

function mapClasses(f: (k: StatusClass) => number): PoolCounters['byClass'] {
  return { '1xx': f('1xx'), '2xx': f('2xx'), '3xx': f('3xx'), '4xx': f('4xx'), '5xx': f('5xx') };
}

function copyCounters(c: PoolCounters): PoolCounters {
  return { requests: c.requests, byClass: { ...c.byClass }, latencyBuckets: [...c.latencyBuckets], latencySumMs: c.latencySumMs };
}
