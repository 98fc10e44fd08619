import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBounded, TaskPool } from './bounded.js';

/** A task that finishes when the test says so. */
function gate(): { promise: Promise<void>; open: () => void; fail: (err: Error) => void } {
  let open!: () => void;
  let fail!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    open = res;
    fail = rej;
  });
  return { promise, open, fail };
}

test('bounded: never more than the limit in flight, and every item is processed', async () => {
  let inFlight = 0;
  let peak = 0;
  const done: number[] = [];
  await forEachBounded(
    Array.from({ length: 200 }, (_, i) => i),
    async (i) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      done.push(i);
    },
    7,
  );
  assert.equal(peak, 7);
  assert.deepEqual(
    done.sort((a, b) => a - b),
    Array.from({ length: 200 }, (_, i) => i),
  );
});

test('bounded: a failure stops new tasks, and drain rethrows it only after the tasks in flight have settled', async () => {
  const pool = new TaskPool(2);
  const slow = gate();
  const failing = gate();
  let slowSettled = false;
  await pool.run(async () => {
    await slow.promise;
    slowSettled = true;
  });
  await pool.run(() => failing.promise);
  failing.fail(new Error('disk full'));
  // The pool is full until the failure lands; the next run must refuse rather than start.
  await assert.rejects(
    pool.run(async () => {
      assert.fail('must not start after a failure');
    }),
    /disk full/,
  );
  const drained = pool.drain().then(
    () => 'resolved',
    (err: Error) => err.message,
  );
  await new Promise((r) => setImmediate(r));
  assert.equal(slowSettled, false);
  slow.open();
  assert.equal(await drained, 'disk full');
  assert.equal(slowSettled, true);
});

test('bounded: forEachBounded rejects with the first failure after the rest settle', async () => {
  const settled: number[] = [];
  await assert.rejects(
    forEachBounded(
      [1, 2, 3, 4],
      async (i) => {
        await new Promise((r) => setTimeout(r, i === 2 ? 0 : 20));
        settled.push(i);
        if (i === 2) throw new Error(`item ${i} failed`);
      },
      4,
    ),
    /item 2 failed/,
  );
  assert.deepEqual(settled.sort(), [1, 2, 3, 4]);
});
