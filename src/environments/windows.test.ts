import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatInstant, isAllowed, parseWindow, validTimezone, type Windows } from './windows.js';

const BERLIN = 'Europe/Berlin';
const utc = (iso: string) => Date.parse(iso);
const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? ms : new Date(ms).toISOString());

function windows(deny: string[], allow: string[] = [], timezone = BERLIN): Windows {
  const entry = (text: string) => {
    const r = parseWindow(text);
    if ('error' in r) throw new Error(r.error);
    return { text, spans: r.spans };
  };
  return { timezone, deny: deny.map(entry), allow: allow.map(entry) };
}

describe('deployment windows: parsing', () => {
  it('accepts the documented forms', () => {
    for (const text of [
      'Fri 16:00-Mon 06:00',
      'friday 16:00 - monday 06:00',
      'Mon-Fri 09:00-17:00',
      'Sat,Sun 00:00-24:00',
      'Fri-Mon 20:00-08:00',
      '22:00-06:00',
      '2026-12-24-2026-12-27',
      '2026-12-24 12:00 to 2026-12-27 06:00',
    ])
      assert.ok('spans' in parseWindow(text), text);
    const weekdays = parseWindow('Mon-Fri 09:00-17:00');
    assert.ok('spans' in weekdays && weekdays.spans.length === 5);
    const wrapping = parseWindow('Fri-Mon 20:00-08:00');
    assert.ok('spans' in wrapping && wrapping.spans.length === 4, 'Fri, Sat, Sun and Mon');
  });

  it('says what is wrong with a bad entry', () => {
    const error = (text: string) => {
      const r = parseWindow(text);
      assert.ok('error' in r, `${text} should be refused`);
      return r.error;
    };
    assert.match(error('Fri 25:00-Mon 06:00'), /25:00 is not a time of day/);
    assert.match(error('Funday 10:00-11:00'), /is not a window; write one like "Fri 16:00-Mon 06:00"/);
    assert.match(error('2026-02-30-2026-03-02'), /2026-02-30 is not a date/);
    assert.match(error('2026-12-27-2026-12-24'), /ends before it starts/);
    assert.match(error('Mon 06:00-Mon 06:00'), /starts where it ends/);
    assert.match(error('10:00-10:00'), /starts where it ends/);
    assert.match(error(''), /is not a window/);
  });

  it('knows IANA time zones', () => {
    assert.ok(validTimezone('Europe/Berlin'));
    assert.ok(validTimezone('UTC'));
    assert.ok(!validTimezone('Europe/Nowhere'));
  });
});

describe('deployment windows: a deny window that wraps the week, across daylight-saving changes (Europe/Berlin)', () => {
  const w = windows(['Fri 16:00-Mon 06:00']);

  it('spring forward (2026-03-29): the weekend freeze ends Monday 06:00 CEST, 04:00 UTC, one hour shorter in UTC', () => {
    const before = isAllowed(w, utc('2026-03-27T14:59:00Z')); // Fri 15:59 CET
    assert.equal(before.allowed, true);
    assert.equal(iso(before.closesAt), '2026-03-27T15:00:00.000Z', 'closes Fri 16:00 CET');
    const friday = isAllowed(w, utc('2026-03-27T15:00:00Z')); // Fri 16:00 CET
    assert.equal(friday.allowed, false);
    assert.equal(friday.deniedBy, 'Fri 16:00-Mon 06:00');
    assert.match(friday.reason!, /inside deny window "Fri 16:00-Mon 06:00" \(Europe\/Berlin\)/);
    assert.equal(iso(friday.nextAllowed), '2026-03-30T04:00:00.000Z');
    assert.equal(formatInstant(friday.nextAllowed!, BERLIN), 'Mon 2026-03-30 06:00 Europe/Berlin (2026-03-30T04:00:00Z)');
    // During the night the clocks change: still inside.
    assert.equal(isAllowed(w, utc('2026-03-29T01:30:00Z')).allowed, false);
    assert.equal(isAllowed(w, utc('2026-03-30T03:59:59Z')).allowed, false, 'Mon 05:59:59 CEST');
    assert.equal(isAllowed(w, utc('2026-03-30T04:00:00Z')).allowed, true, 'Mon 06:00 CEST');
    assert.equal(
      utc('2026-03-30T04:00:00Z') - utc('2026-03-27T15:00:00Z'),
      (2 * 24 + 14 - 1) * 3_600_000,
      '62 hours of wall clock, 61 real hours',
    );
  });

  it('fall back (2026-10-25): the weekend freeze ends Monday 06:00 CET, 05:00 UTC, one hour longer in UTC', () => {
    const friday = isAllowed(w, utc('2026-10-23T15:00:00Z')); // Fri 17:00 CEST
    assert.equal(friday.allowed, false);
    assert.equal(iso(friday.nextAllowed), '2026-10-26T05:00:00.000Z');
    assert.equal(isAllowed(w, utc('2026-10-23T13:59:00Z')).allowed, true, 'Fri 15:59 CEST');
    assert.equal(iso(isAllowed(w, utc('2026-10-23T13:59:00Z')).closesAt), '2026-10-23T14:00:00.000Z', 'Fri 16:00 CEST');
    assert.equal(isAllowed(w, utc('2026-10-26T04:59:00Z')).allowed, false, 'Mon 05:59 CET');
    assert.equal(isAllowed(w, utc('2026-10-26T05:00:00Z')).allowed, true);
  });

  it('Sunday night and Monday morning are inside the wrapped span; Monday noon to Friday afternoon are outside', () => {
    assert.equal(isAllowed(w, utc('2026-06-07T21:59:00Z')).allowed, false, 'Sun 23:59 CEST');
    assert.equal(isAllowed(w, utc('2026-06-08T03:00:00Z')).allowed, false, 'Mon 05:00 CEST');
    assert.equal(isAllowed(w, utc('2026-06-08T10:00:00Z')).allowed, true, 'Mon 12:00');
    assert.equal(isAllowed(w, utc('2026-06-10T10:00:00Z')).allowed, true, 'Wed 12:00');
  });

  it('the same text in UTC means other instants', () => {
    const u = windows(['Fri 16:00-Mon 06:00'], [], 'UTC');
    assert.equal(isAllowed(u, utc('2026-03-27T15:30:00Z')).allowed, true, 'Fri 15:30 UTC, 16:30 in Berlin');
    assert.equal(iso(isAllowed(u, utc('2026-03-27T16:00:00Z')).nextAllowed), '2026-03-30T06:00:00.000Z');
  });
});

describe('deployment windows: daily spans over midnight and the skipped or repeated hour', () => {
  it('"22:00-06:00" on the night the clocks go forward lasts 7 real hours', () => {
    const w = windows(['22:00-06:00']);
    const start = isAllowed(w, utc('2026-03-28T20:59:00Z')); // Sat 21:59 CET
    assert.equal(iso(start.closesAt), '2026-03-28T21:00:00.000Z');
    const night = isAllowed(w, utc('2026-03-29T01:30:00Z')); // 03:30 CEST
    assert.equal(night.allowed, false);
    assert.equal(iso(night.nextAllowed), '2026-03-29T04:00:00.000Z', 'Sun 06:00 CEST');
  });

  it('a window starting in the skipped hour starts when the clocks jump (luxon moves the wall time forward)', () => {
    const w = windows(['Sun 02:30-Sun 04:00']);
    assert.equal(isAllowed(w, utc('2026-03-29T00:59:00Z')).allowed, true, '01:59 CET');
    assert.equal(isAllowed(w, utc('2026-03-29T01:30:00Z')).allowed, false, '03:30 CEST: 02:30 does not exist, moved to 03:30');
    assert.equal(isAllowed(w, utc('2026-03-29T01:15:00Z')).allowed, true, '03:15 CEST');
    assert.equal(iso(isAllowed(w, utc('2026-03-29T01:30:00Z')).nextAllowed), '2026-03-29T02:00:00.000Z', '04:00 CEST');
  });

  it('a window starting in the repeated hour starts at its second (standard-time) reading, as luxon resolves it', () => {
    const w = windows(['Sun 02:30-Sun 03:30']);
    assert.equal(isAllowed(w, utc('2026-10-25T00:45:00Z')).allowed, true, '02:45 CEST, the first 02:45');
    assert.equal(isAllowed(w, utc('2026-10-25T01:45:00Z')).allowed, false, '02:45 CET, the second');
    assert.equal(iso(isAllowed(w, utc('2026-10-25T01:45:00Z')).nextAllowed), '2026-10-25T02:30:00.000Z', '03:30 CET');
  });
});

describe('deployment windows: allow windows and dated freezes', () => {
  it('outside every allow window: the next one opens Monday 09:00', () => {
    const w = windows([], ['Mon-Fri 09:00-17:00']);
    const friday = isAllowed(w, utc('2026-06-12T16:00:00Z')); // Fri 18:00 CEST
    assert.equal(friday.allowed, false);
    assert.match(friday.reason!, /outside every allow window \("Mon-Fri 09:00-17:00", Europe\/Berlin\)/);
    assert.equal(iso(friday.nextAllowed), '2026-06-15T07:00:00.000Z');
    assert.equal(isAllowed(w, utc('2026-06-15T07:00:00Z')).allowed, true);
  });

  it('a dated holiday freeze and allow windows together: the first allowed instant after both', () => {
    const w = windows(['2026-12-24-2026-12-27'], ['Mon-Fri 09:00-17:00']);
    const v = isAllowed(w, utc('2026-12-23T17:00:00Z')); // Wed 18:00 CET
    assert.equal(v.allowed, false);
    // Thu 24 and Fri 25 are frozen, Sat and Sun are outside the allow windows.
    assert.equal(iso(v.nextAllowed), '2026-12-28T08:00:00.000Z');
    assert.equal(isAllowed(w, utc('2026-12-24T10:00:00Z')).deniedBy, '2026-12-24-2026-12-27');
  });

  it('never allowed: no next time (null) rather than a search without end', () => {
    const v = isAllowed(windows(['00:00-24:00']), utc('2026-06-12T16:00:00Z'));
    assert.equal(v.allowed, false);
    assert.equal(v.nextAllowed, null);
  });

  it('no windows: always allowed, never closes', () => {
    const v = isAllowed(windows([]), utc('2026-06-12T16:00:00Z'));
    assert.deepEqual([v.allowed, v.closesAt], [true, null]);
  });
});
