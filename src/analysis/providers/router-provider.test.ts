import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../core/clock.js';
import { LATENCY_BUCKETS_MS, type PoolStats, type RouterStats } from '../../router/types.js';
import type { MetricData } from '../evaluate.js';
import { ProviderError } from '../provider.js';
import { resolveAnalysisSpec } from '../spec.js';
import { routerProvider } from './router-provider.js';

function pool(release: number, requests: number, errors: number): PoolStats {
  const latencyBuckets = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  latencyBuckets[6] = requests;
  return {
    release,
    requests,
    byClass: { '1xx': 0, '2xx': requests - errors, '3xx': 0, '4xx': 0, '5xx': errors },
    latencyBuckets,
    latencySumMs: 70 * requests,
    inFlight: 0,
  };
}

function scripted(readings: RouterStats[]) {
  let i = 0;
  return async (): Promise<RouterStats> => {
    const r = readings[Math.min(i++, readings.length - 1)];
    return r!;
  };
}

const stats = (bootId: string, ...pools: PoolStats[]): RouterStats => ({
  bootId,
  services: [{ service: 'web', pools, inFlightByBackend: {} }],
});
const signal = new AbortController().signal;
const counters = (d: MetricData) => (d.kind === 'counters' ? d : assert.fail(`expected counters, got ${d.kind}`));

test('router provider: interval deltas for canary and baseline, across a router restart', async () => {
  const clock = new ManualClock(0);
  const readings = [
    stats('a', pool(1, 100, 0)), // start; the canary has no pool yet
    stats('a', pool(1, 300, 1), pool(2, 40, 2)), // poll
    stats('a', pool(1, 500, 2), pool(2, 90, 5)), // measurement 1
    stats('b', pool(1, 20, 0), pool(2, 10, 10)), // router restarted: counts since then
  ];
  const p = routerProvider(
    { kind: 'router', metric: 'error-rate' },
    { service: 'web', release: 2, baseline: 1, spec: resolveAnalysisSpec({ name: 'e' }) },
    { stats: scripted(readings), endpoints: () => [], clock },
  );
  await p.start(signal);
  clock.advance(250);
  const recent = await p.recent!(2000, signal);
  assert.deepEqual([recent.requests, recent.byClass['5xx']], [40, 2]);
  clock.advance(250);
  const m1 = counters(await p.measure(signal));
  assert.deepEqual([m1.canary.requests, m1.canary.byClass['5xx'], m1.baseline?.requests], [90, 5, 400], 'both readings since start');
  clock.advance(10_000);
  const m2 = counters(await p.measure(signal));
  assert.deepEqual([m2.canary.requests, m2.canary.byClass['5xx'], m2.baseline?.requests], [10, 10, 20]);
  assert.equal((await p.recent!(2000, signal)).requests, 10, 'the last reading is inside the window');
  clock.advance(2500);
  assert.equal((await p.recent!(2000, signal)).requests, 0, 'older deltas have left the window');
});

test('router provider: compare without a baseline release is a provider error', async () => {
  const clock = new ManualClock(0);
  const spec = resolveAnalysisSpec({ name: 'lat', metric: 'latency', compare: 'baseline' });
  const p = routerProvider(
    { kind: 'router', metric: 'latency' },
    { service: 'web', release: 2, baseline: null, spec },
    { stats: scripted([stats('a')]), endpoints: () => [], clock },
  );
  await p.start(signal);
  await assert.rejects(
    p.measure(signal),
    (e: unknown) => e instanceof ProviderError && /compares with the baseline, but the run has no baseline release/.test(e.message),
  );
});
