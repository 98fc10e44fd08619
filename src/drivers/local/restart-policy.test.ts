import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RESTART_POLICY } from '../driver.js';
import { backoffMs, decideAfterExit } from './restart-policy.js';

const policy = {
  ...DEFAULT_RESTART_POLICY,
  initialBackoffMs: 100,
  maxBackoffMs: 1000,
  crashLoopExits: 4,
  crashLoopWindowMs: 5000,
  crashLoopRetryMs: 1000,
  crashLoopMaxRetryMs: 300_000,
};

describe('restart policy', () => {
  it('doubles the backoff per consecutive quick exit, up to the maximum', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 100].map((n) => backoffMs(policy, n)),
      [100, 100, 200, 400, 800, 1000, 1000],
    );
  });

  it('fails on the crashLoopExits-th consecutive quick exit', () => {
    let h = { quickExits: 0, crashLoops: 0 };
    const actions: string[] = [];
    for (let i = 0; i < 4; i++) {
      const d = decideAfterExit({ ...policy, crashLoopRetryMs: 0 }, h, 10);
      actions.push(d.action === 'restart' ? `restart ${d.delayMs}` : `fail ${d.retryInMs}`);
      h = d;
    }
    assert.deepEqual(actions, ['restart 100', 'restart 200', 'restart 400', 'fail null']);
  });

  it('an exit after a long run resets the count and the backoff', () => {
    assert.deepEqual(decideAfterExit(policy, { quickExits: 3, crashLoops: 4 }, 5000), {
      action: 'restart',
      delayMs: 100,
      quickExits: 0,
      crashLoops: 0,
    });
    assert.deepEqual(
      decideAfterExit(policy, { quickExits: 2, crashLoops: 0 }, 4999),
      { action: 'restart', delayMs: 400, quickExits: 3, crashLoops: 0 },
      'just under the window still counts',
    );
  });

  it('a crash loop is retried with a backoff of 1 s doubling to a 5 min cap (CrashLoopBackOff), each quick exit failing again', () => {
    let h = { quickExits: 0, crashLoops: 0 };
    const seen: string[] = [];
    for (let i = 0; i < 14; i++) {
      const d = decideAfterExit(policy, h, 10);
      seen.push(d.action === 'restart' ? `r${d.delayMs}` : `f${d.retryInMs}`);
      h = d;
    }
    assert.deepEqual(seen, [
      'r100',
      'r200',
      'r400',
      'f1000',
      'f2000',
      'f4000',
      'f8000',
      'f16000',
      'f32000',
      'f64000',
      'f128000',
      'f256000',
      'f300000',
      'f300000',
    ]);
    const healed = decideAfterExit(policy, h, 5000);
    assert.deepEqual(
      healed,
      { action: 'restart', delayMs: 100, quickExits: 0, crashLoops: 0 },
      'a run as long as the window resets the backoff',
    );
  });
});
