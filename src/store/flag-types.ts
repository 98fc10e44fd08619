/** What the store keeps of feature flags: every run-time change, versioned (docs/flags.md "History"). */
import type { FlagPatch } from '../flags/definitions.js';
import type { FlagEnvironmentState } from '../flags/types.js';

/** What a change did: set keys, reset to the file, or revert to an earlier version. */
export type FlagAction = 'set' | 'reset' | 'revert';

/** One version of one flag in one environment: the run-time patch from then on, and who changed what and why. */
export interface FlagVersion {
  environment: string;
  flag: string;
  /** 1, 2, … per flag and environment. */
  version: number;
  action: FlagAction;
  /** The keys set at run time over the file from this version on ({} after a reset). */
  patch: FlagPatch;
  /** The flag's effective state (file plus patch) just before and just after the change. */
  before: FlagEnvironmentState;
  after: FlagEnvironmentState;
  by: string;
  at: number;
  reason: string;
  /** For a revert: the version restored. */
  revertOf: number | null;
}

export type NewFlagVersion = Omit<FlagVersion, 'version'>;

/** One step of a ramp: the percentage it sets and when; filled in once applied. */
export interface FlagRampStep {
  /** When it is due (ms since the epoch). */
  at: number;
  percent: number;
  /** When the controller applied it (or skipped it: a later step was due as well). */
  appliedAt?: number;
  /** The flag version it made (null: the flag already was so; absent while pending or when skipped). */
  version?: number | null;
  /** Not applied on its own: a later step was already due when the controller got to it (it was down). */
  skipped?: boolean;
}

export type FlagRampState = 'active' | 'done' | 'cancelled';

/** A flag's rollout schedule in one environment (`10% now, 50% in 1h, 100% in 1d`). */
export interface FlagRamp {
  id: number;
  environment: string;
  flag: string;
  /** As it was written. */
  schedule: string;
  steps: FlagRampStep[];
  state: FlagRampState;
  createdBy: string;
  createdAt: number;
  reason: string;
  endedAt: number | null;
  /** Why it ended: done, or what cancelled it. */
  endReason: string | null;
}

export type NewFlagRamp = Omit<FlagRamp, 'id' | 'state' | 'endedAt' | 'endReason'>;
