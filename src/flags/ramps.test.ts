import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../store/sqlite-store.js';
import { flagsSectionSchema } from '../config/flags-schema.js';
import { FlagService } from './service.js';
import { FlagRamps } from './ramps.js';
import { parseRampSchedule } from './ramp-schedule.js';
import { SlipwayError } from '../core/errors.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-30T09:00:00Z');
const FLAGS = flagsSectionSchema.parse({
  'new-checkout': { type: 'boolean', default: false },
  theme: { type: 'string', default: 'a' },
});

/** A controller's flag parts on a real state database in a temp directory, on a clock the test moves. */
async function controller(file: string, clock: { t: number }) {
  const store = new SqliteStore(file);
  await store.migrate();
  const flags = new FlagService(
    store,
    () => FLAGS,
    () => clock.t,
  );
  const applied: string[] = [];
  const ramps = new FlagRamps(
    store,
    flags,
    () => clock.t,
    async (r, v) => {
      applied.push(`${r.id}:${v.after.rollout.percent}`);
    },
  );
  return { store, flags, ramps, applied };
}

const code = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    return (err as SlipwayError).code;
  }
  return 'none';
};

describe('flag ramps', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-ramps-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a schedule: now, in a duration (days too), at a time; refuses what it cannot follow, naming the step', () => {
    assert.deepEqual(parseRampSchedule('10% now, 50% in 1h, 100% in 1d', T0), [
      { at: T0, percent: 10 },
      { at: T0 + HOUR, percent: 50 },
      { at: T0 + 24 * HOUR, percent: 100 },
    ]);
    assert.deepEqual(parseRampSchedule('25 at 2026-12-01T09:00Z, 100% in 1d12h', T0), [
      { at: Date.parse('2026-12-01T09:00Z'), percent: 25 },
      { at: T0 + 36 * HOUR, percent: 100 },
    ]);
    const refused = (text: string) => {
      try {
        parseRampSchedule(text, T0);
      } catch (err) {
        assert.equal((err as SlipwayError).code, 'FLAG_RAMP_INVALID');
        return (err as Error).message;
      }
      return 'accepted';
    };
    assert.match(refused('10% now, 50% soon'), /step 2 \("50% soon"\) is not/);
    assert.match(refused('10% now, 150% in 1h'), /step 2 .*0 to 100/);
    assert.match(refused('50% in 2h, 100% in 1h'), /step 2 .* is not later than step 1/);
    assert.match(refused('10% at 2020-01-01T00:00Z'), /in the past/);
    assert.match(refused('10% in 1 week'), /not/);
    assert.match(refused(' , '), /empty/);
  });

  it('applies each step when due, as a version by the ramp; a step due while no controller ran is applied at the next start, once', async () => {
    const file = join(dir, 'state.db');
    const clock = { t: T0 };
    let c = await controller(file, clock);
    const ramp = await c.ramps.start('production', 'new-checkout', '10% now, 50% in 1h, 75% in 2h, 100% in 1d', 'alice', 'launch');
    assert.equal((await c.flags.get('production', 'new-checkout')).state.rollout.percent, 10, 'the "now" step before start returns');
    assert.deepEqual(
      ramp.steps.map((s) => [s.percent, s.appliedAt !== undefined]),
      [
        [10, true],
        [50, false],
        [75, false],
        [100, false],
      ],
    );

    clock.t = T0 + HOUR - 1;
    await c.ramps.tick();
    assert.equal((await c.flags.get('production', 'new-checkout')).state.rollout.percent, 10, 'not yet due');
    clock.t = T0 + HOUR;
    await c.ramps.tick();
    await c.ramps.tick();
    const at50 = await c.flags.get('production', 'new-checkout');
    assert.equal(at50.state.rollout.percent, 50);
    assert.equal(at50.changedBy, `ramp #${ramp.id}`);
    assert.match(at50.reason ?? '', /ramp #\d+ step 2\/4 \("10% now, 50% in 1h, 75% in 2h, 100% in 1d"\)/);
    assert.deepEqual(c.applied, [`${ramp.id}:10`, `${ramp.id}:50`]);

    // The controller stops; 75% (at 2h) and 100% (at 1d) fall due while it is down.
    await c.store.close();
    clock.t = T0 + 30 * HOUR;
    c = await controller(file, clock);
    await c.ramps.tick();
    await c.ramps.tick();
    const history = await c.flags.history('production', 'new-checkout');
    assert.deepEqual(
      history.map((v) => [v.version, v.by, v.after.rollout.percent]),
      [
        [3, `ramp #${ramp.id}`, 100],
        [2, `ramp #${ramp.id}`, 50],
        [1, `ramp #${ramp.id}`, 10],
      ],
      'the latest due step once; the earlier one skipped',
    );
    assert.match(history[0]!.reason, /1 earlier step\(s\) fell due while no controller ran/);
    const done = (await c.store.listFlagRamps({ flag: 'new-checkout' }))[0]!;
    assert.equal(done.state, 'done');
    assert.deepEqual(
      done.steps.map((s) => [s.percent, s.skipped ?? false, s.version]),
      [
        [10, false, 1],
        [50, false, 2],
        [75, true, undefined],
        [100, false, 3],
      ],
    );
    assert.equal(await c.ramps.active('production', 'new-checkout'), undefined);
    await c.store.close();
  });

  it('a manual change cancels the rest of the ramp; so does cancel; one ramp at a time; bad ramps change nothing', async () => {
    const clock = { t: T0 };
    const c = await controller(join(dir, 'cancel.db'), clock);
    const first = await c.ramps.start('production', 'new-checkout', '5% now, 50% in 1h', 'alice', '');
    assert.equal(await code(c.ramps.start('production', 'new-checkout', '1% now', 'bob', '')), 'FLAG_RAMP_ACTIVE');
    // A ramp in another environment is its own.
    await c.ramps.start('staging', 'new-checkout', '20% in 1h', 'alice', '');

    await c.flags.change('production', 'new-checkout', { enabled: false, by: 'carol', reason: 'errors' });
    const cancelled = (await c.store.listFlagRamps({ environment: 'production', flag: 'new-checkout' }))[0]!;
    assert.equal(cancelled.id, first.id);
    assert.equal(cancelled.state, 'cancelled');
    assert.match(cancelled.endReason!, /cancelled by carol's change \(version 2\)/);
    clock.t = T0 + 2 * HOUR;
    await c.ramps.tick();
    const prod = await c.flags.get('production', 'new-checkout');
    assert.deepEqual([prod.state.enabled, prod.state.rollout.percent, prod.version], [false, 5, 2], 'the cancelled step never came');
    assert.equal((await c.flags.get('staging', 'new-checkout')).state.rollout.percent, 20, 'staging ramp went on');

    await c.ramps.start('production', 'new-checkout', '60% in 1h', 'alice', '');
    const ended = await c.ramps.cancel('production', 'new-checkout', 'bob', 'enough');
    assert.equal(ended.state, 'cancelled');
    assert.equal(await code(c.ramps.cancel('production', 'new-checkout', 'bob', '')), 'FLAG_RAMP_NOT_FOUND');

    assert.equal(await code(c.ramps.start('production', 'theme', '10% now', 'alice', '')), 'FLAG_CHANGE_INVALID');
    assert.equal(await code(c.ramps.start('production', 'nope', '10% now', 'alice', '')), 'FLAG_NOT_FOUND');
    assert.equal(await code(c.ramps.start('production', 'new-checkout', '10% later', 'alice', '')), 'FLAG_RAMP_INVALID');
    assert.equal((await c.store.listFlagRamps({ environment: 'production', state: 'active' })).length, 0, 'nothing recorded');
    await c.store.close();
  });
});
