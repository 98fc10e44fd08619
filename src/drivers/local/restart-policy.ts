/**
 * Pure decisions about an instance that exited without being asked to: restart after how long,
 * or give up because it is crash-looping. No I/O, no clock.
 */
import type { RestartPolicy } from '../driver.js';

/** Delay before the restart following the `quickExits`-th consecutive quick exit (1-based; 0 means a long run ended). */
export function backoffMs(policy: RestartPolicy, quickExits: number): number {
  const doublings = Math.max(0, quickExits - 1);
  // Cap the exponent too, so a long-lived counter cannot overflow to Infinity.
  return Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** Math.min(doublings, 30));
}

/** What to do after an unexpected exit. */
export type ExitDecision = { action: 'restart'; delayMs: number; quickExits: number } | { action: 'fail'; quickExits: number };

/**
 * Counts consecutive exits that came within `crashLoopWindowMs` of their start. A run that lasted
 * longer resets the count: the instance worked for a while, so this is a fresh crash, not a loop.
 */
export function decideAfterExit(policy: RestartPolicy, prevQuickExits: number, uptimeMs: number): ExitDecision {
  const quickExits = uptimeMs < policy.crashLoopWindowMs ? prevQuickExits + 1 : 0;
  if (quickExits >= policy.crashLoopExits) return { action: 'fail', quickExits };
  return { action: 'restart', delayMs: backoffMs(policy, quickExits), quickExits };
}
