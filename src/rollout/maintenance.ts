/**
 * Rollouts that keep the serving release: `restart` (every instance replaced by a new one of the
 * same release) and `scale` (a new instance count for it). Both converge like a rolling update
 * with maxUnavailable 0: new instances start first, an instance leaves only once enough others
 * are ready, and it is drained before it stops. Pure, like transition.ts.
 */
import { convergeRolling, withRoute } from './converge.js';
import { abortFailure, detectFailure } from './failure.js';
import type { Action, Observed, ObservedInstance, RolloutView, TransitionResult } from './types.js';

/**
 * Stand-in release number of the instances a restart replaces: the rolling converge then treats
 * them as an older release (they leave as new ones turn ready), although they run the same one.
 */
const REPLACED = -1;

export function maintenanceTransition(rollout: RolloutView, observed: Observed, now: number): TransitionResult {
  const release = rollout.toRelease;
  const base = observed.shapes[release];
  if (!base) throw new Error(`no shape for release ${release}`);
  // A scale's new count, or the count a restart runs at (set by an earlier scale).
  const count = rollout.progress.instances ?? base.instances;
  const shape = { ...base, instances: count };
  const replace = new Set(rollout.kind === 'restart' ? (rollout.progress.replace ?? []) : []);
  const view: ObservedInstance[] = observed.instances.map((i) =>
    replace.has(i.id) && i.release === release ? { ...i, release: REPLACED } : i,
  );
  // Surge as the release's rolling strategy allows (at least one), never below the desired capacity.
  const surge = base.strategy.type === 'rolling' ? base.strategy.maxSurge : 1;
  const step = convergeRolling(shape, view, surge, 0);
  const since = rollout.progress.targetSince ?? rollout.startedAt;
  const progress = { ...rollout.progress, targetSince: since, desired: count, ready: step.ready };
  const what = rollout.kind === 'restart' ? `restart of release ${release}` : `scaling release ${release} to ${count} instance(s)`;

  const abort = rollout.progress.requests?.abort;
  const failure = abort
    ? abortFailure(abort, { reason: 'Aborted', verb: `${what} aborted` })
    : detectFailure(release, view, now - since, base.progressDeadlineMs);
  if (failure) {
    // New instances that are not serving go; the ones serving stay, and the steady state brings
    // the count back to what it was before this rollout.
    const fresh = view.filter((i) => i.release === release && !i.retiring && !(i.state === 'running' && i.healthy));
    const actions: Action[] = fresh.map((i) => ({ type: 'retire', id: i.id, reason: `${rollout.kind} failed` }));
    return withRoute(observed.instances, actions, {
      rollout: {
        // Aborted (abort, or rollback during it) ends RolledBack, as a progressive rollout does.
        phase: abort ? 'RolledBack' : 'Failed',
        targetRelease: release,
        reason: failure.reason,
        finished: true,
        progress: { ...progress, failure },
        message: `${abort ? failure.message : `${what} failed: ${failure.message}`}; release ${release} keeps serving on the instances that were ready`,
      },
      consumed: abort ? ['abort', 'promote', 'pause'] : undefined,
    });
  }
  if (step.done) {
    return withRoute(observed.instances, step.actions, {
      rollout: {
        phase: 'Healthy',
        targetRelease: release,
        reason: 'Completed',
        progress,
        finished: true,
        message:
          rollout.kind === 'restart'
            ? `release ${release} restarted: ${count} new healthy instance(s)`
            : `release ${release} runs ${count} healthy instance(s)`,
      },
    });
  }
  return withRoute(observed.instances, step.actions, {
    rollout: {
      phase: 'Progressing',
      targetRelease: release,
      reason: 'Progressing',
      progress,
      finished: false,
      message: `${what}: ${step.ready}/${count} ${rollout.kind === 'restart' ? 'new ' : ''}instance(s) ready`,
    },
  });
}
