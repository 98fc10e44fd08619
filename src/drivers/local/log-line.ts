/**
 * The on-disk format of an instance log line: `<time> <text>\n`, the time taken by the log writer
 * when it read the line from the instance (ISO 8601, UTC, microseconds:
 * `2026-11-29T15:45:22.123456Z`). One writer per instance stamps each read with a time, strictly
 * increasing across both streams, so sorting by time restores the order in which it read them;
 * the lines of one read share its time (a time is no cursor: see log-after.ts).
 * Lines without that prefix (files written before timestamps) parse with `at: null`.
 */

import type { LogRecord } from '../driver.js';

/** One line of an instance's output (the driver interface's `LogRecord`). */
export type LogEntry = LogRecord;

const PREFIX = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})(\d{3})Z /;

/** Formats a time for the line prefix (and the API): microseconds, UTC. */
export function formatLogTime(atMs: number): string {
  const totalMicros = Math.round(atMs * 1000);
  const micros = ((totalMicros % 1000) + 1000) % 1000;
  return `${new Date((totalMicros - micros) / 1000).toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}

export function formatLogLine(atMs: number, text: string): string {
  return `${formatLogTime(atMs)} ${text}\n`;
}

/** Splits a stored line (without its newline) into time and text. */
export function parseLogLine(raw: string): { at: number | null; text: string } {
  const m = PREFIX.exec(raw);
  if (!m) return { at: null, text: raw };
  return { at: Date.parse(`${m[1]!}Z`) + Number(m[2]) / 1000, text: raw.slice(m[0].length) };
}

/** Parses a time given by a person or a client: an ISO date/time, or an age like "90s", "5m", "2h", "1d" before `now`. */
export function parseSince(value: string, now: number): number | undefined {
  const age = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
  if (age) return now - Number(age[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[age[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})(\d{3})Z$/.exec(value.trim());
  if (m) return Date.parse(`${m[1]!}Z`) + Number(m[2]) / 1000;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * Merges the entries of several streams, each already in time order, into one time order.
 * A line without a time keeps its place in its stream (it takes the time of the line before it).
 * Stable: equal times keep the order of `lists`.
 */
export function mergeByTime<T extends Pick<LogEntry, 'at'>>(lists: T[][]): T[] {
  const keyed: { key: number; list: number; index: number; e: T }[] = [];
  lists.forEach((list, li) => {
    let last = -Infinity;
    list.forEach((e, index) => {
      if (e.at !== null) last = e.at;
      keyed.push({ key: last, list: li, index, e });
    });
  });
  keyed.sort((a, b) => a.key - b.key || a.list - b.list || a.index - b.index);
  return keyed.map((k) => k.e);
}
