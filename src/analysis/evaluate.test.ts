import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { seededRandom, simulateCounters } from './analysis-testing.js';
import { evaluateCheck, hardFailureCheck } from './evaluate.js';
import { resolveAnalysisSpec } from './spec.js';
import { emptyCounters } from './window.js';

describe('evaluateCheck', () => {
  const rand = seededRandom(42);
  const fast = simulateCounters(rand, 400, { medianMs: 40, errorRate: 0.002 });
  const slow = simulateCounters(rand, 400, { medianMs: 400, errorRate: 0.002 });

  test('latency threshold compares the histogram quantile with max', () => {
    const spec = resolveAnalysisSpec({ name: 'p95', metric: 'latency', quantile: 0.95, max: 250 });
    const pass = evaluateCheck(spec, { kind: 'counters', canary: fast });
    assert.equal(pass.verdict, 'pass');
    assert.match(pass.reason, /^p95 latency \(ms\) [\d.]+ is within the max 250 \(400 samples\)$/);
    assert.equal(evaluateCheck(spec, { kind: 'counters', canary: slow }).verdict, 'fail');
    assert.equal(evaluateCheck(spec, { kind: 'counters', canary: emptyCounters() }).verdict, 'inconclusive');
  });

  test('compare and a limit together: the worse verdict wins, numbers prefixed', () => {
    const spec = resolveAnalysisSpec({ name: 'lat', metric: 'latency', compare: 'baseline', max: 10_000 });
    const j = evaluateCheck(spec, { kind: 'counters', canary: slow, baseline: fast });
    assert.equal(j.verdict, 'fail');
    assert.ok('limit.value' in j.numbers && 'baseline.pValue' in j.numbers);
    assert.equal(evaluateCheck(spec, { kind: 'counters', canary: fast, baseline: slow }).verdict, 'pass');
  });

  test('value checks use max/min; a count, when given, must reach minRequests', () => {
    const spec = resolveAnalysisSpec({ name: 'apdex', metric: 'value', min: 0.9 });
    assert.equal(evaluateCheck(spec, { kind: 'value', value: 0.95 }).verdict, 'pass');
    assert.equal(evaluateCheck(spec, { kind: 'value', value: 0.5 }).verdict, 'fail');
    assert.equal(evaluateCheck(spec, { kind: 'value', value: 0.5, samples: 3 }).verdict, 'inconclusive');
  });

  test('a value detail is appended to the reason; no-data is inconclusive for any metric', () => {
    const spec = resolveAnalysisSpec({ name: 'smoke', metric: 'value', min: 1 });
    const j = evaluateCheck(spec, { kind: 'value', value: 0, detail: '127.0.0.1:9 answered 503' });
    assert.equal(j.verdict, 'fail');
    assert.match(j.reason, /below the min 1 .*: 127\.0\.0\.1:9 answered 503$/);
    const none = evaluateCheck(resolveAnalysisSpec({ name: 'errors' }), { kind: 'no-data', reason: 'the query returned no series' });
    assert.deepEqual([none.verdict, none.reason], ['inconclusive', 'errors: the query returned no series']);
  });

  test('data that do not fit the metric are a wiring mistake (TypeError)', () => {
    assert.throws(() => evaluateCheck(resolveAnalysisSpec({ name: 'e' }), { kind: 'value', value: 1 }), TypeError);
    assert.throws(
      () => evaluateCheck(resolveAnalysisSpec({ name: 'l', metric: 'latency', compare: 'baseline' }), { kind: 'counters', canary: fast }),
      TypeError,
    );
  });

  test('hard-failure check is off when hardFailure is false', () => {
    assert.equal(hardFailureCheck(resolveAnalysisSpec({ name: 'e', hardFailure: false }), fast), undefined);
    assert.equal(hardFailureCheck(resolveAnalysisSpec({ name: 'e' }), fast)!.verdict, 'pass');
  });
});
