/**
 * The heart of the rollout engine: `transition(rollout, observed, now) → { status, actions }`.
 * Pure: no I/O, no clock of its own. Safe to call again after a crash, since it recomputes
 * everything from what it is shown.
 */
import { formatDuration } from '../core/duration.js';
import { converge, routeOf, withRoute } from './converge.js';
import { canaryTransition } from './canary.js';
import { blueGreenTransition } from './blue-green.js';
import { abortFailure, detectFailure, servesAllTraffic, type Failure } from './failure.js';
import { maintenanceTransition } from './maintenance.js';
import { awaitingApproval, startedOnApproval, undecided } from './approval.js';
import type { Action, Observed, RolloutView, TransitionResult } from './types.js';

export function transition(rollout: RolloutView | null, observed: Observed, now: number): TransitionResult {
  if (rollout === null) return steady(observed);
  // Waiting for a person's approval: the service stays exactly as in steady state.
  if (undecided(rollout)) return awaitingApproval(rollout, steady(observed), observed.current);
  return progressing(startedOnApproval(rollout), observed, now);
}

/** No rollout: keep the current release at its desired count and remove anything else. */
function steady(observed: Observed): TransitionResult {
  const { current, instances } = observed;
  if (current === null) return { route: routeOf(instances), actions: [] };
  const shape = observed.shapes[current];
  if (!shape) throw new Error(`no shape for current release ${current}`);
  const actions: Action[] = [];
  for (const i of instances) {
    if (!i.retiring && i.release !== current) actions.push({ type: 'retire', id: i.id, reason: `release ${i.release} is not current` });
  }
  // A failed (crash-looping) instance keeps its slot: the driver retries it in place with a capped
  // backoff (RestartPolicy.crashLoopRetryMs), shown in status, rather than replacing it in a loop.
  const mine = instances.filter((i) => !i.retiring && i.release === current && i.state !== 'stopped');
  for (let k = mine.length; k < shape.instances; k++) actions.push({ type: 'start', release: current });
  const extra = mine
    .filter((i) => i.state === 'failed')
    .concat(mine.filter((i) => i.state !== 'failed'))
    .slice(0, Math.max(0, mine.length - shape.instances));
  for (const i of extra) actions.push({ type: 'retire', id: i.id, reason: 'more instances than desired' });
  return withRoute(instances, actions, {});
}

function progressing(rollout: RolloutView, observed: Observed, now: number): TransitionResult {
  if (rollout.kind === 'restart' || rollout.kind === 'scale') return maintenanceTransition(rollout, observed, now);
  const strategy = observed.shapes[rollout.toRelease]?.strategy;
  const progressive = rollout.kind !== 'rollback' && rollout.fromRelease !== null && observed.shapes[rollout.fromRelease] !== undefined;
  if (progressive && strategy?.type === 'canary') return canaryTransition(rollout, observed, now, strategy);
  if (progressive && strategy?.type === 'blueGreen') return blueGreenTransition(rollout, observed, now, strategy);

  const reverting = rollout.targetRelease !== rollout.toRelease;
  const abort = rollout.progress.requests?.abort;
  if (abort && !reverting) {
    const r = fail(rollout, observed, now, abortFailure(abort));
    return { ...r, consumed: ['abort', 'promote', 'pause'] };
  }
  const since = rollout.progress.targetSince ?? rollout.startedAt;
  const shape = observed.shapes[rollout.targetRelease];
  if (!shape) throw new Error(`no shape for target release ${rollout.targetRelease}`);
  const step = converge(shape, observed.instances);
  const progress = { ...rollout.progress, targetSince: since, desired: shape.instances, ready: step.ready };

  if (!reverting) {
    const failure = detectFailure(rollout.toRelease, observed.instances, now - since, shape.progressDeadlineMs);
    if (failure) return fail(rollout, observed, now, failure);
    if (step.done) {
      return withRoute(observed.instances, step.actions, {
        rollout: {
          phase: 'Healthy',
          targetRelease: rollout.toRelease,
          reason: 'Completed',
          message: servesAllTraffic(rollout.toRelease, shape.instances),
          progress,
          finished: true,
        },
        setCurrent: rollout.toRelease,
      });
    }
    return withRoute(observed.instances, step.actions, {
      rollout: {
        phase: 'Progressing',
        targetRelease: rollout.toRelease,
        reason: 'Progressing',
        message: `${step.ready}/${shape.instances} instance(s) of release ${rollout.toRelease} ready`,
        progress,
        finished: false,
      },
    });
  }

  const failure = progress.failure ?? { reason: 'Failed', message: `release ${rollout.toRelease} failed` };
  if (step.done) {
    return withRoute(observed.instances, step.actions, {
      rollout: {
        phase: 'Failed',
        targetRelease: rollout.targetRelease,
        reason: failure.reason,
        message: `${failure.message}; release ${rollout.targetRelease} serves again on ${shape.instances} instance(s)`,
        progress,
        finished: true,
      },
    });
  }
  if (now - since > shape.progressDeadlineMs) {
    return withRoute(observed.instances, [], {
      rollout: {
        phase: 'Failed',
        targetRelease: rollout.targetRelease,
        reason: 'RevertStalled',
        finished: true,
        progress,
        message: `${failure.message}; restoring release ${rollout.targetRelease} did not complete within ${formatDuration(shape.progressDeadlineMs)} (${step.ready}/${shape.instances} ready). Check \`slipway status\` and the instance logs.`,
      },
    });
  }
  return withRoute(observed.instances, step.actions, {
    rollout: {
      phase: 'Degraded',
      targetRelease: rollout.targetRelease,
      reason: failure.reason,
      message: `${failure.message}; restoring release ${rollout.targetRelease}: ${step.ready}/${shape.instances} ready`,
      progress,
      finished: false,
    },
  });
}

/** The rollout failed: converge back to the previous release, or with none, stop the new one. */
function fail(rollout: RolloutView, observed: Observed, now: number, failure: Failure): TransitionResult {
  const from = rollout.fromRelease;
  if (from === null || !observed.shapes[from]) {
    const actions: Action[] = observed.instances
      .filter((i) => !i.retiring)
      .map((i) => ({ type: 'retire', id: i.id, reason: 'rollout failed' }));
    return withRoute(observed.instances, actions, {
      rollout: {
        phase: 'Failed',
        targetRelease: rollout.toRelease,
        reason: failure.reason,
        message: failure.message,
        progress: { ...rollout.progress, failure },
        finished: true,
      },
    });
  }
  return progressing({ ...rollout, targetRelease: from, progress: { ...rollout.progress, targetSince: now, failure } }, observed, now);
}
