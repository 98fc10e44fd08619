/**
 * Rule results remembered by the values the rule reads (ADR 0023, "Evaluation speed").
 *
 * A rule's result is a pure function of the context values its condition names (CEL has no side
 * effects, and flag rules get no clock). A condition that only reads attribute paths such as
 * `user.country` and `app.version` (no comprehension, no whole object) is evaluated by CEL once per
 * combination of those values; later evaluations with the same values look the result up. Such
 * attributes (country, plan, version) take few values, so most evaluations skip CEL, which costs
 * microseconds per rule. A value that is an object or a list is not remembered: CEL evaluates.
 */
import type { parse } from '@bufbuild/cel';
import type { EvaluationContext } from './types.js';

type Parsed = ReturnType<typeof parse>;
type Expr = Parsed['expr'];

/** Entries per rule before the memory is cleared (bounded: a rule on user.id sees many values). */
const LIMIT = 4096;

/** The attribute paths a condition reads, or undefined when it reads anything else (then it is not remembered). */
export function readPaths(parsed: Parsed): string[][] | undefined {
  const paths: string[][] = [];
  let plain = true;
  const visit = (e: Expr | undefined): void => {
    if (!e || !plain) return;
    const k = e.exprKind;
    switch (k.case) {
      case 'identExpr':
      case 'selectExpr': {
        const path = pathOf(e);
        if (path) paths.push(path);
        else if (k.case === 'selectExpr') visit(k.value.operand);
        return;
      }
      case 'callExpr':
        visit(k.value.target);
        k.value.args.forEach(visit);
        return;
      case 'listExpr':
        k.value.elements.forEach(visit);
        return;
      case 'structExpr':
        for (const entry of k.value.entries) {
          if (entry.keyKind.case === 'mapKey') visit(entry.keyKind.value);
          visit(entry.value);
        }
        return;
      case 'constExpr':
        return;
      default:
        plain = false;
    }
  };
  visit(parsed.expr);
  return plain ? paths : undefined;
}

/** ["user", "country"] for `user.country`; undefined when the chain does not start at an identifier. */
function pathOf(e: Expr): string[] | undefined {
  const k = e.exprKind;
  if (k.case === 'identExpr') return [k.value.name];
  if (k.case === 'selectExpr' && k.value.operand) {
    const p = pathOf(k.value.operand);
    return p && [...p, k.value.field];
  }
  return undefined;
}

/** Wraps `evaluate` (the CEL program on the context) with a memory keyed by the values at `paths`. */
export function remembered(paths: string[][], evaluate: (context: EvaluationContext) => boolean): (context: EvaluationContext) => boolean {
  const memory = new Map<string, boolean>();
  return (context) => {
    let key = '';
    for (const p of paths) {
      const part = keyPart(valueAt(context, p));
      if (part === undefined) return evaluate(context);
      key += part;
    }
    let hit = memory.get(key);
    if (hit === undefined) {
      hit = evaluate(context);
      if (memory.size >= LIMIT) memory.clear();
      memory.set(key, hit);
    }
    return hit;
  };
}

/** Stands for a value that is not remembered (an object). */
const OBJECT = {};

/** The value CEL would see at `path`: the targeting key stands in for user.id as in celBindings. */
function valueAt(context: EvaluationContext, path: string[]): unknown {
  let v: unknown = context[path[0]!];
  let i = 1;
  if (path[0] === 'user' && context.targetingKey !== undefined) {
    const object = v !== null && typeof v === 'object';
    if (!object || (v as { id?: unknown }).id === undefined) {
      if (path.length === 1) return OBJECT;
      if (path[1] === 'id') {
        v = context.targetingKey;
        i = 2;
      } else if (!object) return undefined;
    }
  }
  for (; i < path.length; i++) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[path[i]!];
  }
  return v;
}

/** A type-tagged, delimited piece of the key; undefined for values that are not remembered. */
function keyPart(v: unknown): string | undefined {
  switch (typeof v) {
    case 'string':
      return `s${v.length}:${v}`;
    case 'number':
      return `n${v};`;
    case 'boolean':
      return v ? 't;' : 'f;';
    case 'bigint':
      return `i${v};`;
    case 'undefined':
      return 'u;';
    case 'object':
      return v === null ? 'z;' : undefined;
    default:
      return undefined;
  }
}
