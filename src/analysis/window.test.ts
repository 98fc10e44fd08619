import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mannWhitneyU } from './mann-whitney.js';
import {
  counterDelta,
  emptyCounters,
  errorRate,
  expandHistogram,
  histogramQuantile,
  latencyPercentiles,
  sumDeltas,
  type CounterSnapshot,
  type PoolCounters,
} from './window.js';

/** Counters with `ok` 2xx and `bad` 5xx responses, all in the (50, 100] ms bucket. */
function counters(ok: number, bad: number): PoolCounters {
  const c = emptyCounters();
  c.requests = ok + bad;
  c.byClass['2xx'] = ok;
  c.byClass['5xx'] = bad;
  c.latencyBuckets[6] = ok + bad;
  c.latencySumMs = 75 * (ok + bad);
  return c;
}
const snap = (bootId: string, at: number, c: PoolCounters): CounterSnapshot => ({ bootId, at, counters: c });

describe('counter deltas', () => {
  test('the delta of two readings of the same router is their difference', () => {
    const d = counterDelta(snap('a', 1000, counters(100, 2)), snap('a', 2000, counters(150, 5)));
    assert.equal(d.reset, false);
    assert.deepEqual([d.from, d.to, d.counters.requests, d.counters.byClass['2xx'], d.counters.byClass['5xx']], [1000, 2000, 53, 50, 3]);
    assert.equal(d.counters.latencyBuckets[6], 53);
  });

  test('a new bootId means the router restarted: count from the new values, never negative', () => {
    const d = counterDelta(snap('a', 1000, counters(100, 2)), snap('b', 2000, counters(7, 1)));
    assert.equal(d.reset, true);
    assert.equal(d.counters.requests, 8);
    assert.equal(d.counters.byClass['5xx'], 1);
  });

  test('counters that go backwards with the same bootId are also a restart', () => {
    const d = counterDelta(snap('a', 1000, counters(100, 2)), snap('a', 2000, counters(120, 0)));
    assert.equal(d.reset, true);
    assert.equal(d.counters.requests, 120);
    for (const n of [d.counters.requests, ...Object.values(d.counters.byClass), ...d.counters.latencyBuckets]) assert.ok(n >= 0);
  });

  test('the first reading only sets the starting point', () => {
    const d = counterDelta(undefined, snap('a', 1000, counters(100, 2)));
    assert.equal(d.counters.requests, 0);
  });

  test('windows sum the deltas that end after `since`', () => {
    const s = [
      snap('a', 0, counters(0, 0)),
      snap('a', 1000, counters(50, 0)),
      snap('b', 2000, counters(40, 10)),
      snap('b', 3000, counters(80, 20)),
    ];
    const deltas = s.slice(1).map((x, i) => counterDelta(s[i], x));
    assert.equal(sumDeltas(deltas).requests, 150);
    assert.deepEqual(errorRate(sumDeltas(deltas, 1000)), { errors: 20, requests: 100, rate: 0.2 });
  });
});

describe('error rate', () => {
  test('counts 5xx by default; no requests gives NaN', () => {
    assert.deepEqual(errorRate(counters(199, 1)), { errors: 1, requests: 200, rate: 0.005 });
    assert.ok(Number.isNaN(errorRate(emptyCounters()).rate));
  });
});

describe('histogram quantiles (Prometheus histogram_quantile)', () => {
  // Bounds 1 2 5 10 25 50 100 250 500 1000 2500 5000 10000 +Inf; 100 observations:
  // 10 in (25,50], 30 in (50,100], 50 in (100,250], 10 in (250,500].
  const buckets = [0, 0, 0, 0, 0, 10, 30, 50, 10, 0, 0, 0, 0, 0];

  test('interpolates linearly inside the bucket holding the rank', () => {
    // p50: rank 50; 40 below 100 ms; 10 of the 50 in (100,250] → 100 + 150·10/50 = 130.
    assert.equal(histogramQuantile(0.5, buckets), 130);
    // p95: rank 95; 90 below 250 ms; 5 of 10 in (250,500] → 375. p99 → 250 + 250·9/10 = 475.
    assert.equal(histogramQuantile(0.95, buckets), 375);
    assert.equal(histogramQuantile(0.99, buckets), 475);
    // q = 0 is the lower bound of the first non-empty bucket; q = 1 the top of the last one.
    assert.equal(histogramQuantile(0, buckets), 25);
    assert.equal(histogramQuantile(1, buckets), 500);
  });

  test('the first bucket starts at 0; the +Inf bucket returns the last finite bound', () => {
    const first = new Array<number>(14).fill(0);
    first[0] = 4;
    assert.equal(histogramQuantile(0.5, first), 0.5);
    const inf = new Array<number>(14).fill(0);
    inf[13] = 3;
    assert.equal(histogramQuantile(0.5, inf), 10000);
  });

  test('empty histogram gives NaN; bad q throws', () => {
    assert.ok(Number.isNaN(histogramQuantile(0.5, new Array<number>(14).fill(0))));
    assert.throws(() => histogramQuantile(1.5, buckets), RangeError);
  });

  test('latencyPercentiles reports p50/p95/p99, the exact mean and the sample count', () => {
    const c = emptyCounters();
    c.latencyBuckets = buckets;
    c.latencySumMs = 14000;
    assert.deepEqual(latencyPercentiles(c), { p50: 130, p95: 375, p99: 475, mean: 140, samples: 100 });
  });
});

describe('histogram → samples', () => {
  test('observations are spread evenly inside their bucket; +Inf sits at the last bound', () => {
    const b = new Array<number>(14).fill(0);
    b[6] = 2; // (50,100]
    b[13] = 1;
    assert.deepEqual(expandHistogram(b), [62.5, 87.5, 10000]);
  });

  test('the quantiles of the samples agree with histogram_quantile', () => {
    const b = [0, 0, 0, 0, 0, 10, 30, 50, 10, 0, 0, 0, 0, 0];
    const s = expandHistogram(b);
    assert.equal(s.length, 100);
    assert.ok(Math.abs(s[49]! - histogramQuantile(0.5, b)) <= 3, `${s[49]}`);
  });

  test('a shared bucket adds exactly what ties would to U', () => {
    const a = new Array<number>(14).fill(0);
    const c = new Array<number>(14).fill(0);
    a[7] = 7;
    c[7] = 4;
    assert.equal(mannWhitneyU(expandHistogram(a), expandHistogram(c)).u1, 14);
  });

  test('above maxSamples counts are scaled down proportionally', () => {
    const b = new Array<number>(14).fill(0);
    b[5] = 1000;
    b[7] = 3000;
    const s = expandHistogram(b, undefined, 400);
    assert.equal(s.length, 400);
    assert.equal(s.filter((v) => v > 100).length, 300);
  });
});
