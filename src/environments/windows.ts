/**
 * Deployment windows: when an environment takes deploys. Written as text in slipway.yaml
 * (`deny: ["Fri 16:00-Mon 06:00"]`, `allow: ["Mon-Fri 09:00-17:00"]`, `timezone: Europe/Berlin`),
 * parsed once at config load into spans, and judged by a pure function of the spans and an
 * instant (`isAllowed`). Wall-clock times are read in the window's time zone with luxon, so a
 * window keeps its local meaning across daylight-saving changes (ADR 0019).
 */
import { DateTime } from 'luxon';

/** 1 = Monday … 7 = Sunday (ISO, as luxon numbers them). */
export type Weekday = 1 | 2 | 3 | 4 | 5 | 6 | 7;

/** A span that repeats every week: from a weekday and time to a weekday and time (wrapping the week when the end comes first). */
export interface WeeklySpan {
  kind: 'weekly';
  startDay: Weekday;
  /** Minutes after local midnight, 0 to 1440 (24:00). */
  startMinute: number;
  endDay: Weekday;
  endMinute: number;
}

/** A span between two local dates and times, once (a freeze over the holidays). */
export interface DatedSpan {
  kind: 'dated';
  start: LocalTime;
  end: LocalTime;
}

export interface LocalTime {
  year: number;
  month: number;
  day: number;
  minute: number;
}

export type Span = WeeklySpan | DatedSpan;

/** One entry of `deny:` or `allow:` as written, and the spans it stands for. */
export interface WindowEntry {
  text: string;
  spans: Span[];
}

/** The parsed `windows:` of an environment. Empty `allow` means "any time not denied". */
export interface Windows {
  timezone: string;
  deny: WindowEntry[];
  allow: WindowEntry[];
}

export interface WindowVerdict {
  allowed: boolean;
  /** Why not, in words ("inside deny window \"Fri 16:00-Mon 06:00\""); undefined when allowed. */
  reason?: string;
  /** The deny entry that applies, as written. */
  deniedBy?: string;
  /** The earliest instant (ms) at or after the one asked about when a deploy is allowed; null when never within a year. */
  nextAllowed: number | null;
  /** While allowed: when the window next closes (ms); null when it does not within a year. */
  closesAt?: number | null;
}

const DAYS: Record<string, Weekday> = { mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6, sun: 7 };
const DAY = '(mon|tue|wed|thu|fri|sat|sun)[a-z]*';
const TIME = '(\\d{1,2}):(\\d{2})';
const DATE = '(\\d{4})-(\\d{2})-(\\d{2})';
const WEEK_SPAN = new RegExp(`^${DAY}\\s+${TIME}\\s*-\\s*${DAY}\\s+${TIME}$`, 'i');
const DAILY = new RegExp(`^(?:(${DAY}(?:\\s*-\\s*${DAY})?(?:\\s*,\\s*${DAY}(?:\\s*-\\s*${DAY})?)*)\\s+)?${TIME}\\s*-\\s*${TIME}$`, 'i');
const DATED = new RegExp(`^${DATE}(?:\\s+${TIME})?\\s*(?:-|\\.\\.|to)\\s*${DATE}(?:\\s+${TIME})?$`, 'i');

/** What the grammar accepts, for error messages and docs. */
export const WINDOW_FORMS =
  '"Fri 16:00-Mon 06:00" (a span across days), "Mon-Fri 09:00-17:00" or "Sat,Sun 00:00-24:00" (each of those days), "22:00-06:00" (every day), "2026-12-24-2026-12-27" or "2026-12-24 12:00 to 2026-12-27 06:00" (once)';

/** Is `zone` an IANA time zone name luxon (and the platform's Intl) knows? */
export function validTimezone(zone: string): boolean {
  return DateTime.now().setZone(zone).isValid;
}

/**
 * Parses one window entry. Returns the spans, or the problem in words (the caller adds where).
 */
export function parseWindow(text: string): { spans: Span[] } | { error: string } {
  const s = text.trim();
  let m = WEEK_SPAN.exec(s);
  if (m) {
    const start = minutes(m[2]!, m[3]!);
    const end = minutes(m[5]!, m[6]!);
    if (typeof start === 'string') return { error: start };
    if (typeof end === 'string') return { error: end };
    const span: WeeklySpan = { kind: 'weekly', startDay: day(m[1]!), startMinute: start, endDay: day(m[4]!), endMinute: end };
    if (weekKey(span.startDay, start) === weekKey(span.endDay, end))
      return { error: `"${s}" starts where it ends; to deny the whole week write "Mon 00:00-Sun 24:00"` };
    return { spans: [span] };
  }
  m = DATED.exec(s);
  if (m) {
    const start = localTime(m[1]!, m[2]!, m[3]!, m[4], m[5], 0);
    // A date alone as the end means "to the end of that day".
    const end = localTime(m[6]!, m[7]!, m[8]!, m[9], m[10], 1);
    if (typeof start === 'string') return { error: start };
    if (typeof end === 'string') return { error: end };
    if (compareLocal(start, end) >= 0) return { error: `"${s}" ends before it starts` };
    return { spans: [{ kind: 'dated', start, end }] };
  }
  m = DAILY.exec(s);
  if (m) {
    const days = m[1] === undefined ? ([1, 2, 3, 4, 5, 6, 7] as Weekday[]) : dayList(m[1]);
    const start = minutes(m[m.length - 4]!, m[m.length - 3]!);
    const end = minutes(m[m.length - 2]!, m[m.length - 1]!);
    if (typeof start === 'string') return { error: start };
    if (typeof end === 'string') return { error: end };
    if (start === end) return { error: `"${s}" starts where it ends; to deny whole days write 00:00-24:00` };
    // An end before the start runs over midnight into the next day (22:00-06:00).
    return {
      spans: days.map((d) => ({
        kind: 'weekly',
        startDay: d,
        startMinute: start,
        endDay: (end > start ? d : (d % 7) + 1) as Weekday,
        endMinute: end,
      })),
    };
  }
  return { error: `"${s}" is not a window; write one like ${WINDOW_FORMS}` };
}

/**
 * Whether a deploy may start at `at` (ms): inside no deny window, and inside an allow window
 * when any are given. With it, the next instant a deploy is allowed (it may be `at` itself).
 */
export function isAllowed(windows: Windows, at: number): WindowVerdict {
  const now = judge(windows, at);
  if (now.allowed) return { allowed: true, nextAllowed: at, closesAt: nextChange(windows, at, false) };
  return { ...now, nextAllowed: nextChange(windows, at, true) };
}

/** Renders an instant in the window's zone and in UTC: "Mon 2026-03-30 06:00 Europe/Berlin (2026-03-30T04:00:00Z)". */
export function formatInstant(ms: number, zone: string): string {
  const local = DateTime.fromMillis(ms, { zone }).toFormat('ccc yyyy-LL-dd HH:mm');
  const utc = DateTime.fromMillis(ms, { zone: 'UTC' }).toFormat("yyyy-LL-dd'T'HH:mm:ss'Z'");
  return `${local} ${zone} (${utc})`;
}

// ------------------------------------------------------------------ evaluation

/** Far enough for any yearly freeze; the search gives up (null) past it. */
const HORIZON_MS = 366 * 86_400_000;

function judge(windows: Windows, at: number): { allowed: boolean; reason?: string; deniedBy?: string } {
  for (const entry of windows.deny) {
    if (entry.spans.some((span) => contains(span, windows.timezone, at)))
      return { allowed: false, reason: `inside deny window "${entry.text}" (${windows.timezone})`, deniedBy: entry.text };
  }
  if (windows.allow.length && !windows.allow.some((e) => e.spans.some((span) => contains(span, windows.timezone, at))))
    return {
      allowed: false,
      reason: `outside every allow window (${windows.allow.map((e) => `"${e.text}"`).join(', ')}, ${windows.timezone})`,
    };
  return { allowed: true };
}

/**
 * The first instant at or after `at` where the verdict is `wanted`. The verdict changes only at a
 * span's start or end, so walking from boundary to boundary finds it; bounded by HORIZON_MS.
 */
function nextChange(windows: Windows, at: number, wanted: boolean): number | null {
  const spans = [...windows.deny, ...windows.allow].flatMap((e) => e.spans);
  // Weekly spans repeat: a week past the last dated boundary has shown every verdict there is.
  const lastDated = Math.max(at, ...spans.flatMap((s) => (s.kind === 'dated' ? [instant(s.end, windows.timezone)] : [])));
  const horizon = Math.min(at + HORIZON_MS, lastDated + 8 * 86_400_000);
  let t = at;
  for (let i = 0; i < 10_000 && t <= horizon; i++) {
    if (judge(windows, t).allowed === wanted) return t;
    let next = Infinity;
    for (const span of spans)
      for (const [s, e] of occurrences(span, windows.timezone, t)) {
        if (s > t && s < next) next = s;
        if (e > t && e < next) next = e;
      }
    if (next === Infinity) return null;
    t = next;
  }
  return null;
}

function contains(span: Span, zone: string, at: number): boolean {
  return occurrences(span, zone, at).some(([s, e]) => s <= at && at < e);
}

/** The span's occurrences (start inclusive, end exclusive, in ms) around `at`: the weeks before, of and after it. */
function occurrences(span: Span, zone: string, at: number): [number, number][] {
  if (span.kind === 'dated') return cached(`${zone} ${JSON.stringify(span)}`, () => [[instant(span.start, zone), instant(span.end, zone)]]);
  const week = DateTime.fromMillis(at, { zone }).startOf('week');
  const wraps = weekKey(span.endDay, span.endMinute) <= weekKey(span.startDay, span.startMinute);
  const key = `${zone} ${span.startDay} ${span.startMinute} ${span.endDay} ${span.endMinute} ${week.toMillis()}`;
  return cached(key, () => {
    const out: [number, number][] = [];
    for (const k of [-1, 0, 1]) {
      const monday = week.plus({ weeks: k });
      const start = at_(monday, span.startDay - 1, span.startMinute);
      const end = at_(monday, span.endDay - 1 + (wraps ? 7 : 0), span.endMinute);
      out.push([start, end]);
    }
    return out;
  });
}

/**
 * Occurrences by span and week, remembered: the walk from boundary to boundary asks for the same
 * weeks again and again, and each costs a few luxon conversions. A value depends only on its key,
 * so the cache changes no answer; it is bounded and simply emptied when full.
 */
const OCCURRENCES = new Map<string, [number, number][]>();
function cached(key: string, compute: () => [number, number][]): [number, number][] {
  let v = OCCURRENCES.get(key);
  if (v === undefined) {
    if (OCCURRENCES.size >= 20_000) OCCURRENCES.clear();
    v = compute();
    OCCURRENCES.set(key, v);
  }
  return v;
}

/**
 * `days` calendar days after `monday` (local midnight), at `minute` of that day. Calendar
 * arithmetic, then the wall time: a time that does not exist (the hour skipped in spring) is
 * moved forward by luxon, an ambiguous one (repeated in autumn) resolved by it consistently.
 */
function at_(monday: DateTime, days: number, minute: number): number {
  const d = monday.plus({ days: days + Math.floor(minute / 1440) });
  const m = minute % 1440;
  return DateTime.fromObject(
    { year: d.year, month: d.month, day: d.day, hour: Math.floor(m / 60), minute: m % 60 },
    { zone: monday.zone },
  ).toMillis();
}

function instant(t: LocalTime, zone: string): number {
  return at_(DateTime.fromObject({ year: t.year, month: t.month, day: t.day }, { zone }), 0, t.minute);
}

// ------------------------------------------------------------------ parsing helpers

function weekKey(day: Weekday, minute: number): number {
  return (day - 1) * 1440 + minute;
}

function day(word: string): Weekday {
  return DAYS[word.slice(0, 3).toLowerCase()]!;
}

/** "Mon-Fri", "Sat,Sun", "Mon-Wed,Fri", "Fri-Mon" (wrapping the week). */
function dayList(text: string): Weekday[] {
  const out = new Set<Weekday>();
  for (const part of text.split(',')) {
    const [a, b] = part.split('-').map((w) => day(w.trim()));
    if (b === undefined) out.add(a!);
    else
      for (let d = a!; ; d = ((d % 7) + 1) as Weekday) {
        out.add(d);
        if (d === b) break;
      }
  }
  return [...out].sort();
}

function minutes(h: string, m: string): number | string {
  const hours = Number(h);
  const mins = Number(m);
  if (mins > 59 || hours > 24 || (hours === 24 && mins > 0)) return `${h}:${m} is not a time of day (00:00 to 24:00)`;
  return hours * 60 + mins;
}

function localTime(y: string, mo: string, d: string, h: string | undefined, mi: string | undefined, endOfDay: 0 | 1): LocalTime | string {
  const date = DateTime.fromObject({ year: Number(y), month: Number(mo), day: Number(d) }, { zone: 'UTC' });
  if (!date.isValid) return `${y}-${mo}-${d} is not a date`;
  const minute = h === undefined ? endOfDay * 1440 : minutes(h, mi!);
  if (typeof minute === 'string') return minute;
  return { year: date.year, month: date.month, day: date.day, minute };
}

function compareLocal(a: LocalTime, b: LocalTime): number {
  return a.year - b.year || a.month - b.month || a.day - b.day || a.minute - b.minute;
}
