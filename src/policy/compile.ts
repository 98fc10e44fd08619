/**
 * Policies compiled once (parsed, checked against the context's names, planned by @bufbuild/cel)
 * and evaluated many times. Pure: no I/O, no clock.
 */
import { celEnv, parse, plan, type CelResult } from '@bufbuild/cel';
import type { PolicyConfig } from '../config/policy-schema.js';
import { unknownReferences } from './references.js';
import { TIME_METHODS } from './time-methods.js';

/** What a violated policy does: refuse (enforce), let through with a warning (warn), or only record (audit). */
export type PolicyMode = 'enforce' | 'warn' | 'audit';

/** A policy ready to evaluate. */
export interface CompiledPolicy {
  name: string;
  mode: PolicyMode;
  message: string;
  /** Evaluates `when` (absent: always applies). */
  when?: Program;
  deny: Program;
}

type Program = (bindings: Record<string, unknown>) => CelResult;

/** A policy expression that does not compile: which policy, which key, where in the expression. */
export interface PolicyCompileProblem {
  /** Index of the policy in the `policies:` list. */
  index: number;
  key: 'when' | 'deny';
  /** 0-based offset into the expression text. */
  offset: number;
  message: string;
}

const env = celEnv({ funcs: TIME_METHODS });

/** Compiles every policy; problems are collected for all of them at once. `policies` is empty when any problem was found. */
export function compilePolicies(configs: readonly PolicyConfig[]): { policies: CompiledPolicy[]; problems: PolicyCompileProblem[] } {
  const policies: CompiledPolicy[] = [];
  const problems: PolicyCompileProblem[] = [];
  configs.forEach((p, index) => {
    const when = p.when === undefined ? undefined : compileExpression(p.when, (e) => problems.push({ index, key: 'when', ...e }));
    const deny = compileExpression(p.deny, (e) => problems.push({ index, key: 'deny', ...e }));
    if (deny && (p.when === undefined || when)) {
      policies.push({ name: p.name, mode: p.mode, message: p.message, deny, ...(when ? { when } : {}) });
    }
  });
  return { policies: problems.length ? [] : policies, problems };
}

/**
 * Compiled expressions by their text. slipway.yaml is loaded (and its policies checked) on every
 * deploy and every `status`; the same text compiles to the same program, so it is compiled once.
 * Bounded: a controller running for months with edited policies keeps at most this many.
 */
const cache = new Map<string, { program?: Program; problems: { offset: number; message: string }[] }>();
const CACHE_LIMIT = 500;

/** Forgets every compiled expression (for benchmarks that measure compiling). */
export function clearCompileCache(): void {
  cache.clear();
}

/** Parses, checks and plans one expression; reports each problem through `problem` and returns undefined if any. */
export function compileExpression(text: string, problem: (p: { offset: number; message: string }) => void): Program | undefined {
  let hit = cache.get(text);
  if (!hit) {
    const problems: { offset: number; message: string }[] = [];
    const program = compileUncached(text, (p) => problems.push(p));
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
    hit = { problems, ...(program ? { program } : {}) };
    cache.set(text, hit);
  }
  hit.problems.forEach(problem);
  return hit.program;
}

function compileUncached(text: string, problem: (p: { offset: number; message: string }) => void): Program | undefined {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(text);
  } catch (err) {
    const e = err as { rawMessage?: string; message: string; location?: { start?: { offset?: number } } };
    problem({ offset: e.location?.start?.offset ?? 0, message: `CEL syntax error: ${e.rawMessage ?? e.message}` });
    return undefined;
  }
  const unknown = unknownReferences(parsed, text);
  for (const u of unknown) problem(u);
  if (unknown.length) return undefined;
  try {
    return plan(env, parsed) as Program;
  } catch (err) {
    problem({ offset: 0, message: `CEL: ${(err as Error).message}` });
    return undefined;
  }
}
