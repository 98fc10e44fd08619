/**
 * Feature flags as the evaluator sees them: one flag resolved for one environment (file baseline
 * with run-time changes applied), and the result of one evaluation in OpenFeature's terms
 * (value, variant, reason, error code). Pure data: no I/O.
 */

export type FlagType = 'boolean' | 'string' | 'number' | 'object';
export type FlagValue = boolean | string | number | Record<string, unknown> | unknown[];

/** A rule: when the CEL condition holds, serve this value. */
export interface FlagRule {
  if: string;
  serve: FlagValue;
}

/** Share of the audience (by a sticky attribute) that gets the flag's "on" value. */
export interface FlagRollout {
  /** 0 to 100, in steps of 0.01. */
  percent: number;
  /** Attribute path in the evaluation context whose value places a user in a bucket, e.g. "user.id". */
  by: string;
}

/** One variant: its value and its weight among the variants. */
export interface FlagVariant {
  value: FlagValue;
  weight: number;
}

/** What can change at run time for one flag in one environment (and what the file sets per environment). */
export interface FlagEnvironmentState {
  /** false: the kill switch; the flag serves its default to everyone. */
  enabled: boolean;
  rules: FlagRule[];
  rollout: FlagRollout;
}

/** One flag resolved for one environment: everything evaluation needs. */
export interface FlagDefinition extends FlagEnvironmentState {
  key: string;
  type: FlagType;
  /** Served when the flag is disabled, when no rule matches and the user is outside the rollout. */
  default: FlagValue;
  /** By name, in the order written; empty for a flag whose "on" value is `true` (boolean flags). */
  variants: Record<string, FlagVariant>;
  /** Changes whenever the definition does (store version and file content): compiled programs are cached by it. */
  version: string;
}

/** OpenFeature's resolution reasons (specification, "Resolution Details"). */
export type FlagReason = 'STATIC' | 'DEFAULT' | 'TARGETING_MATCH' | 'SPLIT' | 'DISABLED' | 'ERROR';

/** OpenFeature's error codes (specification, "Error Code"). */
export type FlagErrorCode = 'FLAG_NOT_FOUND' | 'TYPE_MISMATCH' | 'TARGETING_KEY_MISSING' | 'PARSE_ERROR' | 'INVALID_CONTEXT' | 'GENERAL';

/** The outcome of one evaluation: never an exception, an error is a code with the caller's default. */
export interface FlagResolution<T = FlagValue> {
  value: T;
  variant?: string;
  reason: FlagReason;
  errorCode?: FlagErrorCode;
  errorMessage?: string;
}

/** An evaluation context as OpenFeature passes it: attributes by name (nested objects allowed), and the targeting key. */
export type EvaluationContext = Record<string, unknown> & { targetingKey?: string };
