import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { SqliteStore } from '../store/sqlite-store.js';
import type { RolloutKind, RolloutPhase } from '../store/types.js';
import { scaleOverride } from './maintenance.js';

describe('scaleOverride: the count `slipway scale` set, read back from the rollouts', () => {
  let store: SqliteStore;
  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    await store.migrate();
  });
  afterEach(() => store.close());

  async function rollout(kind: RolloutKind, to: number, phase: RolloutPhase, progress: Record<string, unknown> = {}): Promise<number> {
    const r = await store.createRollout({
      environment: 'local',
      service: 'web',
      kind,
      fromRelease: to,
      toRelease: to,
      targetRelease: to,
      phase: 'Progressing',
      reason: 'Started',
      message: '',
      progress,
      startedAt: 1,
    });
    await store.updateRollout(r.id, { phase, finishedAt: 2 }, 2);
    return r.id;
  }
  const read = (current: number | null) => scaleOverride(store, 'local', 'web', current);

  it('none before any scale, and none for a service never deployed', async () => {
    assert.equal(await read(null), undefined);
    await rollout('deploy', 1, 'Healthy');
    assert.equal(await read(1), undefined);
  });

  it('a completed scale of the serving release sets it; failed and aborted rollouts pass over', async () => {
    await rollout('deploy', 1, 'Healthy');
    const id = await rollout('scale', 1, 'Healthy', { instances: 4 });
    await rollout('scale', 1, 'RolledBack', { instances: 9 });
    await rollout('deploy', 2, 'Failed');
    assert.deepEqual(await read(1), { instances: 4, rolloutId: id });
  });

  it('kept by any number of restarts (each carries it), ended by a completed deploy or rollback', async () => {
    await rollout('deploy', 1, 'Healthy');
    await rollout('scale', 1, 'Healthy', { instances: 3 });
    let last = 0;
    for (let k = 0; k < 120; k++) last = await rollout('restart', 1, 'Healthy', { instances: 3, replace: [] });
    assert.deepEqual(await read(1), { instances: 3, rolloutId: last });
    await rollout('deploy', 2, 'Healthy');
    assert.equal(await read(2), undefined);
    await rollout('rollback', 1, 'Healthy');
    assert.equal(await read(1), undefined, 'a scale of release 1 does not come back with a rollback to it');
  });

  it("a restart without a count (not scaled) means the release's own count", async () => {
    await rollout('scale', 1, 'Healthy', { instances: 3 });
    await rollout('restart', 1, 'Healthy', { replace: [] });
    assert.equal(await read(1), undefined);
  });

  it('finds the decisive rollout behind many failed ones', async () => {
    await rollout('scale', 1, 'Healthy', { instances: 5 });
    for (let k = 0; k < 70; k++) await rollout('deploy', 2, 'Failed');
    assert.equal((await read(1))?.instances, 5);
  });
});
