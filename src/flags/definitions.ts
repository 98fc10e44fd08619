/**
 * From slipway.yaml's `flags:` and the run-time changes in the store to what evaluation needs: one
 * FlagDefinition per flag for one environment. A run-time change is a patch of the keys it set
 * (enabled, rules, rollout) over the file's values, so the file's other keys still apply and the
 * difference from the file is exactly the patch's keys that differ. Pure.
 */
import { createHash } from 'node:crypto';
import type { FlagConfig, FlagsConfig } from '../config/flags-schema.js';
import type { FlagDefinition, FlagEnvironmentState, FlagVariant, FlagValue } from './types.js';

/** A run-time change: the keys it sets, over the file. */
export type FlagPatch = Partial<FlagEnvironmentState>;

/** The file's settings for `env`: the flag-wide keys, each replaced by the environment's own. */
export function baselineState(flag: FlagConfig, env: string): FlagEnvironmentState {
  const own = flag.environments?.[env] ?? undefined;
  const variants = Object.keys(flag.variants ?? {}).length > 0;
  const rollout = own?.rollout ?? flag.rollout;
  return {
    enabled: own?.enabled ?? flag.enabled ?? true,
    rules: (own?.rules ?? flag.rules ?? []).map((r) => ({ if: r.if, serve: r.serve as FlagValue })),
    // A flag with variants serves them to everyone unless told otherwise; a boolean flag is off until rolled out.
    rollout: rollout ?? { percent: variants ? 100 : 0, by: 'user.id' },
  };
}

/** The flag's variants in the uniform form: a bare weight names a string flag's value. */
export function variantsOf(flag: FlagConfig): Record<string, FlagVariant> {
  const out: Record<string, FlagVariant> = {};
  for (const [name, v] of Object.entries(flag.variants ?? {}))
    out[name] = typeof v === 'number' ? { value: name, weight: v } : { value: v.value as FlagValue, weight: v.weight };
  return out;
}

/** One flag for one environment, with the run-time patch (and its store version) applied. */
export function definitionOf(key: string, flag: FlagConfig, env: string, patch?: { version: number; state: FlagPatch }): FlagDefinition {
  const state = { ...baselineState(flag, env), ...(patch?.state ?? {}) };
  const def = { key, type: flag.type, default: flag.default as FlagValue, variants: variantsOf(flag), ...state };
  // The version names the definition's content: the same content compiles to the same programs.
  const version = `${patch?.version ?? 0}:${createHash('sha256').update(JSON.stringify(def)).digest('hex').slice(0, 16)}`;
  return { ...def, version };
}

/** Every flag of the file for `env`, with the patches by flag key. */
export function definitionsOf(
  flags: FlagsConfig,
  env: string,
  patches: ReadonlyMap<string, { version: number; state: FlagPatch }>,
): FlagDefinition[] {
  return Object.entries(flags).map(([key, flag]) => definitionOf(key, flag, env, patches.get(key)));
}

/** The keys of `patch` whose values differ from the file's: what `flags list` and `status` show. */
export function differenceFromFile(flag: FlagConfig, env: string, patch: FlagPatch | undefined): (keyof FlagEnvironmentState)[] {
  if (!patch) return [];
  const base = baselineState(flag, env);
  return (Object.keys(patch) as (keyof FlagEnvironmentState)[]).filter((k) => JSON.stringify(patch[k]) !== JSON.stringify(base[k]));
}
