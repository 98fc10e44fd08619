import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { transition } from './transition.js';
import { World, inst, startRollout } from './rollout-testing.js';
import type { Observed, ReleaseShape, TransitionResult } from './types.js';
import type { StrategyConfig } from '../config/schema.js';

const rolling: StrategyConfig = { type: 'rolling', maxSurge: 1, maxUnavailable: 0 };

function shape(release: number, instances = 2, strategy: StrategyConfig = rolling): ReleaseShape {
  return { release, instances, strategy, progressDeadlineMs: 60_000 };
}

describe('rollout transition', () => {
  it('steady state starts the desired instances of the current release and routes only healthy ones', () => {
    const w = new World({ 1: shape(1, 3) });
    w.current = 1;
    const first = w.step(null, 0);
    assert.equal(first.actions.filter((a) => a.type === 'start').length, 3);
    assert.deepEqual(first.route, []);
    const second = w.step(null, 1);
    assert.deepEqual(second.actions, []);
    assert.equal(second.route[0]!.ids.length, 3);
  });

  it('rolling (maxSurge 1, maxUnavailable 0) never serves on fewer than the desired instances', () => {
    const w = new World({ 1: shape(1, 2), 2: shape(2, 2) });
    w.current = 1;
    w.instances = [inst('a', 1), inst('b', 1)];
    const { view, result } = w.run(startRollout(1, 2));
    assert.equal(view.phase, 'Healthy');
    assert.equal(result.setCurrent, 2);
    assert.equal(w.minServing, 2);
    assert.deepEqual(
      w.instances.filter((i) => !i.retiring).map((i) => i.release),
      [2, 2],
    );
    assert.ok(w.instances.length <= 3);
  });

  it('rolling with maxUnavailable 1 and no surge replaces one instance at a time', () => {
    const s: StrategyConfig = { type: 'rolling', maxSurge: 0, maxUnavailable: 1 };
    const w = new World({ 1: shape(1, 3, s), 2: shape(2, 3, s) });
    w.instances = [inst('a', 1), inst('b', 1), inst('c', 1)];
    const first = w.step(startRollout(1, 2), 0);
    assert.deepEqual(
      first.actions.map((a) => a.type),
      ['retire', 'start'],
    );
    assert.equal(first.route[0]!.ids.length, 2);
    const { view } = w.run(startRollout(1, 2));
    assert.equal(view.phase, 'Healthy');
    assert.equal(w.minServing, 2);
  });

  it('a crash-looping release fails at once and the previous release is restored at full capacity', () => {
    const w = new World({ 1: shape(1, 2), 2: shape(2, 2) }, (r) => (r === 2 ? 'crash' : true));
    w.current = 1;
    w.instances = [inst('a', 1), inst('b', 1)];
    const { view, result, steps } = w.run(startRollout(1, 2));
    assert.equal(view.phase, 'Failed');
    assert.equal(result.rollout!.reason, 'CrashLoop');
    assert.match(result.rollout!.message, /exit code 1/);
    assert.equal(result.setCurrent, undefined);
    assert.ok(steps < 6, `failed after ${steps} steps`);
    assert.equal(w.minServing, 2);
    assert.deepEqual(result.route, [{ release: 1, ids: ['a', 'b'] }]);
  });

  it('a release that never turns healthy fails at the progress deadline, naming the instance and its probe', () => {
    const w = new World({ 1: shape(1, 2), 2: { ...shape(2, 2), progressDeadlineMs: 5000 } }, (r) => r === 1);
    w.current = 1;
    w.instances = [inst('a', 1), inst('b', 1)];
    const start = startRollout(1, 2);
    let v = start;
    let last: TransitionResult | undefined;
    for (let t = 0; t <= 20_000 && !last?.rollout?.finished; t += 1000) {
      w.instances = w.instances.map((i) => (i.release === 2 ? { ...i, lastProbe: 'GET /healthz → 503 in 3ms' } : i));
      last = w.step(v, t);
      v = { ...v, phase: last.rollout!.phase, targetRelease: last.rollout!.targetRelease, progress: last.rollout!.progress };
    }
    assert.equal(last!.rollout!.phase, 'Failed');
    assert.equal(last!.rollout!.reason, 'ProgressDeadlineExceeded');
    assert.match(last!.rollout!.message, /within 5s: instance i1 is not healthy \(last probe: GET \/healthz → 503/);
    assert.equal(w.minServing, 2);
    assert.deepEqual(
      w.instances.filter((i) => !i.retiring).map((i) => i.release),
      [1, 1],
    );
  });

  it('a failed first deploy stops its instances and leaves nothing serving', () => {
    const w = new World({ 1: shape(1, 2) }, () => 'crash');
    const { view, result } = w.run(startRollout(null, 1));
    assert.equal(view.phase, 'Failed');
    assert.deepEqual(result.route, []);
    assert.ok(result.actions.every((a) => a.type === 'retire'));
  });

  it('recreate stops the old release completely before starting the new one', () => {
    const s: StrategyConfig = { type: 'recreate' };
    const w = new World({ 1: shape(1, 2, s), 2: shape(2, 2, s) });
    w.instances = [inst('a', 1), inst('b', 1)];
    const first = w.step(startRollout(1, 2), 0);
    assert.deepEqual(
      first.actions.map((a) => a.type),
      ['retire', 'retire'],
    );
    assert.deepEqual(first.route, []);
    const second = w.step(startRollout(1, 2), 1000);
    assert.deepEqual(
      second.actions.map((a) => a.type),
      ['start', 'start'],
    );
    const { view } = w.run(startRollout(1, 2));
    assert.equal(view.phase, 'Healthy');
  });

  it('is safe to re-run: the same observation gives the same decision', () => {
    const obs: Observed = { current: 1, shapes: { 1: shape(1, 2), 2: shape(2, 2) }, instances: [inst('a', 1), inst('b', 1), inst('c', 2)] };
    const v = startRollout(1, 2);
    assert.deepEqual(transition(v, obs, 10), transition(v, obs, 10));
  });

  it('percentages resolve against the desired count', () => {
    const s: StrategyConfig = { type: 'rolling', maxSurge: '50%', maxUnavailable: '0%' };
    const w = new World({ 1: shape(1, 4, s), 2: shape(2, 4, s) });
    w.instances = [inst('a', 1), inst('b', 1), inst('c', 1), inst('d', 1)];
    const first = w.step(startRollout(1, 2), 0);
    assert.equal(first.actions.filter((a) => a.type === 'start').length, 2);
  });
});
