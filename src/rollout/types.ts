/**
 * Inputs and outputs of the rollout engine's pure transition function. No I/O here:
 * the controller observes the world into `Observed`, calls `transition`, persists the
 * returned status, then performs the returned actions (idempotently).
 */
import type { StrategyConfig } from '../config/schema.js';
import type { InstanceState, ExitInfo } from '../drivers/driver.js';
import type { RolloutPhase } from '../store/types.js';

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
  /** Ready instances per release (traffic is split in proportion). */
  readyByRelease?: Record<string, number>;
  /** Set when the rollout failed and is being undone: the reason and message of the failure. */
  failure?: { reason: string; message: string };
}

export interface Observed {
  /** The release serving before this loop in steady state (null before the first deploy). */
  current: number | null;
  /** Shapes of the releases involved (target and, while rolling, the previous one). */
  shapes: Record<number, ReleaseShape>;
  instances: ObservedInstance[];
}

export type Action =
  | { type: 'start'; release: number }
  | { type: 'retire'; id: string; reason: string };

export interface TransitionResult {
  /** New durable status of the rollout (undefined in steady state). */
  rollout?: Pick<RolloutView, 'phase' | 'targetRelease' | 'progress'> & { reason: string; message: string; finished: boolean };
  /** Release to record as current, when it changes. */
  setCurrent?: number;
  /** Instances that receive traffic, by release. */
  route: { release: number; ids: string[] }[];
  actions: Action[];
}
