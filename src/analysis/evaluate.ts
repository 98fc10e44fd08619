/**
 * Connects a check's spec to its judges: given what a provider measured for one window, which
 * judges run and with what limits. Pure; the providers (router stats, Prometheus, …) and the
 * controller that calls this live elsewhere.
 */
import { judgeBaseline, judgeErrorRate, judgeHardFailure, judgeThreshold, type Judgement } from './judge.js';
import type { AnalysisSpec } from './spec.js';
import { errorIndicatorSamples, errorRate, expandHistogram, histogramQuantile, type PoolCounters } from './window.js';

/** What a provider measured for one window. */
export type MetricData =
  /** Router-style counters of the window: the canary's, and the stable release's for compare. */
  | { kind: 'counters'; canary: PoolCounters; baseline?: PoolCounters }
  /**
   * One number (a Prometheus query, a command's output), with how many observations it rests on
   * if known, and optionally what a person should know about it (which instance failed, the
   * command's stderr): appended to the judgement's reason.
   */
  | { kind: 'value'; value: number; samples?: number; detail?: string }
  /** The source answered but had nothing to judge (an empty Prometheus result): inconclusive, for any metric. */
  | { kind: 'no-data'; reason: string };

/**
 * Judges one measurement. With compare 'baseline' and a max/min, both judges run and the worse
 * verdict wins (fail over inconclusive over pass); their numbers are prefixed `limit.` and
 * `baseline.`. Throws TypeError when the data do not fit the metric (a wiring mistake).
 */
export function evaluateCheck(spec: AnalysisSpec, data: MetricData): Judgement {
  if (data.kind === 'no-data') return { verdict: 'inconclusive', reason: `${spec.name}: ${data.reason}`, numbers: { samples: 0 } };
  if (spec.metric === 'value') {
    if (data.kind !== 'value') throw new TypeError(`check ${spec.name}: a value check needs a value, got ${data.kind}`);
    const minSamples = data.samples === undefined ? 1 : spec.minRequests;
    const j = judgeThreshold(data.value, data.samples ?? 1, { max: spec.max, min: spec.min, minSamples }, spec.name);
    return data.detail === undefined ? j : { ...j, reason: `${j.reason}: ${data.detail}` };
  }
  if (data.kind !== 'counters') throw new TypeError(`check ${spec.name}: a ${spec.metric} check needs counters, got ${data.kind}`);
  const judgements: [string, Judgement][] = [];
  if (spec.max !== undefined || spec.min !== undefined) judgements.push(['limit', limitJudgement(spec, data.canary)]);
  if (spec.compare === 'baseline') {
    if (data.baseline === undefined) throw new TypeError(`check ${spec.name}: compare: baseline needs the baseline's counters`);
    judgements.push(['baseline', baselineJudgement(spec, data.canary, data.baseline)]);
  }
  return combine(judgements);
}

/** The hard-failure fast path over the canary's recent window; undefined when turned off. */
export function hardFailureCheck(spec: AnalysisSpec, recentCanary: PoolCounters): Judgement | undefined {
  if (spec.hardFailure === false) return undefined;
  return judgeHardFailure(errorRate(recentCanary), spec.hardFailure);
}

function limitJudgement(spec: AnalysisSpec, canary: PoolCounters): Judgement {
  if (spec.metric === 'error-rate') {
    if (spec.max === undefined) {
      const r = errorRate(canary);
      return judgeThreshold(r.rate, r.requests, { min: spec.min, minSamples: spec.minRequests }, 'error rate');
    }
    return judgeErrorRate(errorRate(canary), { max: spec.max, minRequests: spec.minRequests, confidence: spec.confidence });
  }
  const samples = canary.latencyBuckets.reduce((s, n) => s + n, 0);
  const value = histogramQuantile(spec.quantile, canary.latencyBuckets);
  return judgeThreshold(
    value,
    samples,
    { max: spec.max, min: spec.min, minSamples: spec.minRequests },
    `p${+(spec.quantile * 100).toPrecision(4)} latency (ms)`,
  );
}

function baselineJudgement(spec: AnalysisSpec, canary: PoolCounters, baseline: PoolCounters): Judgement {
  const options = {
    tolerance: spec.tolerance,
    confidence: spec.confidence,
    minSamples: spec.minRequests,
    minDifference: spec.minDifference,
  };
  if (spec.metric === 'error-rate') {
    return judgeBaseline(
      errorIndicatorSamples(errorRate(canary)),
      errorIndicatorSamples(errorRate(baseline)),
      { ...options, effect: 'mean' },
      'error rate',
    );
  }
  return judgeBaseline(
    expandHistogram(canary.latencyBuckets),
    expandHistogram(baseline.latencyBuckets),
    { ...options, effect: 'shift' },
    'latency (ms)',
  );
}

const SEVERITY = { pass: 0, inconclusive: 1, fail: 2 } as const;

function combine(judgements: [string, Judgement][]): Judgement {
  if (judgements.length === 1) return judgements[0]![1];
  const worst = judgements.reduce((a, b) => (SEVERITY[b[1].verdict] > SEVERITY[a[1].verdict] ? b : a));
  const numbers: Record<string, number> = {};
  for (const [prefix, j] of judgements) for (const [k, v] of Object.entries(j.numbers)) numbers[`${prefix}.${k}`] = v;
  return { verdict: worst[1].verdict, reason: judgements.map(([, j]) => j.reason).join('; '), numbers };
}
