import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { logNormal, seededRandom, simulateCounters } from './analysis-testing.js';
import { binomialSf } from './binomial.js';
import { judgeBaseline, judgeErrorRate, judgeHardFailure, judgeThreshold } from './judge.js';
import { errorIndicatorSamples, errorRate, expandHistogram } from './window.js';

const rate = (errors: number, requests: number) => ({ errors, requests, rate: requests === 0 ? NaN : errors / requests });

describe('threshold judge', () => {
  test('pass within limits, fail above max or below min, with the numbers', () => {
    const pass = judgeThreshold(180, 500, { max: 250, minSamples: 50 }, 'p99 latency');
    assert.equal(pass.verdict, 'pass');
    assert.deepEqual(pass.numbers, { value: 180, samples: 500, minSamples: 50, max: 250 });
    const fail = judgeThreshold(300, 500, { max: 250 }, 'p99 latency');
    assert.equal(fail.verdict, 'fail');
    assert.match(fail.reason, /p99 latency 300 is above the max 250/);
    assert.equal(judgeThreshold(0.4, 10, { min: 0.9 }).verdict, 'fail');
    assert.equal(judgeThreshold(0.95, 10, { min: 0.9, max: 1 }).verdict, 'pass');
  });

  test('too few samples or no value is inconclusive', () => {
    assert.equal(judgeThreshold(300, 10, { max: 250, minSamples: 50 }).verdict, 'inconclusive');
    assert.equal(judgeThreshold(NaN, 0, { max: 250 }).verdict, 'inconclusive');
  });
});

describe('error-rate judge', () => {
  test('binomial tail matches scipy binomtest(k, n, p, alternative="greater").pvalue', () => {
    const ref: [number, number, number, number][] = [
      [4, 200, 0.01, 0.141965965555256],
      [12, 500, 0.01, 0.0052080442541713266],
      [2, 50, 0.01, 0.08943531309603073],
      [3, 50, 0.01, 0.013817270830600381],
      [1, 200, 0.01, 0.8660203251420381],
      [60, 100, 0.01, 9.257141516941647e-93],
      [5200, 10000, 0.5, 3.2967577993361714e-5],
    ];
    for (const [k, n, p, want] of ref) {
      const got = binomialSf(k, n, p);
      assert.ok(Math.abs(got - want) <= 1e-9 * want, `P(X ≥ ${k} | ${n}, ${p}) = ${got}, want ${want}`);
    }
    assert.equal(binomialSf(0, 10, 0.3), 1);
    assert.equal(binomialSf(11, 10, 0.3), 0);
  });

  test('2 errors in 50 at max 1% is within chance (p = 0.089); 3 in 50 is not (p = 0.014)', () => {
    assert.equal(judgeErrorRate(rate(2, 50), { max: 0.01 }).verdict, 'inconclusive');
    assert.equal(judgeErrorRate(rate(3, 50), { max: 0.01 }).verdict, 'fail');
  });

  test('no false alarm: 1 error in 200 requests with max 1% passes', () => {
    const j = judgeErrorRate(rate(1, 200), { max: 0.01 });
    assert.equal(j.verdict, 'pass');
    assert.equal(j.numbers.rate, 0.005);
  });

  test('above the max but within chance is inconclusive (4 in 200 at max 1%)', () => {
    const j = judgeErrorRate(rate(4, 200), { max: 0.01 });
    assert.equal(j.verdict, 'inconclusive');
    assert.match(j.reason, /within chance/);
  });

  test('clearly above the max fails (12 in 500 at max 1%: p = 0.005)', () => {
    const j = judgeErrorRate(rate(12, 500), { max: 0.01 });
    assert.equal(j.verdict, 'fail');
    assert.ok(j.numbers.pValue! < 0.05);
  });

  test('too few requests is inconclusive', () => {
    assert.equal(judgeErrorRate(rate(5, 10), { max: 0.01 }).verdict, 'inconclusive');
  });

  test('a healthy canary (0.5% errors) judged on 100 windows of 500 requests against max 1% never fails', () => {
    const rand = seededRandom(11);
    let fails = 0;
    for (let i = 0; i < 100; i++)
      fails +=
        judgeErrorRate(errorRate(simulateCounters(rand, 500, { medianMs: 50, errorRate: 0.005 })), { max: 0.01 }).verdict === 'fail'
          ? 1
          : 0;
    assert.equal(fails, 0);
  });
});

describe('judgement reasons', () => {
  test('zero requests is inconclusive even with minRequests 0, and no reason prints NaN', () => {
    const zero = judgeErrorRate(rate(0, 0), { max: 0.01, minRequests: 0 });
    assert.equal(zero.verdict, 'inconclusive');
    assert.equal(zero.reason, '0 errors in 0 requests: need 1 requests');
    for (const j of [
      zero,
      judgeThreshold(Infinity, 10, { max: 5 }),
      judgeThreshold(5, 10, { max: NaN }),
      judgeHardFailure(rate(0, 0), { minRequests: 0 }),
    ]) {
      assert.doesNotMatch(j.reason, /NaN|Infinity/, j.reason);
    }
    assert.match(judgeThreshold(Infinity, 10, { max: 5 }).reason, /∞ is above the max 5/);
  });
});

describe('hard-failure judge', () => {
  test('defaults: 10 requests at ≥ 50% errors fail; fewer are inconclusive; a few errors pass', () => {
    assert.equal(judgeHardFailure(rate(9, 10)).verdict, 'fail');
    assert.equal(judgeHardFailure(rate(5, 10)).verdict, 'fail');
    assert.equal(judgeHardFailure(rate(9, 9)).verdict, 'inconclusive');
    assert.equal(judgeHardFailure(rate(2, 50)).verdict, 'pass');
    assert.deepEqual(judgeHardFailure(rate(9, 10)).numbers, { errors: 9, requests: 10, rate: 0.9, errorRate: 0.5, minRequests: 10 });
  });
});

describe('baseline judge (Mann–Whitney)', () => {
  test('too few samples is inconclusive', () => {
    const j = judgeBaseline([1, 2, 3], [1, 2, 3, 4]);
    assert.equal(j.verdict, 'inconclusive');
    assert.equal(j.numbers.canarySamples, 3);
  });

  test('a canary clearly worse beyond the tolerance fails, with the numbers behind it', () => {
    const base = Array.from({ length: 30 }, (_, i) => 100 + i);
    const canary = base.map((v) => v * 1.5);
    const j = judgeBaseline(canary, base, {}, 'latency');
    assert.equal(j.verdict, 'fail');
    for (const k of ['pValue', 'u', 'alpha', 'confidence', 'tolerance', 'relativeEffect', 'canaryTypical', 'baselineTypical'])
      assert.ok(k in j.numbers, k);
    assert.ok(j.numbers.relativeEffect! > 0.2 && j.numbers.pValue! < 0.05);
  });

  test('significantly but only slightly worse (within tolerance) passes', () => {
    const rand = seededRandom(3);
    const base = Array.from({ length: 4000 }, () => logNormal(rand, 100, 0.3));
    const canary = Array.from({ length: 4000 }, () => logNormal(rand, 108, 0.3));
    const j = judgeBaseline(canary, base);
    assert.ok(j.numbers.pValue! < 0.05, 'the difference is significant');
    assert.equal(j.verdict, 'pass');
    assert.match(j.reason, /within the tolerance/);
  });

  test('a significant but unnoticeable absolute difference passes below minDifference', () => {
    // A fresh canary at ~3 ms against a baseline at ~1 ms: "200% worse", 2 ms in absolute terms.
    const canary = Array.from({ length: 200 }, (_, i) => 3 + (i % 10) / 10);
    const baseline = Array.from({ length: 200 }, (_, i) => 1 + (i % 10) / 10);
    assert.equal(judgeBaseline(canary, baseline, { minDifference: 0 }).verdict, 'fail');
    const lenient = judgeBaseline(canary, baseline, { minDifference: 5 });
    assert.equal(lenient.verdict, 'pass');
    assert.match(lenient.reason, /within the smallest difference that counts \(5\)/);
    assert.equal(lenient.numbers.minDifference, 5);
    assert.equal(
      judgeBaseline(
        canary.map((v) => v + 10),
        baseline,
        { minDifference: 5 },
      ).verdict,
      'fail',
    );
  });

  test('better is never a failure; worse = "lower" flips the direction', () => {
    const base = Array.from({ length: 30 }, (_, i) => 100 + i);
    const faster = base.map((v) => v * 0.5);
    assert.equal(judgeBaseline(faster, base).verdict, 'pass');
    assert.equal(judgeBaseline(faster, base, { worse: 'lower' }).verdict, 'fail');
  });

  test('error indicators compare by mean: 10% vs 1% errors fails, 1% vs 1% passes', () => {
    const j = judgeBaseline(errorIndicatorSamples(rate(50, 500)), errorIndicatorSamples(rate(5, 500)), { effect: 'mean' });
    assert.equal(j.verdict, 'fail');
    assert.ok(Math.abs(j.numbers.relativeEffect! - 9) < 1e-9);
    assert.equal(
      judgeBaseline(errorIndicatorSamples(rate(5, 500)), errorIndicatorSamples(rate(5, 500)), { effect: 'mean' }).verdict,
      'pass',
    );
  });

  // Healthy canary and baseline drawn from the same distribution, counted into the router's
  // histogram and expanded back into samples, as the wiring will do.
  const trials = 1000;
  function falsePositiveRate(tolerance: number, fromHistogram: boolean, seed: number): number {
    const rand = seededRandom(seed);
    let fails = 0;
    for (let t = 0; t < trials; t++) {
      let canary: number[];
      let base: number[];
      if (fromHistogram) {
        canary = expandHistogram(simulateCounters(rand, 200, { medianMs: 80 }).latencyBuckets);
        base = expandHistogram(simulateCounters(rand, 200, { medianMs: 80 }).latencyBuckets);
      } else {
        canary = Array.from({ length: 200 }, () => logNormal(rand, 80, 0.5));
        base = Array.from({ length: 200 }, () => logNormal(rand, 80, 0.5));
      }
      if (judgeBaseline(canary, base, { tolerance, confidence: 0.95 }).verdict === 'fail') fails++;
    }
    return fails / trials;
  }

  test('no false alarm: same distribution, raw samples, tolerance 0 → false positive rate ≈ 5% (the test is calibrated)', () => {
    const fpr = falsePositiveRate(0, false, 101);
    assert.ok(fpr >= 0.03 && fpr <= 0.07, `false positive rate ${fpr}`);
  });

  test('no false alarm: same distribution through the histogram, tolerance 0 → ≤ 7%', () => {
    const fpr = falsePositiveRate(0, true, 202);
    assert.ok(fpr <= 0.07, `false positive rate ${fpr}`);
  });

  test('no false alarm: same distribution through the histogram, default tolerance 20% → ≤ 1%', () => {
    const fpr = falsePositiveRate(0.2, true, 303);
    assert.ok(fpr <= 0.01, `false positive rate ${fpr}`);
  });

  test('catches a slow canary: latency +50% through the histogram fails in ≥ 95% of trials while its error check passes', () => {
    const rand = seededRandom(404);
    let caught = 0;
    for (let t = 0; t < 200; t++) {
      const canaryCounters = simulateCounters(rand, 300, { medianMs: 120, errorRate: 0.002 });
      const baseCounters = simulateCounters(rand, 300, { medianMs: 80, errorRate: 0.002 });
      const j = judgeBaseline(expandHistogram(canaryCounters.latencyBuckets), expandHistogram(baseCounters.latencyBuckets), {}, 'latency');
      if (j.verdict === 'fail') caught++;
      assert.notEqual(judgeErrorRate(errorRate(canaryCounters), { max: 0.01 }).verdict, 'fail');
    }
    assert.ok(caught / 200 >= 0.95, `caught ${caught} of 200`);
  });
});
