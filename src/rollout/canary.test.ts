import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { World, inst, next, startRollout } from './rollout-testing.js';
import { canaryInstances } from './canary.js';
import type { CanaryConfig, StrategyConfig } from '../config/schema.js';
import type { ReleaseShape, RolloutView, TransitionResult } from './types.js';

const canary: CanaryConfig = {
  type: 'canary',
  steps: [{ weight: 10 }, { pause: 30_000 }, { analysis: ['errors'] }, { weight: 50 }, { pause: null }],
  analysis: ['bgerrors'],
  stickiness: 'cookie',
  match: { header: { 'x-canary': 'always' } },
};
const shape = (release: number, strategy: StrategyConfig = canary, instances = 4): ReleaseShape => ({
  release,
  instances,
  strategy,
  progressDeadlineMs: 60_000,
});

function world(healthy: (r: number) => boolean | 'crash' = () => true): World {
  const w = new World({ 1: shape(1, { type: 'rolling', maxSurge: 1, maxUnavailable: 0 }), 2: shape(2) }, healthy);
  w.current = 1;
  w.instances = ['a', 'b', 'c', 'd'].map((id) => inst(id, 1));
  return w;
}

/** Runs steps of 1 s until `until` holds for the result, at most `max` steps. */
function runUntil(
  w: World,
  view: RolloutView,
  t0: number,
  until: (r: TransitionResult, v: RolloutView) => boolean,
  max = 100,
): { view: RolloutView; result: TransitionResult; t: number } {
  let v = view;
  for (let k = 0; k < max; k++) {
    const t = t0 + k * 1000;
    const result = w.step(v, t);
    v = next(v, result);
    if (until(result, v)) return { view: v, result, t };
  }
  throw new Error(`condition not reached: ${JSON.stringify(v.progress)} ${v.phase}`);
}

describe('canary transition', () => {
  it('sizes the canary in proportion to its weight, at least one instance while it gets traffic', () => {
    assert.deepEqual(
      [0, 1, 10, 25, 50, 100].map((w) => canaryInstances(w, 4)),
      [0, 1, 1, 1, 2, 4],
    );
  });

  it('walks a healthy canary through weights, a timed pause, analysis and a manual pause, then promotes to 100%', () => {
    const w = world();
    let { view, result, t } = runUntil(w, startRollout(1, 2), 0, (r) => r.rollout!.reason === 'Pausing');
    assert.deepEqual(w.lastShares, { 1: 0.9, 2: 0.1 });
    assert.equal(w.instances.filter((i) => i.release === 2).length, 1);
    assert.equal(w.instances.filter((i) => i.release === 1 && !i.retiring).length, 4, 'the stable release keeps its capacity');
    assert.deepEqual(result.routing, { canaryRelease: 2, match: { header: { 'x-canary': 'always' } }, stickiness: 'cookie' });
    assert.deepEqual(
      result.analysis!.map((r) => r.key),
      ['bg:bgerrors'],
    );
    assert.equal(view.phase, 'Paused');

    // The timed pause ends by itself after 30 s, then the analysis step waits for its verdict.
    ({ view, result, t } = runUntil(w, view, t + 1000, (r) => r.rollout!.reason === 'Analysing'));
    assert.ok(t >= 30_000);
    assert.deepEqual(
      result.analysis!.map((r) => [r.key, r.openEnd]).sort(),
      [
        ['bg:bgerrors', 'stop'],
        ['step2:errors', 'first-pass'],
      ],
      "the step's run ends on its own; the background one lasts the rollout",
    );
    ({ view, t } = runUntil(w, view, t + 1000, (r) => r.rollout!.reason === 'Analysing', 3));
    w.analysis = { 'step2:errors': { phase: 'Successful', reason: 'ok' }, 'bg:bgerrors': { phase: 'Running', reason: '' } };
    ({ view, t } = runUntil(w, view, t + 1000, (r) => r.rollout!.reason === 'WaitingForPromotion'));
    assert.deepEqual(w.lastShares, { 1: 0.5, 2: 0.5 });
    assert.equal(w.instances.filter((i) => i.release === 2 && !i.retiring).length, 2);

    // A manual pause waits for a person, however long.
    const held = runUntil(w, view, t + 600_000, () => true);
    assert.equal(held.view.phase, 'Paused');
    view = { ...held.view, progress: { ...held.view.progress, requests: { promote: 'step' } } };
    const done = runUntil(w, view, held.t + 1000, (r) => r.rollout!.finished);
    assert.equal(done.view.phase, 'Healthy');
    assert.equal(done.result.setCurrent, 2);
    assert.equal(
      w.instances
        .filter((i) => !i.retiring)
        .map((i) => i.release)
        .join(),
      '2,2,2,2',
    );
    assert.ok(w.minServing >= 4, `capacity dropped to ${w.minServing}`);
  });

  it('sends all traffic back to stable in the very step an analysis fails, then stops the canary', () => {
    const w = world();
    const first = runUntil(w, startRollout(1, 2), 0, (r) => r.rollout!.reason === 'Pausing');
    let view = first.view;
    const t = first.t;
    w.analysis = { 'bg:bgerrors': { phase: 'Failed', reason: 'error rate 0.62 > 0.01 over 120 requests' } };
    const failed = w.step(view, t + 1000);
    assert.deepEqual(
      failed.route.map((r) => r.release),
      [1],
    );
    assert.equal(failed.rollout!.reason, 'AnalysisFailed');
    assert.match(
      failed.rollout!.message,
      /analysis "bgerrors" failed: error rate 0\.62 > 0\.01 over 120 requests; traffic is back on release 1/,
    );
    assert.ok(failed.actions.some((a) => a.type === 'retire'));
    view = next(view, failed);
    ({ view } = runUntil(w, view, t + 2000, (r) => r.rollout!.finished));
    assert.equal(view.phase, 'RolledBack');
    assert.equal(w.instances.filter((i) => !i.retiring && i.release === 2).length, 0);
    assert.equal(w.current, 1);
  });

  it('abort, at any step, returns traffic to stable and stops the canary', () => {
    const w = world();
    const { view, t } = runUntil(w, startRollout(1, 2), 0, (r) => r.rollout!.reason === 'Pausing');
    const aborted = w.step(
      { ...view, progress: { ...view.progress, requests: { abort: { by: 'alice', reason: 'looks off' } } } },
      t + 1000,
    );
    assert.deepEqual(
      aborted.route.map((r) => r.release),
      [1],
    );
    assert.equal(aborted.rollout!.reason, 'Aborted');
    assert.match(aborted.rollout!.message, /aborted by alice: looks off/);
    assert.ok(aborted.consumed!.includes('abort'));
  });

  it('an inconclusive analysis pauses for a person; promote goes on', () => {
    const w = world();
    const first = runUntil(w, startRollout(1, 2), 0, (r) => r.rollout!.reason === 'Analysing');
    let view = first.view;
    const t = first.t;
    w.analysis = { 'step2:errors': { phase: 'Inconclusive', reason: 'only 3 requests (minimum 50)' } };
    const paused = w.step(view, t + 1000);
    assert.equal(paused.rollout!.phase, 'Paused');
    assert.match(paused.rollout!.message, /inconclusive \(only 3 requests \(minimum 50\)\)/);
    view = { ...next(view, paused), progress: { ...next(view, paused).progress, requests: { promote: 'step' } } };
    const promoted = w.step(view, t + 2000);
    assert.equal(promoted.rollout!.reason, 'StepCompleted');
    assert.deepEqual(promoted.consumed, ['promote']);
  });

  it('promote --full skips the remaining steps', () => {
    const w = world();
    const { view, t } = runUntil(w, startRollout(1, 2), 0, (r) => r.rollout!.reason === 'Pausing');
    const done = runUntil(
      w,
      { ...view, progress: { ...view.progress, requests: { promote: 'full' } } },
      t + 1000,
      (r) => r.rollout!.finished,
    );
    assert.equal(done.view.phase, 'Healthy');
    assert.ok(w.minServing >= 4);
  });

  it('a crash-looping canary fails the rollout at once, stable untouched', () => {
    const w = world((r) => (r === 2 ? 'crash' : true));
    const { view, result } = runUntil(w, startRollout(1, 2), 0, (r) => r.rollout!.finished);
    assert.equal(view.phase, 'Failed');
    assert.equal(result.rollout!.reason, 'CrashLoop');
    assert.ok(w.minServing >= 4);
  });

  it('a flag step is a step: the flags it sets hold from then on, and undoing asks for them back and for the failed check’s flags off', () => {
    const flagged: CanaryConfig = {
      ...canary,
      steps: [{ weight: 10 }, { flag: { 'new-checkout': 25 } }, { analysis: ['errors'] }, { flag: { 'new-checkout': 50, theme: 10 } }],
    };
    const w = new World({ 1: shape(1, { type: 'rolling', maxSurge: 1, maxUnavailable: 0 }), 2: shape(2, flagged) });
    w.current = 1;
    w.instances = ['a', 'b', 'c', 'd'].map((id) => inst(id, 1));
    const start = { ...startRollout(1, 2), progress: { checks: { errors: checkWithFlagOff(['kill-me']) } } };
    const first = w.step(start, 0);
    assert.deepEqual(first.flags, { set: {} }, 'nothing set before the flag step');
    const { view, result } = runUntil(w, next(start, first), 1000, (r) => r.rollout!.reason === 'Analysing');
    assert.equal(view.progress.step, 2);
    assert.deepEqual(result.flags, { set: { 'new-checkout': 25 } });
    assert.equal(w.lastShares[2], 0.1, 'a flag step leaves the traffic weight as it was');

    // The step's analysis fails: the rollout is undone, the flags restored and the check's flag switched off.
    w.analysis = { 'step2:errors': { phase: 'Failed', reason: 'error rate 0.2 > 0.01' } };
    const failed = w.step(view, 60_000);
    assert.equal(failed.rollout!.reason, 'AnalysisFailed');
    assert.deepEqual(failed.flags, {
      set: {},
      restore: true,
      off: { flags: ['kill-me'], why: 'analysis "errors" failed: error rate 0.2 > 0.01' },
    });
    // And it keeps saying so while the undo completes (the controller acts once).
    assert.deepEqual(w.step(next(view, failed), 61_000).flags?.off?.flags, ['kill-me']);

    // promote --full passes every flag step: the last one's percentages win.
    w.analysis = {};
    const full = w.step({ ...view, progress: { ...view.progress, requests: { promote: 'full' } } }, 60_000);
    assert.deepEqual(full.flags, { set: { 'new-checkout': 50, theme: 10 } });
  });
});

function checkWithFlagOff(flagOff: string[]): NonNullable<RolloutView['progress']['checks']>[string] {
  return { name: 'errors', source: { kind: 'router', metric: 'error-rate' }, spec: {} as never, onFailure: { flagOff } };
}
