import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { World, inst, next, startRollout } from './rollout-testing.js';
import type { ReleaseShape, RolloutView } from './types.js';
import type { StrategyConfig } from '../config/schema.js';

const rolling: StrategyConfig = { type: 'rolling', maxSurge: 1, maxUnavailable: 0 };
const shape = (release: number, instances = 2): ReleaseShape => ({ release, instances, strategy: rolling, progressDeadlineMs: 60_000 });

function waiting(): RolloutView {
  return {
    ...startRollout(1, 2),
    phase: 'AwaitingApproval',
    progress: { approval: { state: 'pending', command: 'slipway approve 7 --env local', requestedAt: 0 } },
  };
}

function world(): World {
  const w = new World({ 1: shape(1), 2: shape(2) });
  w.current = 1;
  w.instances = [inst('a', 1), inst('b', 1)];
  return w;
}

describe('approval in the rollout engine', () => {
  it('waits in AwaitingApproval for as long as it takes, starting nothing and keeping the serving release whole', () => {
    const w = world();
    let v = waiting();
    for (const now of [0, 1_000, 3_600_000, 86_400_000]) {
      const r = w.step(v, now);
      assert.equal(r.rollout?.phase, 'AwaitingApproval');
      assert.equal(r.rollout?.finished, false);
      assert.match(r.rollout!.message, /release 2 waits for approval; approve with `slipway approve 7 --env local`/);
      assert.deepEqual(r.actions, [], 'nothing started, nothing retired');
      assert.deepEqual(
        r.route.map((p) => [p.release, p.ids.length]),
        [[1, 2]],
      );
      v = next(v, r);
    }
  });

  it('heals the serving release while it waits (a missing instance is started again)', () => {
    const w = world();
    w.instances = [inst('a', 1)];
    const r = w.step(waiting(), 0);
    assert.deepEqual(r.actions, [{ type: 'start', release: 1 }]);
  });

  it('once approved, rolls out, with its deadline counted from the approval rather than from the request', () => {
    const w = world();
    const approvedAt = 10 * 3_600_000; // ten hours after the request, far past the 60 s deadline
    const v: RolloutView = {
      ...waiting(),
      progress: { approval: { state: 'approved', command: 'x', requestedAt: 0, by: 'alice', comment: 'ok', at: approvedAt } },
    };
    let view = v;
    for (let k = 0; k < 20 && view.phase !== 'Healthy' && view.phase !== 'Failed'; k++)
      view = next(view, w.step(view, approvedAt + k * 1000));
    assert.equal(view.phase, 'Healthy', JSON.stringify(view));
    assert.equal(w.current, 2);
  });

  it('rejected: ends Failed (Rejected) with who and why, without touching the serving release', () => {
    const w = world();
    const v: RolloutView = {
      ...waiting(),
      progress: { approval: { state: 'rejected', command: 'x', requestedAt: 0, by: 'bob', comment: 'not during the sale', at: 5 } },
    };
    const r = w.step(v, 10);
    assert.deepEqual([r.rollout?.phase, r.rollout?.reason, r.rollout?.finished], ['Failed', 'Rejected', true]);
    assert.equal(r.rollout?.message, 'release 2 was rejected by bob: not during the sale; release 1 goes on serving, untouched');
    assert.deepEqual(r.actions, []);
    assert.equal(r.setCurrent, undefined);
    assert.deepEqual(
      r.route.map((p) => [p.release, p.ids.length]),
      [[1, 2]],
    );
  });

  it('aborted while waiting: ends at once, nothing started', () => {
    const w = world();
    const v: RolloutView = {
      ...waiting(),
      progress: { ...waiting().progress, requests: { abort: { by: 'carol', reason: 'wrong build' } } },
    };
    const r = w.step(v, 10);
    assert.deepEqual([r.rollout?.phase, r.rollout?.reason], ['Failed', 'Aborted']);
    assert.match(r.rollout!.message, /aborted by carol: wrong build while it waited for approval/);
    assert.deepEqual(r.consumed, ['abort', 'promote', 'pause']);
  });
});
