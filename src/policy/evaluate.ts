/**
 * One evaluation of every compiled policy against one context: which policies deny, warn or audit.
 * Pure: the context carries the time.
 */
import { isCelError } from '@bufbuild/cel';
import type { CompiledPolicy, PolicyMode } from './compile.js';
import { celBindings, type PolicyContext } from './context.js';

/** One policy whose `deny` came out true (or could not be evaluated). */
export interface PolicyViolation {
  policy: string;
  mode: PolicyMode;
  message: string;
  /** Set when `when` or `deny` failed to evaluate (an error, or not a bool): such a policy counts as violated. */
  error?: string;
}

/** The outcome for a whole set of policies. */
export interface PolicyVerdict {
  /** No enforce policy is violated. */
  allowed: boolean;
  denied: PolicyViolation[];
  warned: PolicyViolation[];
  audited: PolicyViolation[];
}

/**
 * Evaluates every policy (none short-circuits the others, so that every violation is reported at
 * once). A policy whose expression fails at run time (a field that is null, a type mismatch) counts
 * as violated, with the error: a broken rule must not let a deploy through unnoticed.
 */
export function evaluatePolicies(policies: readonly CompiledPolicy[], ctx: PolicyContext): PolicyVerdict {
  const bindings = celBindings(ctx);
  const verdict: PolicyVerdict = { allowed: true, denied: [], warned: [], audited: [] };
  for (const p of policies) {
    const outcome = evaluateOne(p, bindings);
    if (outcome === false) continue;
    const v: PolicyViolation = { policy: p.name, mode: p.mode, message: p.message, ...(outcome === true ? {} : { error: outcome.error }) };
    if (p.mode === 'enforce') verdict.denied.push(v);
    else if (p.mode === 'warn') verdict.warned.push(v);
    else verdict.audited.push(v);
  }
  verdict.allowed = verdict.denied.length === 0;
  return verdict;
}

/** true: violated; false: not (or `when` is false); { error }: could not be evaluated. */
function evaluateOne(p: CompiledPolicy, bindings: Record<string, unknown>): boolean | { error: string } {
  if (p.when) {
    const applies = asBool(p.when(bindings), 'when');
    if (applies !== true) return applies;
  }
  return asBool(p.deny(bindings), 'deny');
}

function asBool(r: unknown, key: string): boolean | { error: string } {
  if (isCelError(r)) return { error: `${key}: ${r.message}` };
  if (typeof r !== 'boolean') return { error: `${key}: expected true or false, got ${describe(r)}` };
  return r;
}

function describe(v: unknown): string {
  if (typeof v === 'bigint') return `the int ${v}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (typeof v === 'number') return `the double ${v}`;
  if (v === null) return 'null';
  return 'a value of another type';
}

/** One line per violation, for errors and CLI output: `name: message` (with the error when there was one). */
export function describeViolation(v: PolicyViolation): string {
  return `${v.policy}: ${v.message}${v.error ? ` (could not be evaluated, ${v.error}; counted as violated)` : ''}`;
}
