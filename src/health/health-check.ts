/**
 * What a health check is and what one probe of it returns. Types only (plus the mapping from
 * config), so the pure tracker can share them without pulling in any I/O.
 */
import type { HealthConfig } from '../config/schema.js';

/** One way of checking an instance, with how long a single probe may take. */
export type HealthCheck = (
  | { kind: 'http'; /** Path requested with GET; any 2xx answer passes. */ path: string }
  | { kind: 'tcp' }
  | { kind: 'command'; /** Shell command run with /bin/sh -c; exit 0 passes. */ command: string }
) & {
  /** A probe still running after this many ms fails (and a command is killed). */
  timeoutMs: number;
};

/** Where a probe looks: the instance's address, and for commands its directory and environment. */
export interface ProbeTarget {
  host: string;
  port: number;
  /** Working directory of a command probe (the release directory). */
  cwd: string;
  /** Extra environment of a command probe; PORT is always set to `port`. */
  env: Record<string, string>;
}

/** The outcome of one probe. */
export interface ProbeResult {
  ok: boolean;
  /** Human-readable account, e.g. "GET /healthz → 503 in 12ms: not ready", "connect ECONNREFUSED". */
  detail: string;
  /** Wall-clock time the probe took. */
  durationMs: number;
}

/** Maps the `health` section of a service's config to a check: no probe given means HTTP GET "/". */
export function healthCheckFromConfig(cfg: HealthConfig): HealthCheck {
  const timeoutMs = cfg.timeout;
  if (cfg.command !== undefined) return { kind: 'command', command: cfg.command, timeoutMs };
  if (cfg.tcp === true) return { kind: 'tcp', timeoutMs };
  return { kind: 'http', path: cfg.path ?? '/', timeoutMs };
}
