/**
 * Property test of every renderer of recorded rollouts, analysis measurements and statuses: for
 * thousands of generated records with fields missing, null, zero, NaN, ±Infinity, huge, negative,
 * or text carrying terminal escapes, rendering never throws and never prints "NaN", "undefined",
 * "null", "Infinity" or a raw control character. Seeded, so a failure names its seed and repeats.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../core/seeded-random.js';
import type {
  AnalysisView,
  HistoryResponse,
  InstanceView,
  RolloutResponse,
  RolloutView,
  ServiceStatus,
  StatusResponse,
  TrafficView,
} from '../../api/types.js';
import type { StrategyConfig } from '../../config/schema.js';
import { rolloutView } from '../../controller/status.js';
import type { Rollout } from '../../store/types.js';
import { renderHistory } from './history.js';
import { outcomeLines, progressLine } from './rollout.js';
import { renderStatus } from './status.js';
import { ago, analysisLabel, formatNumbers, measured, num, percent } from './format.js';

class Gen {
  constructor(readonly next: () => number) {}
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  int(max: number): number {
    return Math.floor(this.next() * max);
  }

  /** Missing, null, zero, NaN, infinities, huge and tiny, negative, and ordinary numbers. */
  number(): number {
    return this.pick(NUMBERS) as number;
  }
  text(): string {
    return this.pick(TEXTS) as string;
  }
  maybe<T>(make: () => T): T {
    return (this.chance(0.15) ? this.pick([undefined, null]) : make()) as T;
  }
  list<T>(make: () => T, max = 4): T[] {
    return this.maybe(() => Array.from({ length: this.int(max + 1) }, () => (this.chance(0.05) ? (null as T) : make())));
  }

  numbers(): Record<string, number> {
    return this.maybe(() =>
      Object.fromEntries(
        Array.from({ length: this.int(6) }, () => [
          this.pick(['rate', 'requests', 'errors', 'value', 'samples', 'pValue', 'max', 'x\x1b[31m']),
          this.number(),
        ]),
      ),
    );
  }

  analysis(): AnalysisView {
    return {
      key: this.maybe(() =>
        this.pick(['step0:errors', 'step12:latency', 'bg:errors', 'pre:smoke', 'post:latency', 'odd', '', 'step:', 'x:y:z']),
      ),
      check: this.maybe(() => this.text()),
      phase: this.maybe(() => this.pick(['Running', 'Successful', 'Failed', 'Inconclusive', 'Error'] as const)),
      reason: this.maybe(() => this.text()),
      counts: this.maybe(() => ({ passed: this.number(), failed: this.number(), inconclusive: this.number(), errors: this.number() })),
      last: this.maybe(() => ({
        at: this.number(),
        verdict: this.maybe(() => this.pick(['pass', 'fail', 'inconclusive', 'error'])),
        reason: this.maybe(() => this.text()),
        numbers: this.numbers(),
      })),
    };
  }

  rollout(): RolloutView {
    const r: RolloutView = {
      id: this.number(),
      kind: this.maybe(() => this.pick(['deploy', 'rollback'] as const)),
      fromRelease: this.number(),
      toRelease: this.number(),
      targetRelease: this.number(),
      phase: this.maybe(() => this.pick(['Progressing', 'Paused', 'Healthy', 'Degraded', 'RolledBack', 'Failed'] as const)),
      reason: this.maybe(() => this.text()),
      message: this.maybe(() => this.text()),
      desired: this.number(),
      ready: this.number(),
      startedAt: this.number(),
      finishedAt: this.number(),
      strategy: this.maybe(() => this.pick(['rolling', 'canary', 'blueGreen'])),
      analysis: this.list(() => this.analysis()),
    };
    if (this.chance(0.5)) Object.assign(r, { step: this.number(), steps: this.pick([...NUMBERS, 5]), weight: this.number() });
    if (this.chance(0.3))
      Object.assign(r, { stage: this.maybe(() => this.pick(['Preview', 'PrePromotion', 'AwaitingPromotion', 'Promoted'])) });
    if (this.chance(0.3)) Object.assign(r, { previewUrl: this.maybe(() => this.text()) });
    return r;
  }

  traffic(): TrafficView {
    return { release: this.number(), backends: this.number(), share: this.number(), requests: this.number(), errors5xx: this.number() };
  }

  instance(): InstanceView {
    return {
      id: this.maybe(() => this.text()),
      release: this.number(),
      state: this.maybe(() => this.pick(['starting', 'running', 'failed', 'stopped'] as InstanceView['state'][])),
      healthy: this.maybe(() => this.chance(0.5)),
      retiring: this.maybe(() => this.chance(0.5)),
      pid: this.number(),
      port: this.number(),
      restarts: this.number(),
      startedAt: this.number(),
      lastExit: this.maybe(
        () =>
          ({
            code: this.maybe(() => this.number()),
            signal: this.maybe(() => this.pick(['SIGKILL', 'SIGTERM'])),
          }) as InstanceView['lastExit'],
      ),
      lastProbe: this.maybe(() => this.text()),
      logTail: this.list(() => this.text()),
    };
  }

  service(): ServiceStatus {
    return {
      service: this.maybe(() => this.text()),
      url: this.maybe(() => this.text()),
      health: this.maybe(() => this.pick(['Healthy', 'Progressing', 'Degraded', 'Down', 'NotDeployed'] as const)),
      currentRelease: this.number(),
      desired: this.number(),
      rollout: this.maybe(() => this.rollout()),
      instances: this.list(() => this.instance()),
      traffic: this.list(() => this.traffic()),
      drift: this.maybe(() => ({
        state: this.maybe(() => this.pick(['unchanged', 'changed', 'rolled-back', 'not-deployed', 'removed', 'unknown'] as const)),
        config: this.chance(0.5),
        source: this.maybe(() => this.chance(0.5)),
        servingRelease: this.number(),
        servingConfigHash: this.maybe(() => this.text()),
        configHash: this.maybe(() => this.text()),
        describes: this.number(),
        message: this.maybe(() => this.text()),
      })),
    };
  }

  /** A rollout record as the store holds it, including progress written by older versions or half-written. */
  stored(): Rollout {
    const run = () =>
      this.maybe(() => ({
        phase: this.pick(['Running', 'Successful', 'Failed', 'Inconclusive', 'Error']),
        reason: this.maybe(() => this.text()),
        counts: this.maybe(() => ({ passed: this.number(), failed: this.number() })),
        measurements: this.list(() => ({
          at: this.number(),
          verdict: this.pick(['pass', 'fail', 'inconclusive', 'error']),
          reason: this.maybe(() => this.text()),
          numbers: this.numbers(),
        })),
      }));
    return {
      id: this.number(),
      environment: 'local',
      service: this.text(),
      kind: this.pick(['deploy', 'rollback'] as const),
      fromRelease: this.number(),
      toRelease: this.number(),
      targetRelease: this.number(),
      phase: this.pick(['Progressing', 'Paused', 'Healthy', 'Degraded', 'RolledBack', 'Failed'] as const),
      reason: this.text(),
      message: this.text(),
      progress: this.maybe(() => ({
        desired: this.number(),
        ready: this.number(),
        step: this.number(),
        weight: this.number(),
        stage: this.maybe(() => 'PrePromotion'),
        analysis: this.maybe(() => Object.fromEntries(Array.from({ length: this.int(4) }, (_, i) => [`step${i}:errors`, run()]))),
      })),
      startedAt: this.number(),
      updatedAt: this.number(),
      finishedAt: this.number(),
    };
  }

  strategy(): StrategyConfig | undefined {
    return this.pick([
      undefined,
      { type: 'canary', steps: [{ weight: 10 }, { pause: 1000 }, { analysis: ['errors'] }], analysis: [] },
      {
        type: 'blueGreen',
        previewPort: 9090,
        prePromotionAnalysis: [],
        postPromotionAnalysis: [],
        autoPromote: false,
        scaleDownDelay: 30000,
      },
      { type: 'rolling', maxSurge: 1, maxUnavailable: 0 },
    ] as unknown as (StrategyConfig | undefined)[]);
  }
}

const NUMBERS: readonly unknown[] = [
  undefined,
  null,
  0,
  -0,
  NaN,
  Infinity,
  -Infinity,
  1e308,
  -1e308,
  5e-324,
  Number.MAX_SAFE_INTEGER,
  -5,
  0.5,
  1,
  3,
  12345.678,
];
const TEXTS: readonly unknown[] = [
  undefined,
  null,
  '',
  'web',
  'a line\nand another',
  'x'.repeat(400),
  'deploy \x1b]0;pwned\x07 now \x1b[2J\u009b31m',
  'ünïcødé ✓ 発行',
  '\t tabbed',
];

// Words a renderer prints when it formats a missing value or a non-number blindly.
const LEAKS = /\bNaN\b|\bundefined\b|\bnull\b|Infinity|\[object Object\]/;
// eslint-disable-next-line no-control-regex -- the point: no raw control characters but newline
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;
const plain = { paint: (_c: string, t: string) => t };

function check(seed: number, what: string, render: () => string[] | string): void {
  let out: string;
  try {
    const r = render();
    out = Array.isArray(r) ? r.join('\n') : r;
  } catch (err) {
    assert.fail(`${what} threw with seed ${seed}: ${(err as Error).stack}`);
  }
  assert.doesNotMatch(out, LEAKS, `${what}, seed ${seed}:\n${out}`);
  assert.doesNotMatch(out, CONTROL, `${what}, seed ${seed}: raw control character in\n${JSON.stringify(out)}`);
}

const RUNS = 1500;

describe('renderers are total over recorded data', () => {
  it('status, history, the progress line and the outcome never throw nor print NaN/undefined/null', () => {
    for (let seed = 1; seed <= RUNS; seed++) {
      const g = new Gen(seededRandom(seed));
      const services = g.list(() => g.service(), 3) ?? [];
      const res = {
        app: g.maybe(() => g.text()),
        environment: g.maybe(() => g.text()),
        controller: g.maybe(() => ({ pid: g.number(), startedAt: g.number() })),
        router: g.maybe(() => ({
          up: g.chance(0.5),
          pid: g.maybe(() => g.number()),
          workerPid: g.maybe(() => g.number()),
          restarts: g.number(),
          workerRestarts: g.number(),
          lastProblem: g.maybe(() => g.text()),
          routeProblems: [],
        })),
        services,
      } as StatusResponse;
      check(seed, 'renderStatus', () => renderStatus(res, services.filter(Boolean), plain, 1e12));
      const history = {
        service: g.maybe(() => g.text()),
        rollouts: g.list(() => g.rollout()),
        releases: g.list(() => ({
          number: g.number(),
          digest: g.maybe(() => g.pick(['sha256:abc', 'sha256:' + 'f'.repeat(64)])),
          configHash: '',
          message: g.maybe(() => g.text()),
          createdBy: g.maybe(() => g.text()),
          createdAt: g.number(),
          outcome: g.maybe(() => g.pick(['live', 'failed'])),
          current: g.chance(0.5),
          pruned: g.chance(0.5),
          rollbackOf: g.number(),
        })),
      } as HistoryResponse;
      check(seed, 'renderHistory', () => renderHistory(history, plain, 1e12));
      const rr = { rollout: g.rollout(), service: g.maybe(() => g.service()) } as RolloutResponse;
      for (const live of [true, false]) check(seed, `progressLine(live=${live})`, () => progressLine(rr, plain, { live }));
      for (const success of ['Healthy', 'RolledBack'] as const)
        check(seed, `outcomeLines(${success})`, () => outcomeLines(rr, plain, success).lines);
    }
  });

  it("the controller's rollout view is total over stored records, and what it gives renders", () => {
    for (let seed = 1; seed <= RUNS; seed++) {
      const g = new Gen(seededRandom(seed));
      let view: RolloutView;
      try {
        view = rolloutView(g.stored(), g.strategy());
      } catch (err) {
        assert.fail(`rolloutView threw with seed ${seed}: ${(err as Error).stack}`);
      }
      check(seed, 'status of a stored rollout', () =>
        renderStatus(
          {
            app: 'a',
            environment: 'local',
            controller: { pid: 1, startedAt: 0 },
            router: { up: true, pid: 2, workerPid: 3, restarts: 0, workerRestarts: 0, lastProblem: null, routeProblems: [] },
            services: [],
          },
          [{ ...new Gen(seededRandom(seed)).service(), rollout: view }],
          plain,
          1e12,
        ),
      );
      check(seed, 'progress of a stored rollout', () =>
        progressLine({ rollout: view, service: new Gen(seededRandom(seed + 1)).service() }, plain),
      );
    }
  });

  it('formats the numbers people read', () => {
    assert.equal(
      formatNumbers({ rate: 0.123456, requests: 0, errors: NaN, p: null, big: 1e300, inf: Infinity }),
      'rate=0.1235 requests=0 errors=- p=- big=1e+300 inf=∞',
    );
    assert.equal(formatNumbers(null), '');
    assert.equal(measured(2 / 3), '0.6667');
    assert.equal(num(-Infinity), '-∞');
    assert.equal(percent(0.255), '26%');
    assert.equal(percent(NaN), '-');
    assert.equal(ago(NaN), '-');
    assert.equal(ago(1e12 - 90_000, 1e12), '1m ago');
    assert.equal(analysisLabel('step2:errors', 5), 'step 3/5 errors');
    assert.equal(analysisLabel('bg:latency'), 'background latency');
    assert.equal(analysisLabel('pre:smoke'), 'pre-promotion smoke');
  });
});
