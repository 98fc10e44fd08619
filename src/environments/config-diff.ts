/**
 * What `slipway plan` shows of a config change: the serving release's service config and the one
 * a deploy would record, flattened to dotted keys (`env.LOG_LEVEL`, `strategy.steps[1].pause`)
 * and compared key by key. Values of secrets are never shown, only that they changed. Pure.
 */
import { formatDuration } from '../core/duration.js';

export interface ConfigChange {
  key: string;
  /** The value as people read it (durations as "30s", text quoted); null when the key is new. */
  from: string | null;
  /** null when the key is gone. */
  to: string | null;
  /** The key names a secret: both values are shown as "(secret)". */
  secret?: boolean;
}

/** Keys (last segment) whose numbers are milliseconds in the parsed config. */
const DURATION_KEYS = new Set(['stopTimeout', 'progressDeadline', 'interval', 'timeout', 'scaleDownDelay', 'pause', 'delayMs']);
const SECRET = '(secret)';

/**
 * The per-key differences from `before` (null: nothing serves yet, every key is new) to `after`.
 * `secrets`: names whose values are masked wherever they appear as the last key segment (env.API_KEY).
 */
export function configDiff(before: unknown, after: unknown, secrets: readonly string[] = []): ConfigChange[] {
  const a = before === null || before === undefined ? new Map<string, unknown>() : flatten(before);
  const b = flatten(after);
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  const changes: ConfigChange[] = [];
  for (const key of keys) {
    const x = a.get(key);
    const y = b.get(key);
    if (a.has(key) && b.has(key) && JSON.stringify(x) === JSON.stringify(y)) continue;
    const secret = secrets.includes(lastSegment(key));
    const show = (has: boolean, v: unknown) => (!has ? null : secret ? SECRET : render(key, v));
    changes.push({ key, from: show(a.has(key), x), to: show(b.has(key), y), ...(secret ? { secret: true } : {}) });
  }
  return changes;
}

/** Leaves of a JSON-like value by dotted path; an empty object or list is a leaf of its own. */
function flatten(value: unknown, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (Array.isArray(value)) {
    if (value.length === 0 && prefix) out.set(prefix, []);
    value.forEach((v, i) => flatten(v, `${prefix}[${i}]`, out));
  } else if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    if (entries.length === 0 && prefix) out.set(prefix, {});
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) out.set(prefix, value);
  return out;
}

function lastSegment(key: string): string {
  return (
    key
      .replace(/\[\d+\]$/, '')
      .split('.')
      .at(-1) ?? key
  );
}

function render(key: string, v: unknown): string {
  if (typeof v === 'number' && DURATION_KEYS.has(lastSegment(key))) return formatDuration(v);
  if (typeof v === 'string') return JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}
