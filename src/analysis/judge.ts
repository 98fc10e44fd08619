/**
 * Judges turn numbers into a verdict: pass, fail, or inconclusive (too little data to say),
 * always with the reason and every number the verdict rests on, so a person reading a rollback
 * can check the arithmetic. Pure; no I/O, no clock.
 */
import { binomialSf } from './binomial.js';
import { mannWhitneyU, median } from './mann-whitney.js';
import type { ErrorRate } from './window.js';

export type Verdict = 'pass' | 'fail' | 'inconclusive';

export interface Judgement {
  verdict: Verdict;
  /** One sentence a person can read in `slipway status`, numbers included. */
  reason: string;
  /** Every number behind the verdict (value, limit, samples, p-value, confidence, …). */
  numbers: Record<string, number>;
}

export interface ThresholdLimits {
  /** The value must be at most this. */
  max?: number;
  /** The value must be at least this. */
  min?: number;
  /**
   * Below this many samples (requests, observations) the verdict is inconclusive.
   * @default 1
   */
  minSamples?: number;
}

/**
 * A plain limit on one value (a latency percentile, a Prometheus query result, …). The value is
 * compared as is: when it is a rate with counts behind it, judgeErrorRate is the better judge.
 * NaN (no data) is inconclusive.
 */
export function judgeThreshold(value: number, samples: number, limits: ThresholdLimits, label = 'value'): Judgement {
  const minSamples = limits.minSamples ?? 1;
  const numbers: Record<string, number> = { value, samples, minSamples };
  if (limits.max !== undefined) numbers.max = limits.max;
  if (limits.min !== undefined) numbers.min = limits.min;
  if (samples < minSamples || Number.isNaN(value)) {
    return { verdict: 'inconclusive', reason: `${label}: ${samples} samples, need ${minSamples}`, numbers };
  }
  if (limits.max !== undefined && value > limits.max) {
    return { verdict: 'fail', reason: `${label} ${fmt(value)} is above the max ${fmt(limits.max)} (${samples} samples)`, numbers };
  }
  if (limits.min !== undefined && value < limits.min) {
    return { verdict: 'fail', reason: `${label} ${fmt(value)} is below the min ${fmt(limits.min)} (${samples} samples)`, numbers };
  }
  return { verdict: 'pass', reason: `${label} ${fmt(value)} is within ${range(limits)} (${samples} samples)`, numbers };
}

export interface ErrorRateLimits {
  /** Highest acceptable error rate, as a fraction (0.01 = 1%). */
  max: number;
  /**
   * Below this many requests the verdict is inconclusive.
   * @default 20
   */
  minRequests?: number;
  /**
   * How sure the judge must be that the true rate is above `max` before failing
   * (exact binomial test at 1 − confidence).
   * @default 0.95
   */
  confidence?: number;
}

/**
 * An error-rate limit that does not cry wolf. Errors of a healthy service arrive at random, so a
 * short window can show 2 errors in 50 requests (4%) from a service whose true rate is 1%. This
 * judge passes when the observed rate is within `max`; fails only when the exact one-sided
 * binomial test rejects "the true rate is at most max" (P(X ≥ errors | requests, max) below
 * 1 − confidence); and otherwise says inconclusive: above the limit, but not beyond chance.
 */
export function judgeErrorRate(rate: ErrorRate, limits: ErrorRateLimits): Judgement {
  const minRequests = limits.minRequests ?? 20;
  const confidence = limits.confidence ?? 0.95;
  const pValue = binomialSf(rate.errors, rate.requests, limits.max);
  const numbers = { errors: rate.errors, requests: rate.requests, rate: rate.rate, max: limits.max, minRequests, confidence, pValue };
  const seen = `${rate.errors} errors in ${rate.requests} requests`;
  // Zero requests is no data even when minRequests is 0: the rate is NaN, not "above the max".
  if (rate.requests < minRequests || !(rate.requests > 0))
    return { verdict: 'inconclusive', reason: `${seen}: need ${Math.max(minRequests, 1)} requests`, numbers };
  if (rate.rate <= limits.max)
    return { verdict: 'pass', reason: `error rate ${pct(rate.rate)} (${seen}) is within the max ${pct(limits.max)}`, numbers };
  if (pValue < 1 - confidence) {
    return {
      verdict: 'fail',
      reason: `error rate ${pct(rate.rate)} (${seen}) is above the max ${pct(limits.max)} at ${pct(confidence)} confidence (binomial p = ${fmtP(pValue)})`,
      numbers,
    };
  }
  return {
    verdict: 'inconclusive',
    reason: `error rate ${pct(rate.rate)} (${seen}) is above the max ${pct(limits.max)} but within chance (binomial p = ${fmtP(pValue)})`,
    numbers,
  };
}

export interface BaselineOptions {
  /**
   * How much worse than the baseline the canary may be, as a fraction of the baseline's typical
   * value (0.2: up to 20% worse). A difference must be both significant and larger than this.
   * @default 0.2
   */
  tolerance?: number;
  /**
   * The smallest absolute worsening that counts (in the metric's unit). Histogram-based latency
   * samples are coarse at low values, and a fresh canary is briefly slower: a canary at 3 ms
   * against a baseline at 1 ms is "200% worse" but nobody notices. @default 0
   */
  minDifference?: number;
  /**
   * Confidence of the one-sided test: fail only when p < 1 − confidence.
   * @default 0.95
   */
  confidence?: number;
  /**
   * Below this many samples on either side the verdict is inconclusive.
   * @default 20
   */
  minSamples?: number;
  /**
   * Which direction is worse: 'higher' for latency and error rates, 'lower' for throughput.
   * @default 'higher'
   */
  worse?: 'higher' | 'lower';
  /**
   * How the size of the difference is measured. 'shift': the Hodges–Lehmann shift (median of
   * pairwise differences) relative to the baseline's median, for continuous metrics such as
   * latency. 'mean': the difference of means relative to the baseline mean, for 0/1 samples
   * (error indicators), whose medians are almost always 0.
   * @default 'shift'
   */
  effect?: 'shift' | 'mean';
}

/**
 * Canary versus baseline, as Kayenta does it: a one-sided Mann–Whitney U test asks whether the
 * canary's values tend to be worse than the baseline's. Fails only when the test is significant
 * (p < 1 − confidence) AND the estimated difference exceeds the tolerance: with thousands of
 * samples a 1% difference is significant but not worth a rollback. When the baseline's typical
 * value is 0 the relative effect is Infinity for any worsening (and 0 otherwise).
 */
export function judgeBaseline(
  canary: readonly number[],
  baseline: readonly number[],
  options: BaselineOptions = {},
  label = 'metric',
): Judgement {
  const tolerance = options.tolerance ?? 0.2;
  const confidence = options.confidence ?? 0.95;
  const minSamples = options.minSamples ?? 20;
  const worse = options.worse ?? 'higher';
  const alpha = +(1 - confidence).toPrecision(12);
  const minDifference = options.minDifference ?? 0;
  const base = { canarySamples: canary.length, baselineSamples: baseline.length, minSamples, tolerance, confidence, minDifference };
  if (canary.length < minSamples || baseline.length < minSamples) {
    return {
      verdict: 'inconclusive',
      reason: `${label}: ${canary.length} canary and ${baseline.length} baseline samples, need ${minSamples} each`,
      numbers: base,
    };
  }
  const test = mannWhitneyU(canary, baseline, { alternative: worse === 'higher' ? 'greater' : 'less' });
  const mean = (xs: readonly number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
  const canaryTypical = options.effect === 'mean' ? mean(canary) : median(canary);
  const baselineTypical = options.effect === 'mean' ? mean(baseline) : median(baseline);
  const difference = options.effect === 'mean' ? canaryTypical - baselineTypical : test.shift;
  const worsening = worse === 'higher' ? difference : -difference;
  const relativeEffect = baselineTypical === 0 ? (worsening > 0 ? Infinity : 0) : worsening / Math.abs(baselineTypical);
  const numbers = {
    ...base,
    alpha,
    u: test.u1,
    pValue: test.pValue,
    ...(test.z === undefined ? {} : { z: test.z }),
    canaryTypical,
    baselineTypical,
    difference,
    relativeEffect,
  };
  const what = `${label} canary ${fmt(canaryTypical)} vs baseline ${fmt(baselineTypical)} (${options.effect === 'mean' ? 'means' : 'medians'})`;
  const significant = test.pValue < alpha;
  if (significant && relativeEffect > tolerance && worsening > minDifference) {
    return {
      verdict: 'fail',
      reason: `${what}: ${pct(relativeEffect)} worse, above the tolerance ${pct(tolerance)}, p = ${fmtP(test.pValue)} < ${fmtP(alpha)}`,
      numbers,
    };
  }
  const why =
    significant && relativeEffect > tolerance
      ? `worse by ${fmt(worsening)}, within the smallest difference that counts (${fmt(minDifference)}) (p = ${fmtP(test.pValue)})`
      : significant
        ? `worse by ${pct(relativeEffect)}, within the tolerance ${pct(tolerance)} (p = ${fmtP(test.pValue)})`
        : `not significantly worse (p = ${fmtP(test.pValue)} ≥ ${fmtP(alpha)})`;
  return { verdict: 'pass', reason: `${what}: ${why}`, numbers };
}

export interface HardFailureLimits {
  /**
   * Requests that must have been seen before the fast path may fail.
   * @default 10
   */
  minRequests?: number;
  /**
   * Error rate at or above which the canary is failed at once.
   * @default 0.5
   */
  errorRate?: number;
}

/**
 * The fast path for a canary that is plainly broken (mostly 5xx): checked on every poll of the
 * counters rather than once per interval, it fails as soon as `minRequests` requests were seen
 * and at least `errorRate` of them failed. No statistics: at 50% errors over 10+ requests a
 * healthy service (true rate ≤ 1%) is out of the question (P ≈ 2e-8 for 5 of 10 at 1%).
 * Inconclusive below minRequests; pass otherwise (meaning "not a hard failure").
 */
export function judgeHardFailure(rate: ErrorRate, limits: HardFailureLimits = {}): Judgement {
  const minRequests = limits.minRequests ?? 10;
  const limit = limits.errorRate ?? 0.5;
  const numbers = { errors: rate.errors, requests: rate.requests, rate: rate.rate, errorRate: limit, minRequests };
  const seen = `${rate.errors} errors in ${rate.requests} requests`;
  if (rate.requests < minRequests)
    return { verdict: 'inconclusive', reason: `${seen}: need ${minRequests} for the hard-failure check`, numbers };
  if (rate.rate >= limit) return { verdict: 'fail', reason: `hard failure: ${seen} (${pct(rate.rate)} ≥ ${pct(limit)})`, numbers };
  return { verdict: 'pass', reason: `no hard failure: ${seen}`, numbers };
}

function range(l: ThresholdLimits): string {
  if (l.min !== undefined && l.max !== undefined) return `[${fmt(l.min)}, ${fmt(l.max)}]`;
  if (l.max !== undefined) return `the max ${fmt(l.max)}`;
  if (l.min !== undefined) return `the min ${fmt(l.min)}`;
  return 'no limits';
}

// Reasons are read by people: a number that is not one reads "no data" or ∞, never "NaN".
function notFinite(n: number): string {
  return Number.isNaN(n) ? 'no data' : n > 0 ? '∞' : '-∞';
}

function fmt(n: number): string {
  return Number.isFinite(n) ? String(+n.toPrecision(4)) : notFinite(n);
}

function pct(fraction: number): string {
  return Number.isFinite(fraction) ? `${+(fraction * 100).toPrecision(3)}%` : notFinite(fraction);
}

function fmtP(p: number): string {
  if (!Number.isFinite(p)) return notFinite(p);
  return p < 1e-4 ? p.toExponential(1) : String(+p.toPrecision(2));
}
