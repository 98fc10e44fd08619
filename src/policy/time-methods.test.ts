import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { celEnv, isCelError, parse, plan, type CelInput } from '@bufbuild/cel';
import { TIME_METHODS } from './time-methods.js';

const env = celEnv({ funcs: TIME_METHODS });
const std = celEnv();
const at = (e: string, iso: string, environment = env) => {
  const r = plan(environment, parse(e))({ t: plan(environment, parse('timestamp(iso)'))({ iso }) as CelInput });
  if (isCelError(r)) throw r;
  return Number(r);
};

describe('timestamp accessors with a time zone', () => {
  test('the first hour after midnight stays on its own day (the @bufbuild/cel 0.6.1 versions move it a day on)', () => {
    // Friday 2026-01-09 00:30 in Berlin.
    const t = '2026-01-08T23:30:00Z';
    assert.equal(at('t.getDayOfWeek("Europe/Berlin")', t), 5);
    assert.equal(at('t.getDate("Europe/Berlin")', t), 9);
    assert.equal(at('t.getHours("Europe/Berlin")', t), 0);
    // What the library's own method answers, kept here so that an upgrade that fixes it is noticed.
    // It reads the hour through Intl with hour12: false, which says "24" for that hour with the ICU
    // of Node.js 20, "00" with that of Node.js 22 and 24 (a day on only with "24").
    const intlHour = new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Berlin', hour: 'numeric', hour12: false }).format(new Date(t));
    assert.equal(at('t.getDayOfWeek("Europe/Berlin")', t, std), intlHour === '24' ? 6 : 5);
  });

  test('across the daylight-saving change in Berlin (2026-03-29 02:00 CET → 03:00 CEST)', () => {
    assert.equal(at('t.getHours("Europe/Berlin")', '2026-03-29T00:30:00Z'), 1);
    assert.equal(at('t.getHours("Europe/Berlin")', '2026-03-29T01:30:00Z'), 3);
    assert.equal(at('t.getHours("Europe/Berlin")', '2026-10-25T00:30:00Z'), 2);
    assert.equal(at('t.getHours("Europe/Berlin")', '2026-10-25T01:30:00Z'), 2);
  });

  test('fixed offsets, UTC, and no zone at all (UTC), as the CEL spec defines them', () => {
    const t = '2026-01-08T23:30:00Z';
    assert.equal(at('t.getDayOfWeek("+01:00")', t), 5);
    assert.equal(at('t.getHours("-05:30")', t), 18);
    assert.equal(at('t.getDayOfWeek("UTC")', t), 4);
    assert.equal(at('t.getDayOfWeek()', t), 4);
    assert.equal(at('t.getMonth()', t), 0);
    assert.equal(at('t.getDayOfMonth()', t), 7);
    assert.equal(at('t.getDayOfYear()', t), 7);
    assert.equal(at('t.getFullYear("Pacific/Kiritimati")', '2026-12-31T11:00:00Z'), 2027);
  });

  test('an unknown zone is an evaluation error that names the zone', () => {
    const r = plan(env, parse('timestamp("2026-01-01T00:00:00Z").getHours("Mars/Olympus")'))({});
    assert.ok(isCelError(r));
    assert.match(r.message, /unknown time zone "Mars\/Olympus"/);
  });
});
