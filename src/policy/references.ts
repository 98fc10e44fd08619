/**
 * Compile-time check of the names an expression reads. @bufbuild/cel has a type checker but does
 * not export it (0.6), so this walks the parsed expression itself: every free identifier must be a
 * context variable (or a CEL type name), and every field selected from a known object must exist.
 * That catches `enviroment.name` and `release.digest_changed` when slipway.yaml is loaded instead
 * of at the first deploy. Values the walk cannot type (map keys, results of calls) are not checked.
 */
import type { parse } from '@bufbuild/cel';
import { closest } from '../config/suggest.js';
import { CEL_TYPE_NAMES, CONTEXT_FIELDS, type FieldSpec } from './context.js';

type Parsed = ReturnType<typeof parse>;
type Expr = Parsed['expr'];

/** One name an expression reads that the context does not have; `offset` is into the expression text. */
export interface ReferenceProblem {
  offset: number;
  message: string;
}

/** Every unknown variable or field in `parsed` (parsed from `text`), in the order they appear. */
export function unknownReferences(parsed: Parsed, text: string, fields: Record<string, FieldSpec> = CONTEXT_FIELDS): ReferenceProblem[] {
  const positions = parsed.sourceInfo?.positions ?? {};
  const problems: ReferenceProblem[] = [];
  // A select is positioned at its dot; point at the field name after it.
  const at = (e: Expr) => {
    const offset = positions[String(e.id)] ?? 0;
    return text[offset] === '.' ? offset + 1 : offset;
  };
  const roots = new Map<string, FieldSpec | undefined>(Object.entries(fields));

  /** Walks `e` with the comprehension variables in scope; returns e's type when it is a known field. */
  const visit = (e: Expr | undefined, scope: Map<string, FieldSpec | undefined>): FieldSpec | undefined => {
    if (!e) return undefined;
    const k = e.exprKind;
    switch (k.case) {
      case 'identExpr': {
        const name = k.value.name;
        if (scope.has(name)) return scope.get(name);
        if (!CEL_TYPE_NAMES.has(name)) {
          const near = closest(name, [...roots.keys()]);
          problems.push({ offset: at(e), message: `unknown variable "${name}"${near ? ` (did you mean "${near}"?)` : ''}` });
        }
        return undefined;
      }
      case 'selectExpr': {
        const of = visit(k.value.operand, scope);
        if (!of) return undefined;
        const field = k.value.field;
        if (of.type === 'object') {
          if (Object.hasOwn(of.fields, field)) return of.fields[field];
          const names = Object.keys(of.fields);
          const near = closest(field, names);
          problems.push({
            offset: at(e),
            message: `no field "${field}" in ${describe(k.value.operand)}${near ? ` (did you mean "${near}"?)` : ''}; it has: ${names.join(', ')}`,
          });
        } else {
          problems.push({ offset: at(e), message: `${describe(k.value.operand)} is a ${of.type}, it has no field "${field}"` });
        }
        return undefined;
      }
      case 'callExpr':
        visit(k.value.target, scope);
        for (const a of k.value.args) visit(a, scope);
        return undefined;
      case 'listExpr':
        for (const el of k.value.elements) visit(el, scope);
        return undefined;
      case 'structExpr':
        for (const entry of k.value.entries) {
          if (entry.keyKind.case === 'mapKey') visit(entry.keyKind.value, scope);
          visit(entry.value, scope);
        }
        return undefined;
      case 'comprehensionExpr': {
        const c = k.value;
        const range = visit(c.iterRange, scope);
        visit(c.accuInit, scope);
        const inner = new Map(scope);
        // One variable over a list: its element; two variables (or a map): index/key and value, not typed here.
        inner.set(c.iterVar, c.iterVar2 === '' && range?.type === 'list' ? range.of : undefined);
        if (c.iterVar2 !== '') inner.set(c.iterVar2, range?.type === 'list' ? range.of : undefined);
        inner.set(c.accuVar, undefined);
        visit(c.loopCondition, inner);
        visit(c.loopStep, inner);
        visit(c.result, inner);
        return undefined;
      }
      default:
        return undefined;
    }
  };
  visit(parsed.expr, roots);
  return problems.sort((a, b) => a.offset - b.offset);
}

/** `environment.name` for a chain of selects on an identifier; "the value" otherwise. */
function describe(e: Expr | undefined): string {
  const k = e?.exprKind;
  if (k?.case === 'identExpr') return k.value.name;
  if (k?.case === 'selectExpr') return `${describe(k.value.operand)}.${k.value.field}`;
  return 'the value';
}
