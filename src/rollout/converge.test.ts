/**
 * Table tests of the arithmetic that decides capacity (argo-rollouts style): resolveCount's
 * rounding, and convergeRolling over replicas × maxSurge × maxUnavailable × what is running.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convergeRolling, resolveCount } from './converge.js';
import type { ObservedInstance } from './types.js';

test('resolveCount: counts as given, percentages of surge round up and of unavailability down', () => {
  const rows: Array<[number | string, number, 'up' | 'down', number]> = [
    [2, 10, 'up', 2],
    [0, 10, 'down', 0],
    ['25%', 10, 'up', 3],
    ['25%', 10, 'down', 2],
    ['33%', 3, 'up', 1],
    ['33%', 3, 'down', 0],
    ['0%', 5, 'up', 0],
    ['100%', 3, 'down', 3],
    ['50%', 1, 'up', 1],
    ['50%', 1, 'down', 0],
  ];
  for (const [value, desired, round, want] of rows)
    assert.equal(resolveCount(value, desired, round), want, `${value} of ${desired} rounded ${round}`);
});

let seq = 0;
function instances(release: number, count: number, ready: boolean): ObservedInstance[] {
  return Array.from({ length: count }, () => ({
    id: `i${++seq}`,
    release,
    state: 'running' as const,
    healthy: ready,
    retiring: false,
    startedAt: seq,
    restarts: 0,
    lastExit: null,
    lastProbe: null,
  }));
}

interface Row {
  /** desired, maxSurge, maxUnavailable */
  n: number;
  surge: number | string;
  unavailable: number | string;
  /** old release ready / not ready, new release ready / not ready */
  oldReady: number;
  oldNotReady?: number;
  newReady: number;
  newNotReady?: number;
  /** starts of the new release, retirements (old and extra), done */
  starts: number;
  retires: number;
  done: boolean;
}

const rows: Row[] = [
  { n: 2, surge: 1, unavailable: 0, oldReady: 2, newReady: 0, starts: 1, retires: 0, done: false },
  { n: 2, surge: 1, unavailable: 0, oldReady: 2, newReady: 0, newNotReady: 1, starts: 0, retires: 0, done: false },
  { n: 2, surge: 1, unavailable: 0, oldReady: 2, newReady: 1, starts: 1, retires: 1, done: false },
  { n: 2, surge: 1, unavailable: 0, oldReady: 0, newReady: 2, starts: 0, retires: 0, done: true },
  { n: 2, surge: 1, unavailable: 0, oldReady: 1, oldNotReady: 1, newReady: 0, starts: 2, retires: 1, done: false },
  { n: 4, surge: '25%', unavailable: '25%', oldReady: 4, newReady: 0, starts: 2, retires: 1, done: false },
  { n: 4, surge: '50%', unavailable: 0, oldReady: 4, newReady: 0, starts: 2, retires: 0, done: false },
  { n: 5, surge: '30%', unavailable: '30%', oldReady: 5, newReady: 0, starts: 3, retires: 1, done: false },
  { n: 10, surge: '10%', unavailable: '0%', oldReady: 10, newReady: 0, starts: 1, retires: 0, done: false },
  { n: 3, surge: 0, unavailable: 1, oldReady: 3, newReady: 0, starts: 1, retires: 1, done: false },
  { n: 3, surge: 0, unavailable: 1, oldReady: 2, newReady: 1, starts: 1, retires: 1, done: false },
  { n: 1, surge: 1, unavailable: 0, oldReady: 0, newReady: 3, starts: 0, retires: 2, done: false },
  { n: 3, surge: 1, unavailable: 0, oldReady: 0, newReady: 2, newNotReady: 1, starts: 0, retires: 0, done: false },
];

for (const r of rows) {
  const name = `convergeRolling: ${r.n} desired, surge ${r.surge}, unavailable ${r.unavailable}; old ${r.oldReady}+${r.oldNotReady ?? 0}, new ${r.newReady}+${r.newNotReady ?? 0} → start ${r.starts}, retire ${r.retires}${r.done ? ', done' : ''}`;
  test(name, () => {
    const observed = [
      ...instances(1, r.oldReady, true),
      ...instances(1, r.oldNotReady ?? 0, false),
      ...instances(2, r.newReady, true),
      ...instances(2, r.newNotReady ?? 0, false),
    ];
    const step = convergeRolling(
      {
        release: 2,
        instances: r.n,
        strategy: { type: 'rolling', maxSurge: r.surge, maxUnavailable: r.unavailable },
        progressDeadlineMs: 60_000,
      },
      observed,
      r.surge,
      r.unavailable,
    );
    assert.equal(step.actions.filter((a) => a.type === 'start').length, r.starts, 'starts');
    assert.equal(step.actions.filter((a) => a.type === 'retire').length, r.retires, 'retirements');
    assert.equal(step.done, r.done, 'done');
    // Capacity: what stays ready never drops below desired - maxUnavailable (when it was there).
    const retired = new Set(step.actions.flatMap((a) => (a.type === 'retire' ? [a.id] : [])));
    const readyLeft = observed.filter((i) => i.healthy && !retired.has(i.id)).length;
    const floor = r.n - resolveCount(r.unavailable, r.n, 'down');
    assert.ok(readyLeft >= Math.min(floor, r.oldReady + r.newReady), `ready left ${readyLeft} < ${floor}`);
  });
}
