import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { releasesToPrune } from './retention.js';
import type { Release, ReleaseOutcome, Rollout } from '../store/types.js';

function rel(number: number, outcome: ReleaseOutcome = 'superseded', prunedAt: number | null = null): Release {
  return {
    environment: 'local',
    service: 'web',
    number,
    digest: `sha256:${number}`,
    configHash: 'c',
    spec: {} as Release['spec'],
    message: '',
    createdBy: 't',
    createdAt: number,
    outcome,
    prunedAt,
    rollbackOf: null,
  };
}

/** Releases 1..n, newest first. */
const history = (n: number, current: number) =>
  Array.from({ length: n }, (_, i) => rel(n - i, n - i === current ? 'live' : n - i > current ? 'failed' : 'superseded'));

describe('release retention', () => {
  it('keeps the newest 10 and prunes the rest', () => {
    const pruned = releasesToPrune(history(14, 14), { keep: 10, current: 14, running: [] });
    assert.deepEqual(
      pruned.map((r) => r.number),
      [4, 3, 2, 1],
    );
  });

  it('never prunes the serving release or its rollback target, even when old', () => {
    // Release 3 serves (a rollback went there), 2 is its rollback target; 4..14 failed or came later.
    const releases = history(14, 3);
    const pruned = releasesToPrune(releases, { keep: 10, current: 3, running: [] });
    assert.deepEqual(
      pruned.map((r) => r.number),
      [4, 1],
    );
  });

  it('keeps releases still running and those of an active rollout, and skips already pruned ones', () => {
    const releases = [...history(12, 12).slice(0, 11), rel(1, 'superseded', 5)];
    const active = { fromRelease: 2, toRelease: 12, targetRelease: 12 } as Rollout;
    assert.deepEqual(
      releasesToPrune(releases, { keep: 10, current: 12, running: [], active }).map((r) => r.number),
      [],
    );
    assert.deepEqual(
      releasesToPrune(releases, { keep: 5, current: 12, running: [4], active }).map((r) => r.number),
      [7, 6, 5, 3],
    );
  });
});
