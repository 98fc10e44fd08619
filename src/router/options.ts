import { SlipwayError } from '../core/errors.js';

/** A `--name N` option in milliseconds (the router's command lines). */
export function intOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw SlipwayError.of('ROUTER_USAGE', `--${name}: expected a whole number of milliseconds, got "${value}"`);
  return n;
}

/** The command line of the router's supervisor (main.ts) and of its workers (worker.ts), which get the same timeouts. */
export const ROUTER_OPTIONS = {
  'state-dir': { type: 'string' },
  'grace-ms': { type: 'string' },
  'upstream-timeout-ms': { type: 'string' },
  'body-timeout-ms': { type: 'string' },
  /** Supervisor only: how many proxy workers share the listening sockets (ADR 0014). */
  workers: { type: 'string' },
} as const;

/** `--workers N`: a whole number from 1 to `max`. */
export function workersOption(value: string | undefined, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw SlipwayError.of('ROUTER_USAGE', `--workers: expected a whole number from 1 to ${max}, got "${value}"`);
  return n;
}
