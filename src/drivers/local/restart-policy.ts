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

/** Delay before the `crashLoops`-th try (1-based) of an instance found crash-looping; null when the policy never retries. */
export function crashLoopRetryMs(policy: RestartPolicy, crashLoops: number): number | null {
  if (!(policy.crashLoopRetryMs > 0)) return null;
  const doublings = Math.max(0, crashLoops - 1);
  return Math.min(policy.crashLoopMaxRetryMs, policy.crashLoopRetryMs * 2 ** Math.min(doublings, 30));
}

/** Counters of an instance's recent exits, kept across restarts. */
export interface ExitHistory {
  /** Consecutive exits within the crash-loop window. */
  quickExits: number;
  /** Times it was found crash-looping since it last ran longer than the window (drives the retry backoff). */
  crashLoops: number;
}

/** What to do after an unexpected exit. `retryInMs` null: failed for good. */
export type ExitDecision =
  ({ action: 'restart'; delayMs: number } & ExitHistory) | ({ action: 'fail'; retryInMs: number | null } & ExitHistory);

/**
 * Counts consecutive exits that came within `crashLoopWindowMs` of their start. A run that lasted
 * longer resets both counts: the instance worked for a while, so this is a fresh crash, not a loop.
 * Once crash-looping, every further quick exit fails again at once, with a doubled retry delay.
 */
export function decideAfterExit(policy: RestartPolicy, prev: ExitHistory, uptimeMs: number): ExitDecision {
  const long = uptimeMs >= policy.crashLoopWindowMs;
  const quickExits = long ? 0 : prev.quickExits + 1;
  const crashLoops = long ? 0 : prev.crashLoops;
  if (quickExits >= policy.crashLoopExits)
    return { action: 'fail', quickExits, crashLoops: crashLoops + 1, retryInMs: crashLoopRetryMs(policy, crashLoops + 1) };
  return { action: 'restart', delayMs: backoffMs(policy, quickExits), quickExits, crashLoops };
}
