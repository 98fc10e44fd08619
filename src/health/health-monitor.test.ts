import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as flush } from 'node:timers/promises';
import { ManualClock } from '../core/clock.js';
import type { HealthCheck, ProbeResult } from './health-check.js';
import { HealthMonitor } from './health-monitor.js';

const check: HealthCheck = { kind: 'tcp', timeoutMs: 100 };
const target = { host: '127.0.0.1', port: 1, cwd: '/', env: {} };
const opts = { intervalMs: 1000, healthyAfter: 2, unhealthyAfter: 1 };

/** A probe whose answers the test hands out one by one. */
function scriptedProbe() {
  const pending: { resolve: (r: ProbeResult) => void; signal?: AbortSignal }[] = [];
  const fn = (_c: HealthCheck, _t: unknown, signal?: AbortSignal) =>
    new Promise<ProbeResult>((resolve) => {
      pending.push({ resolve, signal });
    });
  const answer = async (ok: boolean) => {
    const p = pending.shift();
    assert.ok(p, 'expected a probe in flight');
    p.resolve({ ok, detail: ok ? 'ok' : 'down', durationMs: 0 });
    await flush();
  };
  return { fn, pending, answer };
}

describe('HealthMonitor', () => {
  it('probes at once, then once per interval of the injected clock', async () => {
    const clock = new ManualClock();
    const p = scriptedProbe();
    const m = new HealthMonitor({ clock, probe: p.fn });
    m.watch('a', check, target, opts);
    assert.equal(p.pending.length, 1, 'first probe runs immediately');
    await p.answer(true);
    assert.equal(p.pending.length, 0);
    clock.advance(999);
    await flush();
    assert.equal(p.pending.length, 0, 'no probe before the interval has passed');
    clock.advance(1);
    await flush();
    assert.equal(p.pending.length, 1);
    await p.answer(true);
    assert.equal(m.get('a')?.healthy, true);
    await m.stop();
  });

  it('never runs two probes of one instance at once', async () => {
    const clock = new ManualClock();
    const p = scriptedProbe();
    const m = new HealthMonitor({ clock, probe: p.fn });
    m.watch('a', check, target, opts);
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      await flush();
    }
    assert.equal(p.pending.length, 1, 'a slow probe is not overlapped');
    clock.advance(500);
    await p.answer(false);
    assert.equal(p.pending.length, 1, 'the interval is already over: next probe follows at once');
    await m.stop();
    assert.equal(p.pending[0]?.signal?.aborted, true, 'stop aborts the probe in flight');
  });

  it('reports flips to listeners and forgets unwatched instances', async () => {
    const clock = new ManualClock();
    const p = scriptedProbe();
    const m = new HealthMonitor({ clock, probe: p.fn });
    const events: [string, boolean, boolean | undefined][] = [];
    m.onChange((id, s) => events.push([id, s.healthy, s.lastResult?.ok]));
    m.watch('a', check, target, opts);
    assert.deepEqual(m.get('a'), { healthy: false, everHealthy: false, lastResult: null, consecutiveFailures: 0, consecutiveSuccesses: 0 });
    await p.answer(true);
    for (const ok of [true, true, false]) {
      clock.advance(1000);
      await flush();
      await p.answer(ok);
    }
    assert.deepEqual(events, [
      ['a', false, true],
      ['a', true, true],
      ['a', false, false],
    ]);
    assert.equal(m.get('a')?.everHealthy, true);
    m.unwatch('a');
    assert.equal(m.get('a'), undefined);
    await m.stop();
  });
});
