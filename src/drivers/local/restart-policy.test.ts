import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RESTART_POLICY } from '../driver.js';
import { backoffMs, decideAfterExit } from './restart-policy.js';

const policy = { ...DEFAULT_RESTART_POLICY, initialBackoffMs: 100, maxBackoffMs: 1000, crashLoopExits: 4, crashLoopWindowMs: 5000 };

describe('restart policy', () => {
  it('doubles the backoff per consecutive quick exit, up to the maximum', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 100].map((n) => backoffMs(policy, n)), [100, 100, 200, 400, 800, 1000, 1000]);
  });

  it('fails on the crashLoopExits-th consecutive quick exit', () => {
    let q = 0;
    const actions: string[] = [];
    for (let i = 0; i < 4; i++) {
      const d = decideAfterExit(policy, q, 10);
      actions.push(d.action === 'restart' ? `restart ${d.delayMs}` : 'fail');
      q = d.quickExits;
    }
    assert.deepEqual(actions, ['restart 100', 'restart 200', 'restart 400', 'fail']);
  });

  it('an exit after a long run resets the count and the backoff', () => {
    assert.deepEqual(decideAfterExit(policy, 3, 5000), { action: 'restart', delayMs: 100, quickExits: 0 });
    assert.deepEqual(decideAfterExit(policy, 2, 4999), { action: 'restart', delayMs: 400, quickExits: 3 }, 'just under the window still counts');
  });
});
