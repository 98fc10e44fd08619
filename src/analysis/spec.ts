/**
 * One analysis check as configured (after parsing: durations are milliseconds), with its
 * defaults. The defaults are chosen to stop a plainly broken canary within about a second of
 * traffic while letting a healthy one with the odd error through; docs/analysis.md explains why.
 */

/**
 * What a check measures. 'error-rate': share of 5xx responses; 'latency': a latency quantile
 * (or, with compare 'baseline', the whole latency distribution); 'value': one number from a
 * provider (a Prometheus query, a command), judged against max/min.
 */
export type MetricKind = 'error-rate' | 'latency' | 'value';

/** What a run does once more than `inconclusiveLimit` measurements could not decide. */
export type InconclusiveAction = 'wait' | 'fail' | 'pass';

export interface HardFailureSpec {
  /**
   * Requests that must have been seen before the fast path may fail.
   * @default 10
   */
  minRequests: number;
  /**
   * Error rate at or above which the canary fails at once.
   * @default 0.5
   */
  errorRate: number;
  /**
   * The fast path looks at the requests of this recent window (so a canary that turns bad late
   * is not diluted by an hour of good traffic).
   * @default 2000
   */
  windowMs: number;
  /**
   * How often the controller should read the counters for the fast path.
   * @default 250
   */
  pollMs: number;
}

export interface AnalysisSpec {
  /** Name shown in status and events, unique within the rollout step. */
  name: string;
  /** @default 'error-rate' */
  metric: MetricKind;
  /**
   * For metric 'latency' with a threshold: which quantile is compared with max/min.
   * @default 0.99
   */
  quantile: number;
  /**
   * Highest acceptable value (error rate as a fraction; latency in ms).
   * @default 0.01 for 'error-rate' without compare; none otherwise
   */
  max: number | undefined;
  /** Lowest acceptable value. @default none */
  min: number | undefined;
  /** Compare the canary with the stable release (Mann–Whitney) instead of fixed limits. @default none */
  compare: 'baseline' | undefined;
  /**
   * With compare 'baseline': how much worse the canary may be, relative to the baseline (0.2 = 20%).
   * @default 0.2
   */
  tolerance: number;
  /**
   * With compare 'baseline': the smallest absolute worsening that fails (ms for latency), so a
   * difference nobody would notice is never a failure however significant.
   * @default 5 for 'latency', 0 otherwise
   */
  minDifference: number;
  /**
   * Confidence of statistical verdicts (baseline comparison, error-rate limit): fail only when
   * p < 1 − confidence.
   * @default 0.95
   */
  confidence: number;
  /**
   * Time between measurements.
   * @default 10000
   */
  intervalMs: number;
  /**
   * Fewer requests (samples per side for compare) than this make a measurement inconclusive.
   * @default 50
   */
  minRequests: number;
  /**
   * Conclusive measurements (pass or fail) after which the run ends; undefined runs until the
   * controller stops it (for example when the canary step ends).
   * @default undefined
   */
  count: number | undefined;
  /**
   * The run fails when more than this many measurements failed (0: the first failure fails).
   * @default 1
   */
  failureLimit: number;
  /**
   * The run ends in Error when more than this many provider errors come in a row.
   * @default 4
   */
  consecutiveErrorLimit: number;
  /**
   * When more than this many measurements were inconclusive, the run ends per inconclusiveAction.
   * @default 6
   */
  inconclusiveLimit: number;
  /**
   * 'wait': end as Inconclusive, so the rollout pauses for a person; 'fail': end as Failed;
   * 'pass': end as Successful. Below the limit, inconclusive measurements just do not count
   * toward `count` (the run waits for data).
   * @default 'wait'
   */
  inconclusiveAction: InconclusiveAction;
  /** The fast path for a mostly-5xx canary; false turns it off. @default see HardFailureSpec */
  hardFailure: HardFailureSpec | false;
}

/** A check as written: only `name` is required. */
export type AnalysisSpecInput = Partial<Omit<AnalysisSpec, 'hardFailure'>> & {
  name: string;
  hardFailure?: Partial<HardFailureSpec> | false;
};

export const HARD_FAILURE_DEFAULTS: Readonly<HardFailureSpec> = { minRequests: 10, errorRate: 0.5, windowMs: 2000, pollMs: 250 };

/** Fills in the defaults. */
export function resolveAnalysisSpec(input: AnalysisSpecInput): AnalysisSpec {
  const metric = input.metric ?? 'error-rate';
  const noLimits = input.max === undefined && input.min === undefined && input.compare === undefined;
  return {
    name: input.name,
    metric,
    quantile: input.quantile ?? 0.99,
    max: input.max ?? (metric === 'error-rate' && noLimits ? 0.01 : undefined),
    min: input.min,
    compare: input.compare,
    tolerance: input.tolerance ?? 0.2,
    minDifference: input.minDifference ?? (metric === 'latency' ? 5 : 0),
    confidence: input.confidence ?? 0.95,
    intervalMs: input.intervalMs ?? 10_000,
    minRequests: input.minRequests ?? 50,
    count: input.count,
    failureLimit: input.failureLimit ?? 1,
    consecutiveErrorLimit: input.consecutiveErrorLimit ?? 4,
    inconclusiveLimit: input.inconclusiveLimit ?? 6,
    inconclusiveAction: input.inconclusiveAction ?? 'wait',
    hardFailure: input.hardFailure === false ? false : { ...HARD_FAILURE_DEFAULTS, ...input.hardFailure },
  };
}

/** Every problem of a resolved spec, each as "path: message" (empty when valid). */
export function analysisSpecProblems(spec: AnalysisSpec, path = 'analysis'): string[] {
  const problems: string[] = [];
  const at = (key: string, message: string) => problems.push(`${path}.${key}: ${message}`);
  const fraction = (key: string, v: number, open = false) => {
    if (!(open ? v > 0 && v < 1 : v >= 0 && v <= 1))
      at(key, `expected a number ${open ? 'between 0 and 1 (exclusive)' : 'from 0 to 1'} (got ${v})`);
  };
  const whole = (key: string, v: number | undefined, least: number) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= least)) at(key, `expected a whole number ≥ ${least} (got ${v})`);
  };
  if (spec.compare === undefined && spec.max === undefined && spec.min === undefined)
    at('max', `a ${spec.metric} check needs max, min or compare: baseline`);
  if (spec.compare === 'baseline' && spec.metric === 'value')
    at('compare', 'a value check has no samples to compare; use error-rate or latency');
  if (spec.max !== undefined && spec.min !== undefined && spec.min > spec.max) at('min', `must not exceed max (${spec.min} > ${spec.max})`);
  if (spec.metric === 'error-rate' && spec.max !== undefined) fraction('max', spec.max);
  fraction('quantile', spec.quantile);
  fraction('confidence', spec.confidence, true);
  if (!(spec.tolerance >= 0)) at('tolerance', `expected a fraction ≥ 0 (got ${spec.tolerance})`);
  if (!(spec.minDifference >= 0)) at('minDifference', `expected a number ≥ 0 (got ${spec.minDifference})`);
  if (!(spec.intervalMs > 0)) at('intervalMs', `expected a positive duration (got ${spec.intervalMs})`);
  whole('minRequests', spec.minRequests, 0);
  whole('count', spec.count, 1);
  whole('failureLimit', spec.failureLimit, 0);
  whole('consecutiveErrorLimit', spec.consecutiveErrorLimit, 0);
  whole('inconclusiveLimit', spec.inconclusiveLimit, 0);
  if (spec.hardFailure !== false) {
    whole('hardFailure.minRequests', spec.hardFailure.minRequests, 1);
    if (!(spec.hardFailure.errorRate > 0 && spec.hardFailure.errorRate <= 1))
      at('hardFailure.errorRate', `expected a fraction above 0, at most 1 (got ${spec.hardFailure.errorRate})`);
    if (!(spec.hardFailure.windowMs > 0)) at('hardFailure.windowMs', 'expected a positive duration');
    if (!(spec.hardFailure.pollMs > 0)) at('hardFailure.pollMs', 'expected a positive duration');
  }
  return problems;
}
