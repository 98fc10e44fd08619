import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../core/clock.js';
import { LATENCY_BUCKETS_MS, type RouterStats } from '../router/types.js';
import type { MetricData } from './evaluate.js';
import { ProviderRegistry, type ProviderContext } from './provider.js';
import { routerProvider } from './providers/router-provider.js';
import type { AnalysisRunState } from './run.js';
import { AnalysisRunner, type RunRequest } from './runner.js';
import { resolveAnalysisSpec, type AnalysisSpecInput } from './spec.js';

/** A scripted router: cumulative counters per release, moved by the test. No network. */
class ScriptedRouter {
  bootId = 'boot-1';
  failing: string | undefined;
  private pools = new Map<number, { requests: number; ok: number; errors: number }>();

  traffic(release: number, requests: number, errors = 0): void {
    const p = this.pools.get(release) ?? { requests: 0, ok: 0, errors: 0 };
    this.pools.set(release, { requests: p.requests + requests, ok: p.ok + requests - errors, errors: p.errors + errors });
  }

  /** The router process restarted: a new bootId, counters from zero. */
  restart(): void {
    this.bootId = `${this.bootId}'`;
    this.pools.clear();
  }

  stats = async (): Promise<RouterStats> => {
    if (this.failing !== undefined) throw new Error(this.failing);
    const buckets = () => new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
    const pools = [...this.pools].map(([release, p]) => {
      const latencyBuckets = buckets();
      latencyBuckets[5] = p.requests; // all in 25–50 ms
      return {
        release,
        requests: p.requests,
        byClass: { '1xx': 0, '2xx': p.ok, '3xx': 0, '4xx': 0, '5xx': p.errors },
        latencyBuckets,
        latencySumMs: 40 * p.requests,
        inFlight: 0,
      };
    });
    return { bootId: this.bootId, services: [{ service: 'web', pools, inFlightByBackend: {} }] };
  };
}

function setup() {
  const clock = new ManualClock(0);
  const router = new ScriptedRouter();
  const context: ProviderContext = { stats: router.stats, endpoints: () => [], clock };
  return { clock, router, context };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Moves the clock `ms` forward in `step`s, letting the runner's loops run after each step. */
async function advance(clock: ManualClock, ms: number, step = 50, eachStep?: () => void): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    eachStep?.();
    clock.advance(step);
    await flush();
  }
}

function request(key: string, spec: AnalysisSpecInput, release = 2, baseline: number | null = 1): RunRequest {
  return {
    key,
    check: { name: spec.name, source: { kind: 'router', metric: 'error-rate' }, spec: resolveAnalysisSpec(spec) },
    service: 'web',
    release,
    baseline,
  };
}

describe('AnalysisRunner', () => {
  test('fails a mostly-5xx canary through the hard-failure fast path within a second of traffic', async () => {
    // Given a default error check (10 s intervals) and a canary that starts answering 80% 5xx at 50 req/s
    const { clock, router, context } = setup();
    const runner = new AnalysisRunner(context);
    runner.reconcile([request('r', { name: 'errors' })]);
    await flush();
    await advance(clock, 1000, 50, () => router.traffic(1, 5));
    assert.equal(runner.states().r!.phase, 'Running', 'no traffic to the canary, no verdict');
    const trafficStart = clock.now();
    let failedAt: number | undefined;
    // When the traffic flows (5 requests, 4 of them errors, every 100 ms)
    for (let i = 0; i < 40 && failedAt === undefined; i++) {
      if (i % 2 === 0) router.traffic(2, 5, 4);
      clock.advance(50);
      await flush();
      if (runner.states().r!.phase === 'Failed') failedAt = clock.now();
    }
    // Then the run fails long before the first 10 s interval, from a hard check
    assert.ok(failedAt !== undefined, 'the run did not fail within 2 s');
    assert.ok(failedAt - trafficStart <= 1000, `failed ${failedAt - trafficStart} ms after the traffic started`);
    const last = runner.states().r!.measurements.at(-1)!;
    assert.equal(last.hard, true);
    assert.match(runner.states().r!.reason, /^hard failure: \d+ errors in \d+ requests/);
    await runner.stop();
  });

  test('passes a healthy canary after count measurements, measuring each interval alone', async () => {
    const { clock, router, context } = setup();
    const runner = new AnalysisRunner(context);
    const seen: AnalysisRunState[] = [];
    runner.onChange((key, state) => {
      if (key === 'ok') seen.push(state);
    });
    runner.reconcile([request('ok', { name: 'errors', count: 3, intervalMs: 1000 })]);
    await flush();
    // 100 req/s, 1 error in every 500 requests: within the 1% max
    let n = 0;
    await advance(clock, 3500, 50, () => router.traffic(2, 5, ++n % 100 === 0 ? 1 : 0));
    const s = runner.states().ok!;
    assert.equal(s.phase, 'Successful', s.reason);
    assert.equal(s.counts.passed, 3);
    assert.deepEqual(
      s.measurements.map((m) => m.numbers.requests),
      [100, 100, 100],
      'each measurement covers its own interval',
    );
    assert.equal(s.finishedAt, 3000);
    assert.equal(seen.at(-1), s, 'listeners saw the final state');
    assert.equal(seen.filter((x) => x.measurements.length > 0).length, 3, 'one change per measurement');
    await runner.stop();
  });

  test('survives a router restart between readings (counts since the restart)', async () => {
    const { clock, router, context } = setup();
    const runner = new AnalysisRunner(context);
    runner.reconcile([request('r', { name: 'errors', intervalMs: 1000, hardFailure: false })]);
    await flush();
    router.traffic(2, 500);
    await advance(clock, 1000);
    router.restart();
    router.traffic(2, 60, 30);
    await advance(clock, 1000);
    const [first, second] = runner.states().r!.measurements;
    assert.deepEqual([first!.numbers.requests, first!.verdict], [500, 'pass']);
    assert.deepEqual([second!.numbers.requests, second!.numbers.errors, second!.verdict], [60, 30, 'fail']);
    await runner.stop();
  });

  test('provider errors end the run in Error after consecutiveErrorLimit, quoting the last', async () => {
    const { clock, router, context } = setup();
    router.failing = 'connect ECONNREFUSED 127.0.0.1:7070';
    const runner = new AnalysisRunner(context);
    runner.reconcile([request('e', { name: 'errors', intervalMs: 1000, consecutiveErrorLimit: 2 })]);
    await flush();
    await advance(clock, 2000);
    assert.equal(runner.states().e!.phase, 'Running');
    assert.equal(runner.states().e!.counts.consecutiveErrors, 2);
    await advance(clock, 1000);
    const s = runner.states().e!;
    assert.equal(s.phase, 'Error');
    assert.match(s.reason, /^3 provider errors in a row \(limit 2\); last: connect ECONNREFUSED 127\.0\.0\.1:7070$/);
    await runner.stop();
  });

  test('a run no longer desired is stopped, readable until the next reconcile drops it', async () => {
    const { clock, router, context } = setup();
    const runner = new AnalysisRunner(context);
    runner.reconcile([request('a', { name: 'errors', intervalMs: 1000 }), request('b', { name: 'errors', intervalMs: 1000 })]);
    await flush();
    await advance(clock, 2000, 50, () => {
      router.traffic(2, 5);
      router.traffic(1, 5);
    });
    runner.reconcile([request('b', { name: 'errors', intervalMs: 1000 })]);
    const a = runner.states().a!;
    assert.equal(a.phase, 'Successful');
    assert.match(a.reason, /^the analysis step ended: 2 passed, 0 failed/);
    await advance(clock, 1000, 50, () => router.traffic(2, 5));
    assert.equal(runner.states().a, a, 'a stopped run measures no more');
    assert.equal(runner.states().b!.counts.passed, 3);
    runner.reconcile([request('b', { name: 'errors', intervalMs: 1000 })]);
    assert.deepEqual(Object.keys(runner.states()), ['b']);
    await runner.stop();
  });

  test('a restarted runner resumes a persisted run', async () => {
    const { clock, router, context } = setup();
    const persisted: Record<string, AnalysisRunState> = {};
    const req = request('r', { name: 'errors', intervalMs: 1000, count: 4 });
    const first = new AnalysisRunner(context);
    first.onChange((key, state) => {
      persisted[key] = state;
    });
    first.reconcile([req]);
    await flush();
    await advance(clock, 2000, 50, () => router.traffic(2, 5));
    await first.stop();
    assert.deepEqual([persisted.r!.phase, persisted.r!.counts.passed], ['Running', 2], 'stop() leaves states as they were');

    // The controller was down for 500 ms; a new runner picks the run up where it was
    await advance(clock, 500, 50, () => router.traffic(2, 5));
    const second = new AnalysisRunner(context);
    second.reconcile([req], persisted);
    await flush();
    assert.equal(second.states().r!.startedAt, 0);
    await advance(clock, 950, 50, () => router.traffic(2, 5));
    assert.equal(second.states().r!.counts.passed, 2, 'the first interval after a resume collects traffic first');
    await advance(clock, 1100, 50, () => router.traffic(2, 5));
    const s = second.states().r!;
    assert.equal(s.phase, 'Successful', s.reason);
    assert.equal(s.counts.passed, 4);
    assert.equal(s.measurements[2]!.numbers.requests, 100, 'the resumed interval counts only traffic it saw');
    await second.stop();
  });

  test('a slow provider delays only its own run, and never measures twice at once', async () => {
    const { clock, router, context } = setup();
    let inFlight = 0;
    let maxInFlight = 0;
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const registry = new ProviderRegistry().register('router', routerProvider).register('command', () => ({
      windowed: false,
      async start() {},
      async measure(): Promise<MetricData> {
        calls++;
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await gate;
        inFlight--;
        return { kind: 'value', value: 1 };
      },
    }));
    const runner = new AnalysisRunner(context, registry);
    const slow: RunRequest = {
      key: 'slow',
      service: 'web',
      release: 2,
      baseline: 1,
      check: {
        name: 'cmd',
        source: { kind: 'command', command: 'true', timeoutMs: 1000 },
        spec: resolveAnalysisSpec({ name: 'cmd', metric: 'value', intervalMs: 100 }),
      },
    };
    runner.reconcile([slow, request('fast', { name: 'errors', intervalMs: 100, minRequests: 5 })]);
    await flush();
    await advance(clock, 1000, 50, () => router.traffic(2, 5));
    assert.equal(calls, 1, 'the slow run waits for its measurement');
    assert.equal(runner.states().slow!.measurements.length, 0);
    assert.equal(runner.states().fast!.measurements.length, 10, 'the other run kept measuring');
    release();
    await flush();
    await advance(clock, 100);
    assert.equal(maxInFlight, 1);
    const m = runner.states().slow!.measurements;
    assert.ok(m.length >= 1 && m[0]!.verdict === 'pass', 'min 1 is implied for a pass/fail command');
    await runner.stop();
  });
});
