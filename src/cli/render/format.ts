/**
 * Formatting of values read back from the controller for people. Every function here is total:
 * records written by older versions, a measurement over zero requests (NaN, stored as null), a
 * field missing from a half-written rollout: all render as "-" (or ∞), never as "NaN", "null",
 * "undefined", and never throw. Text is escaped for the terminal (see core/terminal-text.ts).
 */
import { terminalLine } from '../../core/terminal-text.js';

const NONE = '-';

function finite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** A count, id, port or release number: the number, or "-" when missing or not a number. */
export function num(v: unknown): string {
  if (finite(v)) return String(v);
  if (v === Infinity) return '∞';
  if (v === -Infinity) return '-∞';
  return NONE;
}

/** A measured value, to 4 significant digits: 0.6234 → "0.6234", 123456 → "1.235e+5". */
export function measured(v: unknown): string {
  if (!finite(v)) return num(v);
  return String(+v.toPrecision(4));
}

/** A share from 0 to 1 as a whole percentage ("25%"), "-" when unknown. */
export function percent(share: unknown): string {
  const p = finite(share) ? Math.round(share * 100) : NaN;
  return Number.isFinite(p) ? `${p}%` : NONE;
}

/** The numbers behind a judgement, compactly: "rate=0.62 requests=120"; '' when there are none. */
export function formatNumbers(numbers: unknown): string {
  if (typeof numbers !== 'object' || numbers === null) return '';
  return Object.entries(numbers as Record<string, unknown>)
    .map(([k, v]) => `${terminalLine(k)}=${measured(v)}`)
    .join(' ');
}

/** How long ago a timestamp (ms since the epoch) was: "5s ago", "3h ago"; "-" when unknown. */
export function ago(ms: unknown, now = Date.now()): string {
  if (!finite(ms)) return NONE;
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** The first line of a message, escaped; '' when missing. */
export function firstLine(message: unknown): string {
  return typeof message === 'string' ? terminalLine(message.split('\n')[0]) : '';
}

/** Each line of a multi-line message, escaped. */
export function lines(message: unknown): string[] {
  return typeof message === 'string' && message !== '' ? message.split('\n').map(terminalLine) : [];
}

/** A text field as one escaped line, `fallback` when missing. */
export function text(v: unknown, fallback = ''): string {
  return v === null || v === undefined || v === '' ? fallback : terminalLine(v);
}

/**
 * An analysis run's key as people read it, numbered the way steps are ("step 3/5 errors"):
 * keys are `step<0-based index>:check`, `bg:check`, `pre:check` and `post:check`.
 */
export function analysisLabel(key: unknown, steps?: unknown): string {
  const k = typeof key === 'string' ? key : '';
  const colon = k.indexOf(':');
  const prefix = colon < 0 ? '' : k.slice(0, colon);
  const check = terminalLine(colon < 0 ? k : k.slice(colon + 1)) || NONE;
  const step = /^step(\d+)$/.exec(prefix);
  if (step) return `step ${Number(step[1]) + 1}${finite(steps) ? `/${steps}` : ''} ${check}`;
  const named: Record<string, string> = { bg: 'background', pre: 'pre-promotion', post: 'post-promotion' };
  return prefix in named ? `${named[prefix]} ${check}` : prefix ? `${terminalLine(prefix)} ${check}` : check;
}
