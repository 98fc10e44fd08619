/**
 * Flag rules compiled once per flag version (parsed and planned by @bufbuild/cel, the evaluator the
 * policies use, with their time accessors and `semver()`), never per evaluation. Pure: no I/O.
 */
import { celEnv, parse, plan, type CelResult } from '@bufbuild/cel';
import { TIME_METHODS } from '../policy/time-methods.js';
import { SEMVER_FUNC } from './semver.js';
import { celBindings } from './bindings.js';
import { readPaths, remembered } from './memo.js';
import type { EvaluationContext, FlagDefinition, FlagReason, FlagResolution, FlagValue } from './types.js';

export type RuleProgram = (bindings: Record<string, unknown>) => CelResult;

/** A flag ready to evaluate: its definition, its rules planned, its variants laid out on the bucket scale. */
export interface CompiledFlag {
  def: FlagDefinition;
  /** Each rule's condition on a context: true when it holds (a run-time error counts as false). */
  rules: { matches: (context: EvaluationContext) => boolean; result: FlagResolution }[];
  /** Path of the rollout attribute, split once. */
  by: string[];
  /** Cumulative upper bounds on 0 … 10 000, one per variant with a weight, with the result that variant gives. */
  variants: { name: string; value: FlagValue; upTo: number; result: FlagResolution }[];
  /**
   * The results evaluation can give, built (and frozen) once per flag version: evaluating
   * allocates nothing but the bucket key. Callers must not change them.
   */
  results: { disabled: FlagResolution; defaulted: FlagResolution; on: FlagResolution };
  /** A user must be placed in a bucket (0 < percent < 100, or more than one variant). */
  needsBucket: boolean;
}

/** A rule condition that does not compile: which rule, where in the expression. */
export interface RuleCompileProblem {
  rule: number;
  offset: number;
  message: string;
}

const env = celEnv({ funcs: [...TIME_METHODS, SEMVER_FUNC] });

/** Parses and plans one rule condition; reports the problem and returns undefined when it does not compile. */
export function compileRule(text: string, problem: (p: { offset: number; message: string }) => void): RuleProgram | undefined {
  return planRule(text, problem)?.program;
}

function planRule(
  text: string,
  problem: (p: { offset: number; message: string }) => void,
): { program: RuleProgram; parsed: ReturnType<typeof parse> } | undefined {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(text);
  } catch (err) {
    const e = err as { rawMessage?: string; message: string; location?: { start?: { offset?: number } } };
    problem({ offset: e.location?.start?.offset ?? 0, message: `CEL syntax error: ${e.rawMessage ?? e.message}` });
    return undefined;
  }
  try {
    return { program: plan(env, parsed) as RuleProgram, parsed };
  } catch (err) {
    problem({ offset: 0, message: `CEL: ${(err as Error).message}` });
    return undefined;
  }
}

/** Compiles one flag; `problems` lists every rule that does not compile (then the result is undefined). */
/** `remember: false` evaluates every rule with CEL every time (for the benchmark's comparison). */
export interface CompileOptions {
  remember?: boolean;
}

export function compileFlag(def: FlagDefinition, options: CompileOptions = {}): { flag?: CompiledFlag; problems: RuleCompileProblem[] } {
  const problems: RuleCompileProblem[] = [];
  const rules: CompiledFlag['rules'] = [];
  def.rules.forEach((r, i) => {
    const planned = planRule(r.if, (p) => problems.push({ rule: i, ...p }));
    if (!planned) return;
    const program = planned.program;
    const evaluate = (context: EvaluationContext) => program(celBindings(context)) === true;
    const paths = options.remember === false ? undefined : readPaths(planned.parsed);
    rules.push({
      matches: paths ? remembered(paths, evaluate) : evaluate,
      result: result(r.serve, 'TARGETING_MATCH', variantOf(def, r.serve)),
    });
  });
  if (problems.length) return { problems };
  const weighted = Object.entries(def.variants).filter(([, v]) => v.weight > 0);
  const total = weighted.reduce((s, [, v]) => s + v.weight, 0);
  let sum = 0;
  const variants = weighted.map(([name, v]) => {
    sum += v.weight;
    return { name, value: v.value, upTo: Math.round((sum / total) * 10_000), result: result(v.value, 'SPLIT', name) };
  });
  const percent = def.rollout.percent;
  const needsBucket = (percent > 0 && percent < 100) || variants.length > 1;
  // "On" without a choice among variants: SPLIT when a bucket decided, else STATIC, or DEFAULT after rules that did not match.
  const onReason = needsBucket ? 'SPLIT' : rules.length ? 'DEFAULT' : 'STATIC';
  const on = variants.length === 0 ? result(true, onReason, 'true') : result(variants[0]!.value, onReason, variants[0]!.name);
  return {
    flag: {
      def,
      rules,
      by: def.rollout.by.split('.'),
      variants,
      needsBucket,
      results: {
        disabled: result(def.default, 'DISABLED', variantOf(def, def.default)),
        defaulted: result(def.default, 'DEFAULT', variantOf(def, def.default)),
        on,
      },
    },
    problems,
  };
}

/**
 * The compiled flags of one environment, reusing the programs of every flag whose version did not
 * change since `previous`: a change to one flag recompiles that flag only.
 */
export function compileFlagSet(
  defs: readonly FlagDefinition[],
  previous?: ReadonlyMap<string, CompiledFlag>,
  options: CompileOptions = {},
): Map<string, CompiledFlag> {
  const set = new Map<string, CompiledFlag>();
  for (const def of defs) {
    const old = previous?.get(def.key);
    if (old && old.def.version === def.version) {
      set.set(def.key, old);
      continue;
    }
    // Definitions come from a checked file or a checked API change; a rule that still fails to
    // compile (a newer evaluator's syntax in an old store) leaves the flag out: it evaluates as not found.
    const { flag } = compileFlag(def, options);
    if (flag) set.set(def.key, flag);
  }
  return set;
}

function result(value: FlagValue, reason: FlagReason, variant: string | undefined): FlagResolution {
  return Object.freeze(variant === undefined ? { value, reason } : { value, reason, variant });
}

/** The name of the variant serving `value`, if one does; booleans are named "true" and "false". */
export function variantOf(def: Pick<FlagDefinition, 'variants'>, value: FlagValue): string | undefined {
  if (typeof value === 'boolean') return String(value);
  for (const [name, v] of Object.entries(def.variants)) if (sameValue(v.value, value)) return name;
  return undefined;
}

function sameValue(a: FlagValue, b: FlagValue): boolean {
  return a === b || (typeof a === 'object' && typeof b === 'object' && JSON.stringify(a) === JSON.stringify(b));
}
