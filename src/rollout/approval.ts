/**
 * Manual approval as part of the pure engine. A deploy to an environment that requires approval
 * is created with `progress.approval.state = 'pending'`: until a person decides, the transition
 * holds the service as it is (the serving release at its count, healed as in steady state) and
 * keeps the rollout in `AwaitingApproval`. Approving lets the strategy run as if the rollout had
 * started at that moment (its deadlines count from the approval, not from the request); rejecting
 * ends it `Failed` (reason `Rejected`) without having touched anything. The decision itself is
 * written by controller/approvals.ts, under the service's lock, like every request from people.
 */
import { abortFailure } from './failure.js';
import type { RolloutView, TransitionResult } from './types.js';

/** Whether the rollout still waits for (or was refused) approval: then `awaitingApproval` decides the tick. */
export function undecided(rollout: RolloutView): boolean {
  const a = rollout.progress.approval;
  return a !== undefined && a.state !== 'approved';
}

/**
 * The tick of a rollout that waits for approval. `hold` is what steady state would do (keep the
 * serving release as it is); the rollout stays `AwaitingApproval`, or ends when rejected or aborted.
 */
export function awaitingApproval(rollout: RolloutView, hold: TransitionResult, current: number | null): TransitionResult {
  const approval = rollout.progress.approval!;
  const serving = current === null ? 'nothing was started' : `release ${current} goes on serving, untouched`;
  const end = (reason: string, message: string, consumed?: TransitionResult['consumed']): TransitionResult => ({
    ...hold,
    rollout: { phase: 'Failed', targetRelease: rollout.toRelease, reason, message, progress: rollout.progress, finished: true },
    ...(consumed ? { consumed } : {}),
  });
  if (approval.state === 'rejected') {
    const why = approval.comment ? `: ${approval.comment}` : '';
    return end('Rejected', `release ${rollout.toRelease} was rejected by ${approval.by ?? 'someone'}${why}; ${serving}`);
  }
  const abort = rollout.progress.requests?.abort;
  if (abort) {
    const failure = abortFailure(abort);
    return end(failure.reason, `${failure.message} while it waited for approval; ${serving}`, ['abort', 'promote', 'pause']);
  }
  return {
    ...hold,
    rollout: {
      phase: 'AwaitingApproval',
      targetRelease: rollout.toRelease,
      reason: 'AwaitingApproval',
      message: `release ${rollout.toRelease} waits for approval; approve with \`${approval.command}\` (or reject it)`,
      progress: rollout.progress,
      finished: false,
    },
  };
}

/** An approved rollout runs as if it began when it was approved: its deadlines and pauses count from then. */
export function startedOnApproval(rollout: RolloutView): RolloutView {
  const at = rollout.progress.approval?.at;
  return at !== undefined && at > rollout.startedAt ? { ...rollout, startedAt: at } : rollout;
}
