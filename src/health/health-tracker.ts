/**
 * Pure health bookkeeping: turns a stream of probe results into "healthy or not" using
 * consecutive-result thresholds, so one slow answer neither admits nor evicts an instance.
 * No I/O and no clock: the monitor feeds it results.
 */
import type { ProbeResult } from './health-check.js';

/** How many consecutive results flip an instance's health. */
export interface HealthThresholds {
  /** Consecutive passes before an instance counts as healthy. @default 1 */
  healthyAfter: number;
  /** Consecutive failures before a healthy instance counts as unhealthy. @default 3 */
  unhealthyAfter: number;
}

/** What is known about one instance's health. */
export interface HealthStatus {
  healthy: boolean;
  /** Whether it has ever been healthy: a rollout tells "never came up" from "went down". */
  everHealthy: boolean;
  /** The latest probe result, or null before the first probe finished. */
  lastResult: ProbeResult | null;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
}

/** The status of an instance not probed yet: unhealthy until proven otherwise. */
export function initialHealth(): HealthStatus {
  return { healthy: false, everHealthy: false, lastResult: null, consecutiveFailures: 0, consecutiveSuccesses: 0 };
}

/** The status after one more probe result. */
export function nextHealth(prev: HealthStatus, result: ProbeResult, t: HealthThresholds): HealthStatus {
  const consecutiveSuccesses = result.ok ? prev.consecutiveSuccesses + 1 : 0;
  const consecutiveFailures = result.ok ? 0 : prev.consecutiveFailures + 1;
  let healthy = prev.healthy;
  if (!healthy && consecutiveSuccesses >= t.healthyAfter) healthy = true;
  else if (healthy && consecutiveFailures >= t.unhealthyAfter) healthy = false;
  return { healthy, everHealthy: prev.everHealthy || healthy, lastResult: result, consecutiveFailures, consecutiveSuccesses };
}

/** Health of many instances, keyed by instance id. */
export class HealthTracker {
  private readonly states = new Map<string, HealthStatus>();

  /** Records a result; returns the new status and whether `healthy` flipped. */
  record(id: string, result: ProbeResult, t: HealthThresholds): { status: HealthStatus; flipped: boolean } {
    const prev = this.states.get(id) ?? initialHealth();
    const status = nextHealth(prev, result, t);
    this.states.set(id, status);
    return { status, flipped: status.healthy !== prev.healthy };
  }

  /** The status of an instance, or undefined when nothing was recorded for it. */
  get(id: string): HealthStatus | undefined {
    return this.states.get(id);
  }

  /** Forgets an instance. */
  delete(id: string): void {
    this.states.delete(id);
  }
}
