import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { configDiff } from './config-diff.js';

describe('config diff for slipway plan', () => {
  const serving = {
    instances: 2,
    env: { LOG_LEVEL: 'info', API_KEY: 'old-secret-value' },
    strategy: { type: 'rolling', maxSurge: 1 },
    stopTimeout: 30_000,
  };

  it('lists each changed, added and removed key with readable values; unchanged keys are left out', () => {
    const next = {
      instances: 4,
      env: { LOG_LEVEL: 'warn', API_KEY: 'old-secret-value', NEW: 'x' },
      strategy: { type: 'canary', steps: [{ weight: 10 }, { pause: 60_000 }] },
      stopTimeout: 30_000,
    };
    assert.deepEqual(configDiff(serving, next), [
      { key: 'env.LOG_LEVEL', from: '"info"', to: '"warn"' },
      { key: 'env.NEW', from: null, to: '"x"' },
      { key: 'instances', from: '2', to: '4' },
      { key: 'strategy.maxSurge', from: '1', to: null },
      { key: 'strategy.steps[0].weight', from: null, to: '10' },
      { key: 'strategy.steps[1].pause', from: null, to: '1m' },
      { key: 'strategy.type', from: '"rolling"', to: '"canary"' },
    ]);
  });

  it('never shows the value of a secret, only that it changed', () => {
    const diff = configDiff(serving, { ...serving, env: { ...serving.env, API_KEY: 'new-secret-value' } }, ['API_KEY']);
    assert.deepEqual(diff, [{ key: 'env.API_KEY', from: '(secret)', to: '(secret)', secret: true }]);
    assert.ok(!JSON.stringify(diff).includes('secret-value'));
  });

  it('nothing serves yet: every key is new; the same config: no change', () => {
    assert.equal(configDiff(null, serving).length, 6);
    assert.ok(configDiff(null, serving).every((c) => c.from === null));
    assert.deepEqual(configDiff(serving, structuredClone(serving)), []);
  });
});
