import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { World, inst, next, startRollout } from './rollout-testing.js';
import type { BlueGreenConfig, StrategyConfig } from '../config/schema.js';
import type { ReleaseShape, RolloutView, TransitionResult } from './types.js';

const bg = (over: Partial<BlueGreenConfig> = {}): BlueGreenConfig => ({
  type: 'blueGreen',
  previewPort: 8081,
  prePromotionAnalysis: ['smoke'],
  autoPromote: false,
  scaleDownDelay: 30_000,
  postPromotionAnalysis: ['errors'],
  ...over,
});
const shape = (release: number, strategy: StrategyConfig): ReleaseShape => ({
  release,
  instances: 2,
  strategy,
  progressDeadlineMs: 60_000,
});

function world(strategy: BlueGreenConfig): World {
  const w = new World({ 1: shape(1, { type: 'rolling', maxSurge: 1, maxUnavailable: 0 }), 2: shape(2, strategy) });
  w.current = 1;
  w.instances = [inst('a', 1), inst('b', 1)];
  return w;
}

function runUntil(
  w: World,
  view: RolloutView,
  t0: number,
  until: (r: TransitionResult) => boolean,
  max = 100,
): { view: RolloutView; result: TransitionResult; t: number } {
  let v = view;
  for (let k = 0; k < max; k++) {
    const t = t0 + k * 1000;
    const result = w.step(v, t);
    v = next(v, result);
    if (until(result)) return { view: v, result, t };
  }
  throw new Error(`condition not reached: ${v.phase} ${JSON.stringify(v.progress)}`);
}

const request = (v: RolloutView, requests: RolloutView['progress']['requests']): RolloutView => ({
  ...v,
  progress: { ...v.progress, requests },
});

describe('blue-green transition', () => {
  it('starts the new release at full size on the preview port, analyses it, waits for promote, switches at once, then scales the old down', () => {
    const w = world(bg());
    const first = runUntil(w, startRollout(1, 2), 0, (r) => r.rollout!.reason === 'Analysing');
    const result = first.result;
    let { view, t } = first;
    assert.equal(w.instances.filter((i) => i.release === 2).length, 2, 'full size beside the old');
    assert.deepEqual(
      result.route.map((r) => r.release),
      [1],
      'users still on the old release',
    );
    assert.equal(result.routing!.previewRelease, 2);
    assert.equal(result.routing!.previewIds!.length, 2);
    assert.deepEqual(
      result.analysis!.map((r) => [r.key, r.openEnd]),
      [['pre:smoke', 'first-pass']],
    );

    w.analysis = { 'pre:smoke': { phase: 'Successful', reason: '5/5 passed' } };
    ({ view, t } = runUntil(w, view, t + 1000, (r) => r.rollout!.reason === 'WaitingForPromotion'));
    assert.equal(view.phase, 'Paused');
    const switched = w.step(request(view, { promote: 'step' }), t + 1000);
    assert.deepEqual(
      switched.route.map((r) => r.release),
      [2],
      'one route update moves every user',
    );
    assert.equal(switched.actions.filter((a) => a.type === 'retire').length, 0, 'the old release stays warm');
    assert.deepEqual(
      switched.analysis!.map((r) => r.key),
      ['post:errors'],
    );
    view = next(request(view, { promote: 'step' }), switched);
    assert.equal(view.progress.requests?.promote, undefined);

    w.analysis['post:errors'] = { phase: 'Successful', reason: 'ok' };
    const warm = runUntil(w, view, t + 2000, (r) => r.rollout!.reason === 'ScalingDown');
    assert.ok(warm.t - (t + 1000) >= 30_000, 'old release kept for the scale-down delay');
    const done = runUntil(w, warm.view, warm.t + 1000, (r) => r.rollout!.finished);
    assert.equal(done.view.phase, 'Healthy');
    assert.equal(done.result.setCurrent, 2);
    assert.ok(w.minServing >= 2);
  });

  it('switches back instantly when post-promotion analysis fails during the scale-down delay', () => {
    const w = world(bg({ prePromotionAnalysis: [], autoPromote: { delayMs: 0 } }));
    const { view, t } = runUntil(w, startRollout(1, 2), 0, (r) => r.route[0]?.release === 2);
    const warmOld = w.instances
      .filter((i) => i.release === 1 && !i.retiring)
      .map((i) => i.id)
      .sort();
    w.analysis = { 'post:errors': { phase: 'Failed', reason: 'error rate 0.4 > 0.01' } };
    const back = w.step(view, t + 1000);
    assert.deepEqual(back.route, [{ release: 1, ids: warmOld }], 'the warm old instances take traffic in the same step, none started');
    assert.equal(back.actions.filter((a) => a.type === 'start').length, 0);
    assert.equal(back.rollout!.reason, 'AnalysisFailed');
    const done = runUntil(w, next(view, back), t + 2000, (r) => r.rollout!.finished);
    assert.equal(done.view.phase, 'RolledBack');
  });

  it('a failed check with onFailure.flagOff asks for its flags off as it switches back', () => {
    const w = world(bg({ prePromotionAnalysis: [], autoPromote: { delayMs: 0 } }));
    const start = {
      ...startRollout(1, 2),
      progress: {
        checks: {
          errors: {
            name: 'errors',
            source: { kind: 'router' as const, metric: 'error-rate' as const },
            spec: {} as never,
            onFailure: { flagOff: ['new-checkout'] },
          },
        },
      },
    };
    const { view, t } = runUntil(w, start, 0, (r) => r.route[0]?.release === 2);
    w.analysis = { 'post:errors': { phase: 'Failed', reason: 'error rate 0.4 > 0.01' } };
    const back = w.step(view, t + 1000);
    assert.deepEqual(back.flags, {
      set: {},
      restore: true,
      off: { flags: ['new-checkout'], why: 'analysis "errors" failed: error rate 0.4 > 0.01' },
    });
  });

  it('`slipway rollback` (an abort request) after the switch goes straight back to the warm release', () => {
    const w = world(bg({ prePromotionAnalysis: [], autoPromote: { delayMs: 0 } }));
    const { view, t } = runUntil(w, startRollout(1, 2), 0, (r) => r.route[0]?.release === 2);
    const back = w.step(request(view, { abort: { by: 'bob', reason: 'rollback requested' } }), t + 1000);
    assert.deepEqual(
      back.route.map((r) => r.release),
      [1],
    );
    assert.equal(back.rollout!.reason, 'SwitchedBack');
  });

  it('promotes by itself after the autoPromote delay', () => {
    const w = world(bg({ prePromotionAnalysis: [], autoPromote: { delayMs: 10_000 } }));
    const waiting = runUntil(w, startRollout(1, 2), 0, (r) => r.rollout!.reason === 'WaitingToPromote');
    const promoted = runUntil(w, waiting.view, waiting.t + 1000, (r) => r.route[0]?.release === 2);
    assert.ok(promoted.t - waiting.t >= 9000);
  });

  it('switches only while the new release is ready in full: an instance lost after the preview (or not yet probed by a restarted controller) holds the switch, a promote asked meanwhile waits', () => {
    for (const strategy of [bg({ autoPromote: { delayMs: 0 } }), bg()]) {
      const w = world(strategy);
      const analysing = runUntil(w, startRollout(1, 2), 0, (r) => r.rollout!.reason === 'Analysing');
      w.analysis = { 'pre:smoke': { phase: 'Successful', reason: '5/5 passed' } };
      w.healthyRelease = (r) => r !== 2;
      const asked = strategy.autoPromote === false ? request(analysing.view, { promote: 'step' }) : analysing.view;
      const held = runUntil(w, asked, analysing.t + 1000, (r) => r.rollout!.reason === 'WaitingForReady');
      for (let k = 0; k < 3; k++) {
        const r = w.step(held.view, held.t + 1000 * (k + 1));
        assert.deepEqual(
          r.route.map((p) => [p.release, p.ids.length]),
          [[1, 2]],
          'the old release keeps every user',
        );
        assert.equal(r.rollout!.reason, 'WaitingForReady');
        assert.match(r.rollout!.message, /release 2 is 0\/2 ready; the switch waits/);
      }
      w.healthyRelease = () => true;
      const switched = runUntil(w, held.view, held.t + 5000, (r) => r.route[0]?.release === 2);
      assert.deepEqual(
        switched.result.route.map((p) => [p.release, p.ids.length]),
        [[2, 2]],
        'the switch moves users to the whole new release',
      );
    }
  });

  it('while the new release is not ready in full before the switch: a failed analysis still rolls back, and the wait ends at the progress deadline', () => {
    const failing = world(bg());
    const a = runUntil(failing, startRollout(1, 2), 0, (r) => r.rollout!.reason === 'Analysing');
    failing.healthyRelease = (r) => r !== 2;
    failing.analysis = { 'pre:smoke': { phase: 'Failed', reason: '2/5 failed' } };
    const undone = runUntil(failing, a.view, a.t + 1000, (r) => r.rollout!.phase === 'RolledBack' || r.rollout!.phase === 'Failed');
    assert.equal(undone.view.phase, 'RolledBack', 'the analysis verdict, not a wait for readiness');

    const stuck = world(bg());
    const b = runUntil(stuck, startRollout(1, 2), 0, (r) => r.rollout!.reason === 'Analysing');
    stuck.analysis = { 'pre:smoke': { phase: 'Successful', reason: '5/5 passed' } };
    stuck.healthyRelease = (r) => r !== 2;
    const waiting = runUntil(stuck, b.view, b.t + 1000, (r) => r.rollout!.reason === 'WaitingForReady');
    const failed = runUntil(
      stuck,
      waiting.view,
      waiting.t + 1000,
      (r) => r.rollout!.phase === 'Failed' || r.rollout!.phase === 'RolledBack',
      200,
    );
    assert.equal(failed.view.phase, 'Failed');
    assert.ok(failed.t - waiting.t >= 60_000, `failed ${failed.t - waiting.t} ms after it stopped being ready, not before the deadline`);
    assert.ok(
      failed.result.route.every((p) => p.release === 1),
      'users stayed on the old release throughout',
    );
  });
});
