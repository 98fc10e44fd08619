import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { World, inst } from './rollout-testing.js';
import { transition } from './transition.js';
import type { ReleaseShape, RolloutView } from './types.js';
import type { StrategyConfig } from '../config/schema.js';

const rolling: StrategyConfig = { type: 'rolling', maxSurge: 1, maxUnavailable: 0 };
const shape = (instances: number, strategy: StrategyConfig = rolling): ReleaseShape => ({
  release: 1,
  instances,
  strategy,
  progressDeadlineMs: 10_000,
});

function view(kind: 'restart' | 'scale', progress: RolloutView['progress']): RolloutView {
  return { kind, phase: 'Progressing', fromRelease: 1, toRelease: 1, targetRelease: 1, startedAt: 0, progress };
}

function world(n: number, s = shape(n), healthy: (r: number) => boolean | 'crash' = () => true): World {
  const w = new World({ 1: s }, healthy);
  w.current = 1;
  w.instances = Array.from({ length: n }, (_, k) => inst(`old${k}`, 1));
  return w;
}

describe('restart and scale rollouts (same release)', () => {
  it('restart replaces every instance, new ones first: never fewer than desired serving, never more than desired + surge', () => {
    const w = world(3);
    const first = w.step(view('restart', { replace: ['old0', 'old1', 'old2'] }), 0);
    // Not "nothing to do" although release 1 is already current and at its count.
    assert.deepEqual(first.actions, [{ type: 'start', release: 1 }]);
    const { view: end, result } = w.run(view('restart', { replace: ['old0', 'old1', 'old2'] }));
    assert.equal(end.phase, 'Healthy');
    assert.equal(result.rollout!.message, 'release 1 restarted: 3 new healthy instance(s)');
    assert.equal(w.minServing, 3);
    assert.deepEqual(
      w.instances
        .filter((i) => !i.retiring)
        .map((i) => i.id)
        .filter((id) => id.startsWith('old')),
      [],
    );
    assert.equal(w.instances.filter((i) => !i.retiring).length, 3);
  });

  it('restart with nothing to replace (scaled to 0) is done at once', () => {
    const w = new World({ 1: shape(0) });
    w.current = 1;
    assert.equal(w.run(view('restart', { replace: [] })).view.phase, 'Healthy');
  });

  it('scale grows by starting instances and shrinks by retiring the extra ones (routed away in the same step)', () => {
    const up = world(2);
    const { view: grown } = up.run(view('scale', { instances: 5 }));
    assert.equal(grown.phase, 'Healthy');
    assert.equal(up.instances.filter((i) => !i.retiring).length, 5);
    assert.equal(up.minServing, 2);

    const down = world(4);
    const step = down.step(view('scale', { instances: 1 }), 0);
    const retired = step.actions.filter((a) => a.type === 'retire').map((a) => (a as { id: string }).id);
    assert.equal(retired.length, 3);
    assert.deepEqual(
      step.route.flatMap((r) => r.ids).filter((id) => retired.includes(id)),
      [],
      'a retiring instance still gets traffic',
    );
    assert.equal(down.run(view('scale', { instances: 1 })).view.phase, 'Healthy');
  });

  it('a restart whose new instances crash-loop fails, stops them and leaves the old ones serving', () => {
    const crashed = inst('new0', 1, {
      state: 'failed',
      healthy: false,
      restarts: 3,
      lastExit: { code: 3, signal: null, at: 900, uptimeMs: 10 },
    });
    const r = transition(
      view('restart', { replace: ['old0', 'old1'] }),
      { current: 1, shapes: { 1: shape(2) }, instances: [inst('old0', 1), inst('old1', 1), crashed] },
      1000,
    );
    assert.equal(r.rollout!.phase, 'Failed');
    assert.equal(r.rollout!.reason, 'CrashLoop');
    assert.match(
      r.rollout!.message,
      /^restart of release 1 failed: release 1 crash-loops: instance new0 exited 4 times in a row \(last: exit code 3\)/,
    );
    assert.deepEqual(r.actions, [{ type: 'retire', id: 'new0', reason: 'restart failed' }]);
    assert.deepEqual(r.route, [{ release: 1, ids: ['old0', 'old1'] }]);
  });

  it('abort ends a scale at once, with the request consumed', () => {
    const w = world(2);
    const r = w.step(view('scale', { instances: 4, requests: { abort: { by: 'ann', reason: 'too many' } } }), 0);
    assert.equal(r.rollout!.phase, 'RolledBack');
    assert.equal(r.rollout!.reason, 'Aborted');
    assert.match(r.rollout!.message, /scaling release 1 to 4 instance\(s\) aborted by ann: too many/);
    assert.deepEqual(r.consumed, ['abort', 'promote', 'pause']);
  });
});
