/**
 * The shared evaluation vectors (test/flags/vectors.json): read by the evaluator's own tests, the
 * OFREP test against a real controller and the provider's test, so all three agree by construction.
 */
import { readFileSync } from 'node:fs';
import { flagsSectionSchema, type FlagsConfig } from '../config/flags-schema.js';
import type { EvaluationContext, FlagResolution, FlagType, FlagValue } from './types.js';

export interface FlagVectors {
  environment: string;
  /** As written in slipway.yaml (before the schema). */
  rawFlags: Record<string, unknown>;
  flags: FlagsConfig;
  cases: { name: string; flag: string; type: FlagType; default: FlagValue; context: EvaluationContext; result: FlagResolution }[];
  bucketVectors: { key: string; value: string; seed: number; bucket: number }[];
}

/** From the repository root (where tests run). */
export function loadFlagVectors(root = process.cwd()): FlagVectors {
  const raw = JSON.parse(readFileSync(`${root}/test/flags/vectors.json`, 'utf8')) as Omit<FlagVectors, 'flags'> & {
    flags: Record<string, unknown>;
  };
  return { ...raw, rawFlags: raw.flags, flags: flagsSectionSchema.parse(raw.flags) };
}
