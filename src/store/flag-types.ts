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
