/**
 * Inputs and outputs of the rollout engine's pure transition function. No I/O here:
 * the controller observes the world into `Observed`, calls `transition`, persists the
 * returned status, then performs the returned actions (idempotently).
 */
import type { StrategyConfig } from '../config/schema.js';
import type { InstanceState, ExitInfo } from '../drivers/driver.js';
import type { RolloutKind, RolloutPhase } from '../store/types.js';
import type { CheckDefinition } from '../analysis/source.js';

/** One instance as the controller sees it this loop. */
export interface ObservedInstance {
  id: string;
  release: number;
  state: InstanceState;
  /** Health by the service's probe (an adopted instance that was serving counts as healthy until probed). */
  healthy: boolean;
  /** The controller has taken it out of traffic and is draining or stopping it. */
  retiring: boolean;
  startedAt: number;
  restarts: number;
  lastExit: ExitInfo | null;
  /** Last probe outcome in words, e.g. "GET /healthz → 503 in 4ms". */
  lastProbe: string | null;
  /** Last log lines, filled for instances of the target release that are not healthy. */
  logTail?: string[];
}

/** The desired shape of the release the engine converges to. */
export interface ReleaseShape {
  release: number;
  instances: number;
  strategy: StrategyConfig;
  progressDeadlineMs: number;
}

/** The rollout's durable fields the transition reads. */
export interface RolloutView {
  kind: RolloutKind;
  phase: RolloutPhase;
  fromRelease: number | null;
  toRelease: number;
  targetRelease: number;
  startedAt: number;
  progress: RolloutProgress;
}

export interface RolloutProgress {
  /** When convergence toward the current target began (rollout start, or the start of the revert). */
  targetSince?: number;
  desired?: number;
  ready?: number;
  /** Set when the rollout failed and is being undone: the reason and message of the failure. */
  failure?: { reason: string; message: string; terminal?: 'RolledBack' | 'Failed'; check?: string };
  /** Canary: index of the current step (steps.length once promoting to 100%), when it began, and the canary's traffic weight. */
  step?: number;
  stepSince?: number;
  weight?: number;
  /** Blue-green: where the rollout stands, and since when. */
  stage?: BlueGreenStage;
  stageSince?: number;
  /** Blue-green: since when the new release has not been ready in full before the switch (its deadline counts from there). */
  unreadySince?: number;
  /** Requests from people (slipway promote/pause/resume/abort/rollback), durable until consumed. */
  requests?: RolloutRequests;
  /** Analysis runs of this rollout by key, as last persisted (phase, reason, counts, recent measurements). */
  analysis?: Record<string, PersistedRun>;
  /** Restart: ids of the instances serving when it began, each replaced by a new one. */
  replace?: string[];
  /** Scale: the instance count asked for; restart: the count `slipway scale` had set, if any. */
  instances?: number;
  /** The analysis checks the strategy names, as defined when the rollout began. */
  checks?: Record<string, CheckDefinition>;
  /** Set when the environment requires approval: nothing starts until a person approves (rollout/approval.ts). */
  approval?: ApprovalState;
  /** Feature flags this rollout changed, kept by the controller (controller/rollout-flags.ts), so each change is made once. */
  flags?: RolloutFlagState;
}

/** What a rollout did to feature flags so far: durable with it, so a restarted controller neither repeats nor forgets. */
export interface RolloutFlagState {
  /** Percentages set by canary `flag` steps, by flag key. */
  applied?: Record<string, number>;
  /** The flags set by steps were put back as they were before the rollout (after a rollback or abort). */
  restored?: boolean;
  /** Flags switched off because an analysis check with `onFailure.flagOff` failed. */
  off?: string[];
}

/**
 * The feature flags the rollout wants now (canary `flag` steps, analysis `onFailure.flagOff`). The
 * engine says what; the controller changes each flag once, as a new flag version with the
 * rollout as its author.
 */
export interface FlagWants {
  /** Percentage per flag: every `flag` step passed so far, later steps winning. */
  set: Record<string, number>;
  /** The rollout is being undone: put the flags its steps set back as they were before it. */
  restore?: boolean;
  /** Switch these flags off (the check that failed names them), with the failure in words. */
  off?: { flags: string[]; why: string };
}

/** A deploy's approval, durable with the rollout: requested at its start, decided by `slipway approve` or `reject`. */
export interface ApprovalState {
  state: 'pending' | 'approved' | 'rejected';
  /** The command that approves it, shown while it waits (the engine does not know service or environment names). */
  command: string;
  requestedAt: number;
  /** Who decided, why, and when (ms); set once decided. */
  by?: string;
  comment?: string;
  at?: number;
}

export type BlueGreenStage = 'Preview' | 'PrePromotion' | 'AwaitingPromotion' | 'Promoted';

export interface RolloutRequests {
  /** Go on: past the current step (or pause), or with 'full' straight to 100%. */
  promote?: 'step' | 'full';
  /** Hold where it is until resumed. */
  pause?: boolean;
  /**
   * Send all traffic back to the stable release and stop the new one. `failure`, set when the
   * controller itself aborts (e.g. the router refused the route), is reported instead of "aborted by".
   */
  abort?: { by: string; reason: string; failure?: { reason: string; message: string } };
}

/** What the engine needs to know of an analysis run (the full state is src/analysis/run.ts's). */
export interface RunView {
  phase: 'Running' | 'Successful' | 'Failed' | 'Inconclusive' | 'Error';
  reason: string;
}

export type PersistedRun = RunView & Record<string, unknown>;

/** An analysis run the engine wants running now. */
export interface DesiredRun {
  /** Unique per rollout, e.g. "step2:errors", "bg:errors", "pre:smoke". */
  key: string;
  check: string;
  /** Release under test, and the release it is compared with (the stable one). */
  release: number;
  baseline: number | null;
  /**
   * A step's run (canary analysis step, blue-green pre-/post-promotion) must end on its own: 'first-pass' ends
   * it on its first passing measurement when the check has no count. Background runs: 'stop'.
   */
  openEnd: 'stop' | 'first-pass';
}

/** How the router should treat the releases beyond plain weights. */
export interface Routing {
  /** Requests matching these headers go to the canary release. */
  match?: { header: Record<string, string> };
  canaryRelease?: number;
  stickiness?: 'cookie' | 'none';
  /** The preview listener (blue-green) serves this release. */
  previewRelease?: number;
  /** Instance ids of the preview release that are ready. */
  previewIds?: string[];
}

export interface Observed {
  /** The release serving before this loop in steady state (null before the first deploy). */
  current: number | null;
  /** Shapes of the releases involved (target and, while rolling, the previous one). */
  shapes: Record<number, ReleaseShape>;
  instances: ObservedInstance[];
  /** Analysis runs of the active rollout, by key (empty when none). */
  analysis?: Record<string, RunView>;
}

export type Action = { type: 'start'; release: number } | { type: 'retire'; id: string; reason: string };

export interface TransitionResult {
  /** New durable status of the rollout (undefined in steady state). */
  rollout?: Pick<RolloutView, 'phase' | 'targetRelease' | 'progress'> & { reason: string; message: string; finished: boolean };
  /** Release to record as current, when it changes. */
  setCurrent?: number;
  /** Instances that receive traffic, by release, with their share (default: one share per instance). */
  route: { release: number; ids: string[]; weight?: number }[];
  /** Header rules, stickiness and preview for progressive strategies. */
  routing?: Routing;
  actions: Action[];
  /** Analysis runs that should be running now (the controller starts and stops runs to match). */
  analysis?: DesiredRun[];
  /** Requests the transition acted on, to be cleared from the durable record. */
  consumed?: (keyof RolloutRequests)[];
  /** Feature flags the rollout sets, restores or switches off (undefined: none). */
  flags?: FlagWants;
}
