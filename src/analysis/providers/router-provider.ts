/**
 * The built-in router's counters as a metric source. Every reading (a measurement or a
 * hard-failure poll) is turned into a delta from the previous reading with `counterDelta`, so a
 * router restart in between loses only what happened just before it. A measurement returns the
 * sum of the deltas since the previous measurement; the fast path sums those of the recent window.
 */
import type { PoolStats, RouterStats } from '../../router/types.js';
import type { MetricData } from '../evaluate.js';
import { ProviderError, withTimeout, type MetricProvider, type ProviderFactory } from '../provider.js';
import {
  addCounters,
  counterDelta,
  emptyCounters,
  sumDeltas,
  type CounterSnapshot,
  type IntervalDelta,
  type PoolCounters,
} from '../window.js';

/** How long one read of the router's counters may take. */
export const ROUTER_STATS_TIMEOUT_MS = 5000;

interface Reading {
  at: number;
  canary: CounterSnapshot;
  baseline: CounterSnapshot | undefined;
}

export const routerProvider: ProviderFactory<'router'> = (_source, target, context): MetricProvider => {
  const { service, release, baseline, spec } = target;
  let last: Reading | undefined;
  let interval: { canary: PoolCounters | undefined; baseline: PoolCounters | undefined } = { canary: undefined, baseline: undefined };
  // Canary deltas young enough for the hard-failure window (the fast path asks for no more).
  const keepMs = spec.hardFailure === false ? 0 : spec.hardFailure.windowMs;
  let recentDeltas: IntervalDelta[] = [];

  async function read(signal: AbortSignal): Promise<void> {
    const stats = await withTimeout(context.clock, ROUTER_STATS_TIMEOUT_MS, signal, 'router', 'reading the router stats', () =>
      context.stats(service),
    );
    const at = context.clock.now();
    const next: Reading = {
      at,
      canary: { bootId: stats.bootId, at, counters: poolCounters(stats, service, release) },
      baseline: baseline === null ? undefined : { bootId: stats.bootId, at, counters: poolCounters(stats, service, baseline) },
    };
    if (last !== undefined) {
      const canaryDelta = counterDelta(last.canary, next.canary);
      interval.canary = accumulate(interval.canary, canaryDelta.counters);
      if (next.baseline !== undefined)
        interval.baseline = accumulate(interval.baseline, counterDelta(last.baseline, next.baseline).counters);
      recentDeltas.push(canaryDelta);
      recentDeltas = recentDeltas.filter((d) => d.to > at - keepMs);
    }
    last = next;
  }

  return {
    windowed: true,
    async start(signal) {
      await read(signal);
    },
    async measure(signal): Promise<MetricData> {
      if (spec.compare === 'baseline' && baseline === null) {
        throw new ProviderError('router', `check ${spec.name} compares with the baseline, but the run has no baseline release`);
      }
      await read(signal);
      const data: MetricData = { kind: 'counters', canary: interval.canary ?? emptyCounters() };
      if (baseline !== null) data.baseline = interval.baseline ?? emptyCounters();
      interval = { canary: undefined, baseline: undefined };
      return data;
    },
    async recent(windowMs, signal) {
      await read(signal);
      return sumDeltas(recentDeltas, context.clock.now() - windowMs);
    },
  };
};

/** A pool's counters in a stats reading; zero when the router has not counted the release (yet). */
function poolCounters(stats: RouterStats, service: string, release: number): PoolCounters {
  const pool: PoolStats | undefined = stats.services.find((s) => s.service === service)?.pools.find((p) => p.release === release);
  if (pool === undefined) return emptyCounters();
  return {
    requests: pool.requests,
    byClass: { ...pool.byClass },
    latencyBuckets: [...pool.latencyBuckets],
    latencySumMs: pool.latencySumMs,
  };
}

function accumulate(sum: PoolCounters | undefined, delta: PoolCounters): PoolCounters {
  // A router of another version may count in other buckets: keep the newest layout.
  if (sum === undefined || sum.latencyBuckets.length !== delta.latencyBuckets.length) return delta;
  return addCounters(sum, delta);
}
