import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HealthTracker, initialHealth, nextHealth } from './health-tracker.js';

const pass = { ok: true, detail: 'GET / → 200 in 1ms', durationMs: 1 };
const fail = { ok: false, detail: 'connect ECONNREFUSED', durationMs: 1 };

function run(results: boolean[], healthyAfter: number, unhealthyAfter: number) {
  let s = initialHealth();
  const seen: boolean[] = [];
  for (const ok of results) {
    s = nextHealth(s, ok ? pass : fail, { healthyAfter, unhealthyAfter });
    seen.push(s.healthy);
  }
  return { final: s, seen };
}

describe('health tracker', () => {
  it('starts unhealthy with no result', () => {
    assert.deepEqual(initialHealth(), {
      healthy: false,
      everHealthy: false,
      lastResult: null,
      consecutiveFailures: 0,
      consecutiveSuccesses: 0,
    });
  });

  it('becomes healthy only after healthyAfter consecutive passes', () => {
    const { seen, final } = run([true, false, true, true, true], 3, 1);
    assert.deepEqual(seen, [false, false, false, false, true]);
    assert.equal(final.consecutiveSuccesses, 3);
    assert.equal(final.everHealthy, true);
  });

  it('becomes unhealthy only after unhealthyAfter consecutive failures, and recovers', () => {
    const { seen, final } = run([true, false, false, true, false, false, false, true], 1, 3);
    assert.deepEqual(seen, [true, true, true, true, true, true, false, true]);
    assert.equal(final.everHealthy, true);
    assert.equal(final.consecutiveFailures, 0);
  });

  it('stays never-healthy while every probe fails, counting failures', () => {
    const { final } = run([false, false, false, false], 1, 3);
    assert.equal(final.healthy, false);
    assert.equal(final.everHealthy, false);
    assert.equal(final.consecutiveFailures, 4);
    assert.deepEqual(final.lastResult, fail);
  });

  it('tracks instances separately and reports flips', () => {
    const t = new HealthTracker();
    const th = { healthyAfter: 1, unhealthyAfter: 2 };
    assert.equal(t.record('a', pass, th).flipped, true);
    assert.equal(t.record('b', fail, th).flipped, false);
    assert.equal(t.record('a', fail, th).flipped, false);
    assert.equal(t.record('a', fail, th).flipped, true);
    assert.equal(t.get('a')?.healthy, false);
    assert.equal(t.get('b')?.consecutiveFailures, 1);
    t.delete('a');
    assert.equal(t.get('a'), undefined);
  });
});
