/**
 * An analysis run as a pure state machine: previous state + one input + now → new state. The
 * controller measures when `isMeasurementDue`, feeds every judgement, provider error and
 * hard-failure check in, persists the state, and acts on the phase. Re-running after a crash is
 * safe: the state holds everything, and no input depends on the wall clock but `now`.
 */
import type { Judgement, Verdict } from './judge.js';
import type { AnalysisSpec } from './spec.js';

export type AnalysisPhase = 'Running' | 'Successful' | 'Failed' | 'Inconclusive' | 'Error';

export interface MeasurementRecord {
  at: number;
  verdict: Verdict | 'error';
  reason: string;
  numbers: Record<string, number>;
  /** True when the hard-failure fast path produced it. */
  hard?: boolean;
}

export interface AnalysisRunState {
  phase: AnalysisPhase;
  /** Why the run is in its phase, for people. */
  reason: string;
  startedAt: number;
  finishedAt: number | undefined;
  /** When the next regular measurement is due. */
  nextMeasurementAt: number;
  counts: { passed: number; failed: number; inconclusive: number; errors: number; consecutiveErrors: number };
  /** The most recent measurements, oldest first (at most MEASUREMENT_HISTORY; counts cover all). */
  measurements: MeasurementRecord[];
  /**
   * How a run without `count` ends: 'stop' (background analysis) only when the controller stops it;
   * 'first-pass' (a step's analysis) on its first passing measurement. Absent in states persisted
   * before this existed: 'stop'.
   */
  openEnd?: OpenEnd;
}

/**
 * What ends a run whose check has no `count`. A step must be able to end on its own, so a step's
 * run ends on its first passing measurement (failures still count against failureLimit,
 * inconclusive ones against inconclusiveLimit); background analysis runs until stopped.
 */
export type OpenEnd = 'stop' | 'first-pass';

/** How many measurements a run state keeps. */
export const MEASUREMENT_HISTORY = 100;

export type RunInput =
  /** A regular measurement, judged. */
  | { kind: 'measurement'; judgement: Judgement }
  /** The provider could not measure (timeout, query error, router unreachable). */
  | { kind: 'error'; message: string }
  /** A hard-failure fast-path check (judgeHardFailure): only a 'fail' changes anything. */
  | { kind: 'hard-check'; judgement: Judgement }
  /** The controller ends an open-ended run (the step is over, or the rollout was aborted). */
  | { kind: 'stop'; reason: string };

export function startRun(spec: AnalysisSpec, now: number, openEnd: OpenEnd = 'stop'): AnalysisRunState {
  const until =
    spec.count !== undefined ? `, ${spec.count} conclusive measurement(s)` : openEnd === 'first-pass' ? ', until one passes' : '';
  return {
    phase: 'Running',
    reason: `measuring every ${spec.intervalMs} ms${until}`,
    startedAt: now,
    finishedAt: undefined,
    // The first interval has to collect traffic before there is anything to judge.
    nextMeasurementAt: now + spec.intervalMs,
    counts: { passed: 0, failed: 0, inconclusive: 0, errors: 0, consecutiveErrors: 0 },
    measurements: [],
    openEnd,
  };
}

export function isMeasurementDue(state: AnalysisRunState, now: number): boolean {
  return state.phase === 'Running' && now >= state.nextMeasurementAt;
}

export function isFinished(state: AnalysisRunState): boolean {
  return state.phase !== 'Running';
}

/** The next state. A finished run ignores every input. */
export function advanceRun(spec: AnalysisSpec, state: AnalysisRunState, input: RunInput, now: number): AnalysisRunState {
  if (state.phase !== 'Running') return state;
  switch (input.kind) {
    case 'hard-check': {
      if (input.judgement.verdict !== 'fail') return state;
      const s = record(state, { at: now, ...input.judgement, hard: true });
      return finish(s, 'Failed', input.judgement.reason, now);
    }
    case 'error': {
      const counts = { ...state.counts, errors: state.counts.errors + 1, consecutiveErrors: state.counts.consecutiveErrors + 1 };
      const s = {
        ...record(state, { at: now, verdict: 'error', reason: input.message, numbers: {} }),
        counts,
        nextMeasurementAt: now + spec.intervalMs,
      };
      if (counts.consecutiveErrors > spec.consecutiveErrorLimit) {
        return finish(
          s,
          'Error',
          `${counts.consecutiveErrors} provider errors in a row (limit ${spec.consecutiveErrorLimit}); last: ${input.message}`,
          now,
        );
      }
      return { ...s, reason: `provider error ${counts.consecutiveErrors} in a row: ${input.message}` };
    }
    case 'measurement':
      return measured(spec, state, input.judgement, now);
    case 'stop':
      return stopped(spec, state, input.reason, now);
  }
}

function measured(spec: AnalysisSpec, state: AnalysisRunState, j: Judgement, now: number): AnalysisRunState {
  const c = { ...state.counts, consecutiveErrors: 0 };
  if (j.verdict === 'pass') c.passed++;
  else if (j.verdict === 'fail') c.failed++;
  else c.inconclusive++;
  const s: AnalysisRunState = {
    ...record(state, { at: now, ...j }),
    counts: c,
    nextMeasurementAt: now + spec.intervalMs,
    reason: j.reason,
  };

  if (c.failed > spec.failureLimit) {
    return finish(s, 'Failed', `${c.failed} failed measurements (limit ${spec.failureLimit}); last: ${j.reason}`, now);
  }
  if (c.inconclusive > spec.inconclusiveLimit) {
    return inconclusiveEnd(
      spec,
      s,
      `${c.inconclusive} inconclusive measurements (limit ${spec.inconclusiveLimit}); last: ${j.reason}`,
      now,
    );
  }
  const conclusive = c.passed + c.failed;
  if (spec.count !== undefined && conclusive >= spec.count) {
    return finish(
      s,
      'Successful',
      `${conclusive} of ${spec.count} measurements done, ${c.failed} failed (limit ${spec.failureLimit})`,
      now,
    );
  }
  if (spec.count === undefined && state.openEnd === 'first-pass' && j.verdict === 'pass') {
    return finish(s, 'Successful', `passed: ${j.reason}${c.failed ? ` (${c.failed} failed before, limit ${spec.failureLimit})` : ''}`, now);
  }
  return s;
}

function stopped(spec: AnalysisSpec, state: AnalysisRunState, why: string, now: number): AnalysisRunState {
  const { passed, failed, inconclusive } = state.counts;
  if (passed + failed === 0)
    return inconclusiveEnd(spec, state, `${why}: stopped before any conclusive measurement (${inconclusive} inconclusive)`, now);
  return finish(state, 'Successful', `${why}: ${passed} passed, ${failed} failed (limit ${spec.failureLimit})`, now);
}

function inconclusiveEnd(spec: AnalysisSpec, state: AnalysisRunState, why: string, now: number): AnalysisRunState {
  switch (spec.inconclusiveAction) {
    case 'wait':
      return finish(state, 'Inconclusive', `${why}: waiting for a person to decide`, now);
    case 'fail':
      return finish(state, 'Failed', `${why}: treated as a failure`, now);
    case 'pass':
      return finish(state, 'Successful', `${why}: treated as a pass`, now);
  }
}

function record(state: AnalysisRunState, m: MeasurementRecord): AnalysisRunState {
  return { ...state, measurements: [...state.measurements, m].slice(-MEASUREMENT_HISTORY) };
}

function finish(state: AnalysisRunState, phase: AnalysisPhase, reason: string, now: number): AnalysisRunState {
  return { ...state, phase, reason, finishedAt: now };
}
