import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { seededRandom, simulateCounters, type TrafficProfile } from './analysis-testing.js';
import { evaluateCheck, hardFailureCheck } from './evaluate.js';
import type { Judgement, Verdict } from './judge.js';
import { advanceRun, isMeasurementDue, MEASUREMENT_HISTORY, startRun, type AnalysisRunState, type RunInput } from './run.js';
import { analysisSpecProblems, resolveAnalysisSpec, type AnalysisSpec, type AnalysisSpecInput } from './spec.js';
import {
  addCounters,
  counterDelta,
  emptyCounters,
  sumDeltas,
  type CounterSnapshot,
  type IntervalDelta,
  type PoolCounters,
} from './window.js';

const judged = (verdict: Verdict): RunInput => ({ kind: 'measurement', judgement: { verdict, reason: verdict, numbers: {} } });
const error: RunInput = { kind: 'error', message: 'prometheus: timeout' };

/** Feeds inputs one interval apart; returns the final state. */
function feed(input: AnalysisSpecInput, inputs: RunInput[]): AnalysisRunState {
  const spec = resolveAnalysisSpec(input);
  let s = startRun(spec, 0);
  inputs.forEach((x, i) => {
    s = advanceRun(spec, s, x, (i + 1) * spec.intervalMs);
  });
  return s;
}

describe('analysis spec', () => {
  test('defaults: error rate ≤ 1%, every 10 s, 50 requests, one failure forgiven, hard failure at 10 requests ≥ 50%', () => {
    const s = resolveAnalysisSpec({ name: 'errors' });
    assert.deepEqual(
      [
        s.metric,
        s.max,
        s.intervalMs,
        s.minRequests,
        s.failureLimit,
        s.consecutiveErrorLimit,
        s.inconclusiveLimit,
        s.inconclusiveAction,
        s.confidence,
        s.tolerance,
        s.count,
      ],
      ['error-rate', 0.01, 10_000, 50, 1, 4, 6, 'wait', 0.95, 0.2, undefined],
    );
    assert.deepEqual(s.hardFailure, { minRequests: 10, errorRate: 0.5, windowMs: 2000, pollMs: 250 });
    assert.deepEqual(analysisSpecProblems(s), []);
    assert.equal(resolveAnalysisSpec({ name: 'x', compare: 'baseline' }).max, undefined, 'compare alone sets no limit');
  });

  test('problems are all reported, each with its path', () => {
    const s = resolveAnalysisSpec({ name: 'p99', metric: 'latency', confidence: 1, count: 0, hardFailure: { errorRate: 0 } });
    assert.deepEqual(analysisSpecProblems(s, 'steps[1].analysis[0]'), [
      'steps[1].analysis[0].max: a latency check needs max, min or compare: baseline',
      'steps[1].analysis[0].confidence: expected a number between 0 and 1 (exclusive) (got 1)',
      'steps[1].analysis[0].count: expected a whole number ≥ 1 (got 0)',
      'steps[1].analysis[0].hardFailure.errorRate: expected a fraction above 0, at most 1 (got 0)',
    ]);
  });
});

describe('analysis run state machine', () => {
  test('starts Running with the first measurement one interval out', () => {
    const spec = resolveAnalysisSpec({ name: 'e' });
    const s = startRun(spec, 1000);
    assert.equal(s.phase, 'Running');
    assert.equal(isMeasurementDue(s, 10_999), false);
    assert.equal(isMeasurementDue(s, 11_000), true);
    assert.equal(advanceRun(spec, s, judged('pass'), 11_000).nextMeasurementAt, 21_000);
  });

  test('failureLimit: fails after MORE than N failed measurements', () => {
    assert.equal(feed({ name: 'e' }, [judged('fail'), judged('pass')]).phase, 'Running');
    const s = feed({ name: 'e' }, [judged('fail'), judged('pass'), judged('fail')]);
    assert.equal(s.phase, 'Failed');
    assert.match(s.reason, /2 failed measurements \(limit 1\)/);
    assert.equal(s.finishedAt, 30_000);
    assert.equal(feed({ name: 'e', failureLimit: 0 }, [judged('fail')]).phase, 'Failed');
  });

  test('count: a smoke run of 5 succeeds after 5 conclusive measurements; inconclusive ones do not count', () => {
    const five = [judged('pass'), judged('inconclusive'), judged('pass'), judged('fail'), judged('pass'), judged('pass')];
    assert.equal(feed({ name: 'smoke', count: 5 }, five.slice(0, 5)).phase, 'Running');
    const s = feed({ name: 'smoke', count: 5 }, five);
    assert.equal(s.phase, 'Successful');
    assert.deepEqual(s.counts, { passed: 4, failed: 1, inconclusive: 1, errors: 0, consecutiveErrors: 0 });
    assert.equal(s.measurements.length, 6);
  });

  test('consecutiveErrorLimit: errors in a row end in Error; a measurement resets the streak', () => {
    assert.equal(feed({ name: 'e' }, [error, error, error, error, judged('pass'), error, error, error, error]).phase, 'Running');
    const s = feed({ name: 'e' }, [error, error, error, error, error]);
    assert.equal(s.phase, 'Error');
    assert.match(s.reason, /5 provider errors in a row \(limit 4\); last: prometheus: timeout/);
  });

  test('inconclusiveLimit with each inconclusive action', () => {
    const seven = Array.from({ length: 7 }, () => judged('inconclusive'));
    assert.equal(feed({ name: 'e' }, seven.slice(0, 6)).phase, 'Running');
    assert.equal(feed({ name: 'e' }, seven).phase, 'Inconclusive');
    assert.equal(feed({ name: 'e', inconclusiveAction: 'fail' }, seven).phase, 'Failed');
    assert.equal(feed({ name: 'e', inconclusiveAction: 'pass', inconclusiveLimit: 0 }, seven.slice(0, 1)).phase, 'Successful');
  });

  test('a failing hard check fails at once, regardless of failureLimit; other verdicts change nothing', () => {
    const spec = resolveAnalysisSpec({ name: 'e', failureLimit: 5 });
    const s0 = startRun(spec, 0);
    const hard = (verdict: Verdict): RunInput => ({
      kind: 'hard-check',
      judgement: { verdict, reason: `hard ${verdict}`, numbers: { requests: 12 } },
    });
    assert.equal(advanceRun(spec, s0, hard('pass'), 250), s0);
    assert.equal(advanceRun(spec, s0, hard('inconclusive'), 250), s0);
    const s = advanceRun(spec, s0, hard('fail'), 500);
    assert.equal(s.phase, 'Failed');
    assert.deepEqual(s.measurements, [{ at: 500, verdict: 'fail', reason: 'hard fail', numbers: { requests: 12 }, hard: true }]);
  });

  test('stop: Successful with conclusive passes; without any, per inconclusiveAction', () => {
    assert.equal(feed({ name: 'e' }, [judged('pass'), { kind: 'stop', reason: 'step ended' }]).phase, 'Successful');
    const s = feed({ name: 'e' }, [judged('inconclusive'), { kind: 'stop', reason: 'step ended' }]);
    assert.equal(s.phase, 'Inconclusive');
    assert.match(s.reason, /step ended: stopped before any conclusive measurement/);
  });

  test("a step's run without count ends on its own: Successful on the first pass; failures follow failureLimit; inconclusive ones inconclusiveLimit", () => {
    const spec = resolveAnalysisSpec({ name: 'errors', intervalMs: 1000 });
    const stepFeed = (inputs: RunInput[]) => {
      let s = startRun(spec, 0, 'first-pass');
      inputs.forEach((x, i) => {
        s = advanceRun(spec, s, x, (i + 1) * 1000);
      });
      return s;
    };
    const passed = stepFeed([judged('inconclusive'), error, judged('pass')]);
    assert.equal(passed.phase, 'Successful');
    assert.equal(passed.finishedAt, 3000);
    const forgiven = stepFeed([judged('fail'), judged('pass')]);
    assert.equal(forgiven.phase, 'Successful', 'one failure is within failureLimit 1');
    assert.match(forgiven.reason, /1 failed before, limit 1/);
    assert.equal(stepFeed([judged('fail'), judged('fail')]).phase, 'Failed');
    assert.equal(stepFeed(Array.from({ length: 7 }, () => judged('inconclusive'))).phase, 'Inconclusive');
    // A count still rules when given: a step's smoke run of 3 measures 3 times.
    const counted = resolveAnalysisSpec({ name: 'smoke', count: 3 });
    let c = startRun(counted, 0, 'first-pass');
    c = advanceRun(counted, c, judged('pass'), 1);
    assert.equal(c.phase, 'Running');
  });

  test('background runs (and states persisted before step ends existed) run until stopped', () => {
    const spec = resolveAnalysisSpec({ name: 'errors' });
    assert.equal(
      feed(
        { name: 'errors' },
        Array.from({ length: 20 }, () => judged('pass')),
      ).phase,
      'Running',
    );
    const legacy: AnalysisRunState = { ...startRun(spec, 0, 'first-pass'), openEnd: undefined };
    assert.equal(advanceRun(spec, legacy, judged('pass'), 10_000).phase, 'Running');
  });

  test('a finished run ignores further input; history is capped', () => {
    const spec = resolveAnalysisSpec({ name: 'e', failureLimit: 0 });
    const failed = advanceRun(spec, startRun(spec, 0), judged('fail'), 1);
    assert.equal(advanceRun(spec, failed, judged('pass'), 2), failed);
    const long = feed(
      { name: 'e' },
      Array.from({ length: MEASUREMENT_HISTORY + 20 }, () => judged('pass')),
    );
    assert.equal(long.measurements.length, MEASUREMENT_HISTORY);
    assert.equal(long.counts.passed, MEASUREMENT_HISTORY + 20);
  });
});

/**
 * A simulated canary and baseline behind the router, watched the way the controller will:
 * counters polled every hardFailure.pollMs, the fast path on the recent window at each poll,
 * regular measurements of the last interval when due.
 */
function simulate(opts: {
  seed: number;
  rps: number;
  durationMs: number;
  canary: TrafficProfile;
  baseline: TrafficProfile;
  checks: AnalysisSpecInput[];
}) {
  const rand = seededRandom(opts.seed);
  const specs: AnalysisSpec[] = opts.checks.map(resolveAnalysisSpec);
  let states = specs.map((s) => startRun(s, 0));
  const cumulative = { canary: emptyCounters(), baseline: emptyCounters() };
  let prev: { canary: CounterSnapshot; baseline: CounterSnapshot } | undefined;
  let deltas: { canary: IntervalDelta[]; baseline: IntervalDelta[] } = { canary: [], baseline: [] };
  const pollMs = 250;
  let carry = 0;
  for (let now = pollMs; now <= opts.durationMs && states.some((s) => s.phase === 'Running'); now += pollMs) {
    // Traffic during this poll period.
    carry += (opts.rps * pollMs) / 1000;
    const n = Math.floor(carry);
    carry -= n;
    cumulative.canary = addCounters(cumulative.canary, simulateCounters(rand, n, opts.canary));
    cumulative.baseline = addCounters(cumulative.baseline, simulateCounters(rand, n, opts.baseline));
    const next = {
      canary: { bootId: 'b1', at: now, counters: cumulative.canary },
      baseline: { bootId: 'b1', at: now, counters: cumulative.baseline },
    };
    deltas.canary.push(counterDelta(prev?.canary ?? { bootId: 'b1', at: 0, counters: emptyCounters() }, next.canary));
    deltas.baseline.push(counterDelta(prev?.baseline ?? { bootId: 'b1', at: 0, counters: emptyCounters() }, next.baseline));
    prev = next;
    // Keep only what the longest window needs (the controller would do the same).
    const keepSince = now - Math.max(...specs.map((x) => x.intervalMs));
    deltas = { canary: deltas.canary.filter((d) => d.to > keepSince), baseline: deltas.baseline.filter((d) => d.to > keepSince) };
    states = states.map((state, i) => {
      const spec = specs[i]!;
      if (spec.hardFailure !== false) {
        const recent = sumDeltas(deltas.canary, now - spec.hardFailure.windowMs);
        state = advanceRun(spec, state, { kind: 'hard-check', judgement: hardFailureCheck(spec, recent)! }, now);
      }
      if (!isMeasurementDue(state, now)) return state;
      const since = now - spec.intervalMs;
      const data = { kind: 'counters' as const, canary: sumDeltas(deltas.canary, since), baseline: sumDeltas(deltas.baseline, since) };
      return advanceRun(spec, state, { kind: 'measurement', judgement: evaluateCheck(spec, data) }, now);
    });
  }
  return states.map((s, i) =>
    s.phase === 'Running' ? advanceRun(specs[i]!, s, { kind: 'stop', reason: 'step ended' }, opts.durationMs) : s,
  );
}

describe('analysis end to end (simulated traffic)', () => {
  test('catches a 5xx canary within 1 s of traffic at 50 req/s (default hard-failure path)', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const [s] = simulate({
        seed,
        rps: 50,
        durationMs: 60_000,
        canary: { medianMs: 30, errorRate: 0.8 },
        baseline: { medianMs: 30 },
        checks: [{ name: 'errors' }],
      });
      assert.equal(s!.phase, 'Failed');
      assert.ok(s!.finishedAt! <= 1000, `seed ${seed}: failed at ${s!.finishedAt} ms`);
      assert.match(s!.reason, /hard failure: \d+ errors in \d+ requests/);
    }
  });

  test('no false alarm: a healthy canary (0.5% errors, same latency as baseline) passes 5 minutes, 30 seeds', () => {
    const healthy: TrafficProfile = { medianMs: 80, errorRate: 0.005 };
    for (let seed = 1; seed <= 30; seed++) {
      const states = simulate({
        seed,
        rps: 50,
        durationMs: 300_000,
        canary: healthy,
        baseline: healthy,
        checks: [{ name: 'errors' }, { name: 'latency', metric: 'latency', compare: 'baseline' }],
      });
      for (const s of states) assert.equal(s.phase, 'Successful', `seed ${seed}: ${s.reason}`);
    }
  });

  test('catches a slow canary: latency +50% fails the baseline comparison while the error check passes', () => {
    const [errors, latency] = simulate({
      seed: 5,
      rps: 50,
      durationMs: 120_000,
      canary: { medianMs: 120, errorRate: 0.002 },
      baseline: { medianMs: 80, errorRate: 0.002 },
      checks: [{ name: 'errors' }, { name: 'latency', metric: 'latency', compare: 'baseline' }],
    });
    assert.equal(latency!.phase, 'Failed');
    assert.equal(latency!.finishedAt, 20_000, 'two failed intervals with failureLimit 1');
    const last = latency!.measurements.at(-1)!;
    assert.ok(last.numbers.pValue! < 0.05 && last.numbers.relativeEffect! > 0.2, JSON.stringify(last.numbers));
    assert.equal(errors!.phase, 'Successful', errors!.reason);
  });

  test('a router restart mid-run neither fails nor confuses the error check', () => {
    const spec = resolveAnalysisSpec({ name: 'errors' });
    const ok = (n: number): PoolCounters => {
      const c = emptyCounters();
      c.requests = n;
      c.byClass['2xx'] = n;
      c.latencyBuckets[5] = n;
      return c;
    };
    const before: CounterSnapshot = { bootId: 'a', at: 0, counters: ok(10_000) };
    const after: CounterSnapshot = { bootId: 'b', at: 10_000, counters: ok(300) };
    const j: Judgement = evaluateCheck(spec, { kind: 'counters', canary: counterDelta(before, after).counters });
    assert.equal(j.verdict, 'pass');
    assert.equal(j.numbers.requests, 300);
  });

  test('1 error in 200 requests against the default max 1% passes', () => {
    const c = emptyCounters();
    c.requests = 200;
    c.byClass['2xx'] = 199;
    c.byClass['5xx'] = 1;
    assert.equal(evaluateCheck(resolveAnalysisSpec({ name: 'errors' }), { kind: 'counters', canary: c }).verdict, 'pass');
  });
});
