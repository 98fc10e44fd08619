import type { RolloutProgress, TransitionResult } from './types.js';

/**
 * The progress to record after a transition: the rollout's new progress with the requests it
 * consumed cleared (so a promote is acted on once). What the controller persists, and what the
 * transition tests feed into the next step.
 */
export function settledProgress(result: TransitionResult): RolloutProgress {
  const progress = result.rollout!.progress;
  if (!result.consumed?.length || !progress.requests) return progress;
  const requests = { ...progress.requests };
  for (const k of result.consumed) delete requests[k];
  return { ...progress, requests };
}
