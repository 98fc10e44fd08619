/**
 * A ramp schedule as people write it: `10% now, 50% in 1h, 100% in 1d` (docs/flags.md, "Ramps").
 * Each step is a percentage and a time: `now`, `in DURATION` (from when the ramp is made: `30m`,
 * `1h`, `1d`, `1d12h`) or `at ISO-TIME`. Pure: the caller gives the time it counts from.
 */
import { parseDuration } from '../core/duration.js';
import { SlipwayError } from '../core/errors.js';
import type { FlagRampStep } from '../store/flag-types.js';

const DAY = 86_400_000;
const STEP = /^(\d+(?:\.\d+)?)\s*%?\s+(now|in\s+(\S+)|at\s+(\S+))$/i;

/**
 * The steps of `schedule`, their times counted from `now`, in order.
 * @throws SlipwayError FLAG_RAMP_INVALID naming the step that cannot be read
 */
export function parseRampSchedule(schedule: string, now: number): FlagRampStep[] {
  const parts = schedule
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (!parts.length) throw invalid(`the schedule is empty`);
  const steps = parts.map((part, i): FlagRampStep => {
    const m = STEP.exec(part);
    if (!m) throw invalid(`step ${i + 1} ("${part}") is not "PERCENT% now", "PERCENT% in DURATION" or "PERCENT% at ISO-TIME"`);
    const percent = Number(m[1]);
    if (!(percent >= 0 && percent <= 100) || Math.round(percent * 100) !== percent * 100)
      throw invalid(`step ${i + 1} ("${part}"): a percentage from 0 to 100 in steps of 0.01`);
    let at = now;
    if (m[3] !== undefined) {
      const ms = durationWithDays(m[3]);
      if (ms === undefined) throw invalid(`step ${i + 1} ("${part}"): "${m[3]}" is not a duration such as 30m, 1h, 1d or 1d12h`);
      at = now + ms;
    } else if (m[4] !== undefined) {
      at = Date.parse(m[4]);
      if (!Number.isFinite(at)) throw invalid(`step ${i + 1} ("${part}"): "${m[4]}" is not an ISO 8601 time such as 2026-12-01T09:00Z`);
      if (at < now) throw invalid(`step ${i + 1} ("${part}") is in the past`);
    }
    return { at, percent };
  });
  for (let i = 1; i < steps.length; i++)
    if (steps[i]!.at <= steps[i - 1]!.at) throw invalid(`step ${i + 1} ("${parts[i]}") is not later than step ${i} ("${parts[i - 1]}")`);
  return steps;
}

/** "1d", "1d12h", "90m": parseDuration's units and days. */
function durationWithDays(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)d(.*)$/.exec(text);
  if (!m) return parseDuration(text);
  const rest = m[2] === '' ? 0 : parseDuration(m[2]!);
  return rest === undefined ? undefined : Math.round(Number(m[1]) * DAY) + rest;
}

function invalid(message: string): SlipwayError {
  return SlipwayError.of('FLAG_RAMP_INVALID', `cannot follow the ramp: ${message}`, {
    hint: 'Write it as: slipway flags ramp KEY "10% now, 50% in 1h, 100% in 1d" (in DURATION counts from now; or at 2026-12-01T09:00Z).',
  });
}
