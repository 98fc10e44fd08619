/**
 * Pieces shared by the progressive strategies (canary, blue-green): keeping the stable release at
 * full size, sizing the new one, analysis verdicts, and undoing a rollout. Pure.
 */
import { alive, leastUsefulFirst, ready, retiredIds } from './converge.js';
import { abortFailure, crashLoop, type Failure } from './failure.js';
import type {
  Action,
  DesiredRun,
  FlagWants,
  Observed,
  ObservedInstance,
  ReleaseShape,
  RolloutProgress,
  RolloutRequests,
  RolloutView,
  RunView,
  TransitionResult,
} from './types.js';

/** What every progressive transition starts from. */
export interface Progressive {
  to: number;
  from: number;
  shape: ReleaseShape;
  /** Instances the stable release keeps throughout. */
  stableSize: number;
  p: RolloutProgress;
  requests: RolloutRequests;
  instances: ObservedInstance[];
}

export function progressive(rollout: RolloutView, observed: Observed): Progressive {
  const to = rollout.toRelease;
  const from = rollout.fromRelease!;
  const shape = observed.shapes[to]!;
  const p = rollout.progress;
  return {
    to,
    from,
    shape,
    stableSize: observed.shapes[from]?.instances ?? shape.instances,
    p,
    requests: p.requests ?? {},
    instances: observed.instances,
  };
}

/**
 * What undoes the rollout before anything else is looked at: a failure already being undone, an
 * abort request (`abortAs` names it), or the new release crash-looping.
 */
export function pendingUndo(
  rollout: RolloutView,
  c: Progressive,
  abortAs: { reason: string; verb: string } = { reason: 'Aborted', verb: 'aborted' },
): TransitionResult | undefined {
  if (c.p.failure) return undo(rollout, c.instances, c.stableSize, c.p.failure, c.p.failure.terminal ?? 'RolledBack');
  const abort = c.requests.abort;
  if (abort) return undo(rollout, c.instances, c.stableSize, abortFailure(abort, abortAs), abort.failure ? 'Failed' : 'RolledBack');
  const crash = crashLoop(c.to, c.instances);
  return crash ? undo(rollout, c.instances, c.stableSize, crash, 'Failed') : undefined;
}

interface Verdicts {
  failed?: { key: string; run: RunView };
  inconclusive?: { key: string; run: RunView };
  allSuccessful: boolean;
}

/** What the analysis runs of a step (or stage) decide, in the order that matters: a failure first. */
export type AnalysisOutcome =
  { kind: 'failed'; failure: Failure } | { kind: 'inconclusive'; check: string; why: string } | { kind: 'passed' } | { kind: 'running' };

/** The outcome of the runs wanted now, from their verdicts. */
export function analysisOutcome(runs: DesiredRun[], observed: Record<string, RunView> | undefined): AnalysisOutcome {
  const v = verdicts(runs, observed);
  if (v.failed) return { kind: 'failed', failure: describeRunFailure(v.failed.key, v.failed.run) };
  if (v.inconclusive) return { kind: 'inconclusive', check: checkOf(v.inconclusive.key), why: v.inconclusive.run.reason };
  return v.allSuccessful ? { kind: 'passed' } : { kind: 'running' };
}

/** Reads the verdicts of the runs wanted now. A run not started yet counts as running. */
function verdicts(runs: DesiredRun[], observed: Record<string, RunView> | undefined): Verdicts {
  let allSuccessful = true;
  const out: Verdicts = { allSuccessful: true };
  for (const r of runs) {
    const v = observed?.[r.key];
    if (!v || v.phase !== 'Successful') allSuccessful = false;
    if (v && (v.phase === 'Failed' || v.phase === 'Error') && !out.failed) out.failed = { key: r.key, run: v };
    if (v && v.phase === 'Inconclusive' && !out.inconclusive) out.inconclusive = { key: r.key, run: v };
  }
  out.allSuccessful = allSuccessful;
  return out;
}

/** Background runs: they last the whole rollout (until stopped). */
export function runsFor(prefix: string, checks: readonly string[], release: number, baseline: number | null): DesiredRun[] {
  return checks.map((check) => ({ key: `${prefix}:${check}`, check, release, baseline, openEnd: 'stop' }));
}

/** A step's runs: a run without `count` ends on its first passing measurement, so the step can end on its own. */
export function stepRunsFor(prefix: string, checks: readonly string[], release: number, baseline: number | null): DesiredRun[] {
  return runsFor(prefix, checks, release, baseline).map((r) => ({ ...r, openEnd: 'first-pass' }));
}

/** Start or retire instances of `release` until `count` are alive (not counting retiring ones). */
export function scale(release: number, count: number, instances: ObservedInstance[], reason: string): Action[] {
  const mine = instances.filter((i) => i.release === release && alive(i));
  const actions: Action[] = [];
  for (let k = mine.length; k < count; k++) actions.push({ type: 'start', release });
  const extra = [...mine].sort(leastUsefulFirst).slice(0, Math.max(0, mine.length - count));
  for (const i of extra) actions.push({ type: 'retire', id: i.id, reason });
  // A crash-looping instance serves nobody: replace it.
  for (const i of instances)
    if (i.release === release && !i.retiring && i.state === 'failed') actions.push({ type: 'retire', id: i.id, reason: 'failed' });
  return actions;
}

export const readyIds = (release: number, instances: ObservedInstance[]) =>
  instances
    .filter((i) => i.release === release && ready(i))
    .map((i) => i.id)
    .sort();

/**
 * Undo a progressive rollout: all traffic to the stable release at once (the instances of the new
 * one get none from this step on), stable kept at full size, the new release's instances drained
 * and stopped. Ends `RolledBack` (or `Failed` for a release that could not even run) once nothing
 * of the new release is left.
 */
export function undo(
  rollout: RolloutView,
  instances: ObservedInstance[],
  stableSize: number,
  why: Failure,
  terminal: 'RolledBack' | 'Failed',
): TransitionResult {
  const from = rollout.fromRelease!;
  const actions: Action[] = [...scale(from, stableSize, instances, 'more instances than desired')];
  for (const i of instances) if (i.release !== from && !i.retiring) actions.push({ type: 'retire', id: i.id, reason: why.reason });
  const leaving = retiredIds(actions);
  const stable = readyIds(from, instances).filter((id) => !leaving.has(id));
  const leftovers = instances.some((i) => i.release !== from);
  const done = !leftovers && stable.length >= stableSize;
  const progress = { ...rollout.progress, failure: { ...why, terminal }, weight: 0 };
  delete progress.requests;
  return {
    route: stable.length ? [{ release: from, ids: stable }] : [],
    actions,
    rollout: {
      phase: done ? terminal : 'Degraded',
      targetRelease: from,
      reason: why.reason,
      finished: done,
      progress,
      message: done
        ? `${why.message}; release ${from} serves all traffic`
        : `${why.message}; traffic is back on release ${from}, stopping release ${rollout.toRelease}`,
    },
    analysis: [],
    consumed: ['abort', 'promote', 'pause'],
    flags: undoFlags(rollout, why),
  };
}

/**
 * What undoing does to feature flags: those set by the rollout's steps go back as they were, and a
 * failed check's `onFailure.flagOff` flags are switched off (the check's definition was recorded
 * with the rollout when it began).
 */
function undoFlags(rollout: RolloutView, why: Failure): FlagWants {
  const off = why.check ? rollout.progress.checks?.[why.check]?.onFailure?.flagOff : undefined;
  return { set: {}, restore: true, ...(off?.length ? { off: { flags: off, why: why.message } } : {}) };
}

/** A failed analysis run, in words with its numbers. */
function describeRunFailure(key: string, run: RunView): Failure {
  const check = checkOf(key);
  return {
    reason: run.phase === 'Error' ? 'AnalysisError' : 'AnalysisFailed',
    message: `analysis "${check}" ${run.phase === 'Error' ? 'could not measure' : 'failed'}: ${run.reason}`,
    check,
  };
}

/** The check a run key names ("step2:errors" → "errors"). */
function checkOf(key: string): string {
  return key.split(':').slice(1).join(':');
}
