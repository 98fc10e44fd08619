/**
 * Canary: the new release takes a growing share of traffic step by step (weight, pause, analysis
 * steps), analysis runs in the background, and any failure sends all traffic back to the stable
 * release at once. After the last step the new release is promoted to 100% (surge first). A `flag`
 * step sets feature flags (the result's `flags`, applied by the controller) and undoing puts them
 * back. Pure.
 */
import { formatDuration } from '../core/duration.js';
import type { CanaryConfig } from '../config/schema.js';
import { converge, retiredIds } from './converge.js';
import { missedDeadline, servesAllTraffic } from './failure.js';
import { analysisOutcome, pendingUndo, progressive, readyIds, runsFor, scale, stepRunsFor, undo } from './progressive.js';
import type { Observed, RolloutView, TransitionResult, DesiredRun, RolloutProgress, Routing } from './types.js';

/** Canary instances for a weight: in proportion to the final size, at least one while it gets traffic. */
export function canaryInstances(weight: number, size: number): number {
  return weight <= 0 ? 0 : Math.max(1, Math.ceil((size * weight) / 100));
}

export function canaryTransition(rollout: RolloutView, observed: Observed, now: number, strategy: CanaryConfig): TransitionResult {
  const result = canaryStep(rollout, observed, now, strategy);
  // Undoing says what becomes of the flags itself (restore, switch off); otherwise every flag step passed holds.
  if (result.flags || !result.rollout) return result;
  return { ...result, flags: { set: flagsSetBy(strategy.steps, result.rollout.progress.step ?? 0) } };
}

/** The percentages the `flag` steps before step `n` set, a later step winning over an earlier one. */
export function flagsSetBy(steps: CanaryConfig['steps'], n: number): Record<string, number> {
  const set: Record<string, number> = {};
  for (const step of steps.slice(0, n)) if ('flag' in step) Object.assign(set, step.flag);
  return set;
}

function canaryStep(rollout: RolloutView, observed: Observed, now: number, strategy: CanaryConfig): TransitionResult {
  const c = progressive(rollout, observed);
  const { to, from, shape, stableSize, p, requests, instances } = c;
  const stepIndex = p.step ?? 0;
  const stepSince = p.stepSince ?? rollout.startedAt;
  const weight = p.weight ?? 0;
  const pending = pendingUndo(rollout, c);
  if (pending) return pending;

  const background = weight > 0 || stepIndex > 0 ? runsFor('bg', strategy.analysis, to, from) : [];
  const bg = analysisOutcome(background, observed.analysis);
  if (bg.kind === 'failed') return undo(rollout, instances, stableSize, bg.failure, 'RolledBack');

  const routing: Routing = { canaryRelease: to, match: strategy.match, stickiness: strategy.stickiness };
  const steps = strategy.steps;

  // After the last step: promote to 100%, the stable release retired as the new one comes up.
  if (stepIndex >= steps.length) {
    const step = converge({ ...shape, strategy: { type: 'rolling', maxSurge: 1, maxUnavailable: 0 } }, instances);
    const route = routeAll(observed, step.actions);
    const progress: RolloutProgress = { ...p, weight: 100, ready: step.ready, desired: shape.instances };
    if (step.done) {
      return {
        route,
        actions: step.actions,
        routing,
        analysis: [],
        setCurrent: to,
        rollout: {
          phase: 'Healthy',
          targetRelease: to,
          reason: 'Completed',
          message: servesAllTraffic(to, shape.instances),
          progress,
          finished: true,
        },
      };
    }
    return {
      route,
      actions: step.actions,
      routing,
      analysis: background,
      rollout: {
        phase: 'Progressing',
        targetRelease: to,
        reason: 'Promoting',
        message: `promoting release ${to} to 100%: ${step.ready}/${shape.instances} ready`,
        progress,
        finished: false,
      },
    };
  }

  const step = steps[stepIndex]!;
  const targetWeight = 'weight' in step ? step.weight : weight;
  const wanted = canaryInstances(targetWeight, shape.instances);
  const actions = [
    ...scale(from, stableSize, instances, 'more instances than desired'),
    ...scale(to, wanted, instances, 'canary weight lowered'),
  ];
  const canaryReady = readyIds(to, instances);
  const stepRuns: DesiredRun[] = 'analysis' in step ? stepRunsFor(`step${stepIndex}`, step.analysis, to, from) : [];
  const runs = [...background, ...stepRuns];
  const route = [
    { release: from, ids: readyIds(from, instances), weight: 100 - targetWeight },
    { release: to, ids: canaryReady, weight: targetWeight },
  ].filter((r) => r.ids.length > 0);
  const base = { route, routing, actions, analysis: runs };
  const progress: RolloutProgress = { ...p, step: stepIndex, stepSince, weight: targetWeight, ready: canaryReady.length, desired: wanted };
  const stepName = `step ${stepIndex + 1}/${steps.length}`;
  const next = (why: string, consumed: TransitionResult['consumed'] = []): TransitionResult => ({
    ...base,
    consumed,
    rollout: {
      phase: 'Progressing',
      targetRelease: to,
      reason: 'StepCompleted',
      message: `${stepName} done (${why}); ${weightText(targetWeight, to)}`,
      finished: false,
      progress: { ...progress, step: stepIndex + 1, stepSince: now },
    },
  });
  const stay = (
    phase: 'Progressing' | 'Paused',
    reason: string,
    message: string,
    consumed: TransitionResult['consumed'] = [],
  ): TransitionResult => ({
    ...base,
    consumed,
    rollout: {
      phase,
      targetRelease: to,
      reason,
      message: `${stepName}: ${message}; ${weightText(targetWeight, to)}`,
      finished: false,
      progress,
    },
  });

  if (requests.promote === 'full') {
    return {
      ...base,
      consumed: ['promote', 'pause'],
      rollout: {
        phase: 'Progressing',
        targetRelease: to,
        reason: 'PromotedFully',
        message: `promoted to 100% by request`,
        finished: false,
        progress: { ...progress, step: steps.length, stepSince: now },
      },
    };
  }
  if (requests.pause) return stay('Paused', 'PausedByUser', 'paused; resume with `slipway resume`');

  // A step's canary instances must be up before it counts, whatever the step is.
  if (canaryReady.length < wanted) {
    if (now - stepSince > shape.progressDeadlineMs) {
      return undo(rollout, instances, stableSize, missedDeadline(to, instances, shape.progressDeadlineMs), 'Failed');
    }
    return stay('Progressing', 'ScalingCanary', `waiting for ${wanted - canaryReady.length} canary instance(s) to turn healthy`);
  }
  if (requests.promote === 'step') return next('promoted by request', ['promote']);

  if ('weight' in step) return next(`weight ${step.weight}%`);
  // The controller sets the flags once the rollout has moved past this step (TransitionResult.flags).
  if ('flag' in step)
    return next(
      `flag ${Object.entries(step.flag)
        .map(([k, v]) => `${k} ${v}%`)
        .join(', ')}`,
    );
  if ('pause' in step) {
    if (step.pause === null) return stay('Paused', 'WaitingForPromotion', 'waiting for `slipway promote`');
    const left = step.pause - (now - stepSince);
    return left <= 0
      ? next(`paused ${formatDuration(step.pause)}`)
      : stay('Paused', 'Pausing', `pausing ${formatDuration(step.pause)} (${formatDuration(left)} left)`);
  }
  const outcome = analysisOutcome(stepRuns, observed.analysis);
  switch (outcome.kind) {
    case 'failed':
      return undo(rollout, instances, stableSize, outcome.failure, 'RolledBack');
    case 'inconclusive':
      return stay(
        'Paused',
        'AnalysisInconclusive',
        `analysis "${outcome.check}" is inconclusive (${outcome.why}); promote to go on or abort`,
      );
    case 'passed':
      return next(`analysis ${step.analysis.join(', ')} passed`);
    case 'running':
      return stay('Progressing', 'Analysing', `analysing ${step.analysis.join(', ')}`);
  }
}

function weightText(weight: number, release: number): string {
  return `${weight}% of traffic to release ${release}`;
}

/** During promotion every ready instance serves, one share each. */
function routeAll(observed: Observed, actions: TransitionResult['actions']): TransitionResult['route'] {
  const leaving = retiredIds(actions);
  const releases = [...new Set(observed.instances.map((i) => i.release))].sort((a, b) => a - b);
  return releases
    .map((r) => ({ release: r, ids: readyIds(r, observed.instances).filter((id) => !leaving.has(id)) }))
    .filter((r) => r.ids.length > 0);
}
