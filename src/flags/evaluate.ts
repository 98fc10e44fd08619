/**
 * One evaluation of one flag for one evaluation context: value, variant, reason and error code as
 * OpenFeature defines them. Never throws: an unknown flag, a type mismatch or a missing bucket
 * attribute comes back as the caller's default with the spec's error code. Pure: no I/O, no clock.
 *
 * Order (docs/flags.md): disabled → the flag's default (DISABLED); the first rule whose condition
 * is true → its value (TARGETING_MATCH); else the rollout: a user whose bucket is under the
 * percentage gets the "on" value (true, or a variant by weight; SPLIT), the others the default
 * (DEFAULT). A rule that fails at run time (an attribute the context lacks) does not match.
 */
import { bucketOf, ROLLOUT_SEED, VARIANT_SEED } from './bucket.js';
import type { CompiledFlag } from './compile.js';
import type { EvaluationContext, FlagResolution, FlagType, FlagValue } from './types.js';

/**
 * Evaluates `key` in `flags`. `expected`: the type the caller asks for (OpenFeature's
 * getBooleanValue …), checked against the flag's; `fallback`: the caller's default, served on any error.
 */
export function evaluateFlag(
  flags: ReadonlyMap<string, CompiledFlag>,
  key: string,
  context: EvaluationContext,
  expected?: FlagType,
  fallback?: FlagValue,
): FlagResolution {
  const flag = flags.get(key);
  if (!flag) return failure(fallback, 'FLAG_NOT_FOUND', `no flag named "${key}"`);
  const def = flag.def;
  if (expected !== undefined && expected !== def.type)
    return failure(fallback ?? def.default, 'TYPE_MISMATCH', `flag "${key}" is of type ${def.type}, not ${expected}`);
  const r = resolve(flag, context);
  if (r.errorCode) return { ...r, value: fallback ?? def.default };
  return r;
}

function resolve(flag: CompiledFlag, context: EvaluationContext): FlagResolution {
  const def = flag.def;
  if (!def.enabled) return flag.results.disabled;
  for (const rule of flag.rules) if (rule.matches(context)) return rule.result;
  const percent = def.rollout.percent;
  if (percent <= 0) return flag.results.defaulted;
  if (!flag.needsBucket) return flag.results.on;
  const id = attribute(context, flag.by);
  if (id === undefined)
    return {
      value: def.default,
      reason: 'ERROR',
      errorCode: 'TARGETING_KEY_MISSING',
      errorMessage: `flag "${def.key}" places users by ${def.rollout.by}, which the evaluation context does not have`,
    };
  if (percent < 100 && bucketOf(def.key, id, ROLLOUT_SEED) >= percent * 100) return flag.results.defaulted;
  if (flag.variants.length <= 1) return flag.results.on;
  const b = bucketOf(def.key, id, VARIANT_SEED);
  for (const v of flag.variants) if (b < v.upTo) return v.result;
  return flag.variants[flag.variants.length - 1]!.result;
}

function failure(value: FlagValue | undefined, errorCode: FlagResolution['errorCode'], errorMessage: string): FlagResolution {
  return { value: value ?? null!, reason: 'ERROR', errorCode, errorMessage };
}

/** The text of the attribute at `path` (e.g. ["user", "id"]), with the targeting key standing in for user.id. */
export function attribute(context: EvaluationContext, path: readonly string[]): string | undefined {
  let v: unknown = context;
  for (const p of path) {
    if (v === null || typeof v !== 'object') {
      v = undefined;
      break;
    }
    v = (v as Record<string, unknown>)[p];
  }
  if (v === undefined && path.length === 2 && path[0] === 'user' && path[1] === 'id') v = context.targetingKey;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return undefined;
}
