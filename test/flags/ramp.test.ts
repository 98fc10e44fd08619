/**
 * `slipway flags ramp` against a real controller and store, across controller restarts: the
 * schedule is durable, a step that fell due while no controller ran is applied when one starts,
 * once, and `flags get` shows what is pending. The controller's schedule clock is moved with
 * SLIPWAY_TEST_NOW (test only) at each start, so the test does not wait an hour.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TestProject } from '../support/project.js';
import { waitFor } from '../../src/core/wait-for.js';
import type { FlagView } from '../../src/flags/service.js';
import type { FlagHistoryResponse } from '../../src/client/flags-client.js';
import type { AuditResponse } from '../../src/api/access-types.js';

const HOUR = 3_600_000;

describe('flag ramps (real controller, restarted)', () => {
  const p = new TestProject();
  before(() =>
    p.writeConfig({
      instances: 1,
      tail: `flags:
  new-checkout: { type: boolean, default: false }`,
    }),
  );
  after(() => p.cleanup());

  const at = (t: number) => ({ SLIPWAY_TEST_NOW: new Date(t).toISOString() });
  const json = async <T>(args: string[], env: Record<string, string>): Promise<T> => {
    const r = await p.cli([...args, '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as T;
  };

  it('applies "10% now" at once, each later step when due across restarts, once each, and shows what is pending', async () => {
    const t0 = Date.now();
    const start = await p.cli(['flags', 'ramp', 'new-checkout', '10% now, 50% in 1h, 100% in 1d', '--reason', 'launch'], { env: at(t0) });
    assert.equal(start.code, 0, start.stderr);
    assert.match(start.stdout, /new-checkout in local: on, 10%/);
    assert.match(start.stdout, /step 2: 50% at .*, pending/);
    const get = await p.cli(['flags', 'get', 'new-checkout'], { env: at(t0) });
    assert.match(get.stdout, /ramp #1 "10% now, 50% in 1h, 100% in 1d" by \S+:/);
    assert.match(get.stdout, /step 1: 10% at .*, applied \(version 1\)/);
    assert.match(get.stdout, /step 3: 100% at .*, pending/);
    assert.equal((await p.cli(['down'])).code, 0);

    // An hour and a bit later: the controller starts and applies the 50% step it missed.
    const later = at(t0 + HOUR + 60_000);
    const at50 = await waitFor('the missed 50% step to be applied at start', async () => {
      const f = await json<FlagView>(['flags', 'get', 'new-checkout'], later);
      return f.state.rollout.percent === 50 ? f : undefined;
    });
    assert.equal(at50.changedBy, 'ramp #1');
    assert.deepEqual(
      at50.ramp?.steps.map((s) => s.appliedAt !== undefined),
      [true, true, false],
    );
    assert.equal((await p.cli(['down'])).code, 0);

    // Started again a day later: the last step, and the 50% step was not applied a second time.
    const dayLater = at(t0 + 25 * HOUR);
    await waitFor('the last step to be applied', async () => {
      const f = await json<FlagView>(['flags', 'get', 'new-checkout'], dayLater);
      return f.state.rollout.percent === 100 && f.ramp === undefined;
    });
    const history = await json<FlagHistoryResponse>(['flags', 'history', 'new-checkout'], dayLater);
    assert.deepEqual(
      history.versions.map((v) => [v.version, v.by, v.after.rollout.percent]),
      [
        [3, 'ramp #1', 100],
        [2, 'ramp #1', 50],
        [1, 'ramp #1', 10],
      ],
    );
    const audit = await json<AuditResponse>(['audit'], dayLater);
    assert.deepEqual(
      audit.entries.filter((e) => e.actor === 'ramp #1').map((e) => e.action),
      ['flag.ramp.step', 'flag.ramp.step', 'flag.ramp.step'],
    );
    assert.ok(
      audit.entries.some((e) => e.action === 'flag.ramp' && e.outcome === 'ok'),
      'starting the ramp is audited with its author',
    );

    // A manual change cancels a ramp; the cancelled steps never come.
    const again = await p.cli(['flags', 'ramp', 'new-checkout', '20% now, 80% in 1h'], { env: dayLater });
    assert.equal(again.code, 0, again.stderr);
    const off = await p.cli(['flags', 'set', 'new-checkout', '--off', '--reason', 'errors'], { env: dayLater });
    assert.equal(off.code, 0, off.stderr);
    const cancelled = await json<FlagView>(['flags', 'get', 'new-checkout'], dayLater);
    assert.equal(cancelled.ramp, undefined);
    const none = await p.cli(['flags', 'ramp', 'new-checkout', '--cancel'], { env: dayLater });
    assert.equal(none.code, 3, none.stderr);
    assert.match(none.stderr, /FLAG_RAMP_NOT_FOUND|no active ramp/);
  });
});
