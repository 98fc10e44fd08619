/**
 * Turns zod's validation issues into ConfigProblems: plain-language messages that show the offending
 * value, positions taken from the YAML source, and "did you mean" suggestions for typos.
 */
import type { z } from 'zod';
import { describeValue, formatPath, type ConfigProblem, type PathSegment } from './problem.js';
import { closest, closestTo } from './suggest.js';
import { locatePath, type YamlSource } from './yaml-source.js';

type Issue = z.core.$ZodIssue;

/** Maps every issue of a failed parse of `input` (the document as plain data) against `schema`. */
export function schemaProblems(issues: readonly Issue[], input: unknown, schema: z.ZodType, src: YamlSource): ConfigProblem[] {
  return issues.flatMap((issue) => mapIssue(issue, [], { input, schema, src }));
}

interface Context {
  input: unknown;
  schema: z.ZodType;
  src: YamlSource;
}

function mapIssue(issue: Issue, prefix: PathSegment[], ctx: Context): ConfigProblem[] {
  const path = [...prefix, ...(issue.path as PathSegment[])];
  const value = valueAt(ctx.input, path);
  const at = (message: string, suggestion?: string, where: 'value' | 'key' = 'value'): ConfigProblem[] => [
    { ...locatePath(ctx.src, path, where), path: formatPath(path), message, ...(suggestion ? { suggestion } : {}) },
  ];
  const got = isScalar(value) ? ` (got ${describeValue(value)})` : '';

  switch (issue.code) {
    case 'invalid_type': {
      const parent = valueAt(ctx.input, path.slice(0, -1));
      if (value === undefined && path.length > 0 && isMapping(parent)) {
        const missing = String(path.at(-1));
        // A missing key is often a misspelt one sitting right there: name it.
        const allowed = allowedKeys(ctx.schema, path.slice(0, -1));
        const typo = closestTo(
          missing,
          Object.keys(parent).filter((k) => !allowed.includes(k)),
        );
        return at(`missing required key "${missing}"`, typo && `is "${typo}" a typo for "${missing}"?`);
      }
      if (path.length === 0) return at(`expected a mapping with the keys "app" and "services" (got ${describeValue(value)})`);
      return at(`expected ${typeName(issue.expected)} (got ${describeValue(value)})`);
    }
    case 'unrecognized_keys':
      return issue.keys.flatMap((key) => {
        const keyPath = [...path, key];
        const match = closest(key, allowedKeys(ctx.schema, path));
        return [
          {
            ...locatePath(ctx.src, keyPath, 'key'),
            path: formatPath(keyPath),
            message: `unknown key "${key}"`,
            ...(match ? { suggestion: `did you mean "${match}"?` } : {}),
          },
        ];
      });
    case 'invalid_value': {
      const match = typeof value === 'string' ? closest(value, issue.values.map(String)) : undefined;
      return at(`expected ${orList(issue.values.map((v) => JSON.stringify(v)))}${got}`, match && `did you mean "${match}"?`);
    }
    case 'too_small':
    case 'too_big':
      return at(`${boundMessage(issue)}${got}`);
    case 'invalid_format':
      return at(`${issue.message.startsWith('Invalid') ? `expected a string in ${issue.format} format` : issue.message}${got}`);
    case 'invalid_key': {
      const inner = issue.issues[0]?.message ?? 'invalid key';
      return at(`invalid name "${String(path.at(-1))}": ${inner}`, undefined, 'key');
    }
    case 'invalid_union':
      return unionProblems(issue, path, value, ctx);
    default:
      return at(`${issue.message}${got}`);
  }
}

/**
 * zod reports a failed union as every member's failure. Members whose type did not even match the
 * input (a mapping given where a word was expected) say nothing useful, so they only contribute to
 * an "expected X or Y" message; of the rest, the member with the fewest problems is reported, since
 * it is the form the user was most likely writing.
 */
function unionProblems(issue: z.core.$ZodIssueInvalidUnion, path: PathSegment[], value: unknown, ctx: Context): ConfigProblem[] {
  const root = (errors: Issue[]) => (errors.length === 1 && errors[0]!.path.length === 0 ? errors[0] : undefined);
  const expectation = (errors: Issue[]): string[] => {
    const only = root(errors);
    if (only?.code === 'invalid_type') return [typeName(only.expected)];
    if (only?.code === 'invalid_value') return only.values.map((v) => JSON.stringify(v));
    return [];
  };
  const mismatch = (errors: Issue[]) => {
    const only = root(errors);
    return only?.code === 'invalid_type' || (only?.code === 'invalid_value' && !only.values.some((v) => typeof v === typeof value));
  };
  const fitting = issue.errors.filter((errors) => !mismatch(errors));

  if (fitting.every((errors) => root(errors)?.code === 'invalid_value')) {
    const words = issue.errors.flatMap((errors) =>
      root(errors)?.code === 'invalid_value' ? (root(errors) as z.core.$ZodIssueInvalidValue).values : [],
    );
    const match =
      typeof value === 'string'
        ? closest(
            value,
            words.filter((v): v is string => typeof v === 'string'),
          )
        : undefined;
    const message = `expected ${orList([...new Set(issue.errors.flatMap(expectation))])} (got ${describeValue(value)})`;
    return [
      { ...locatePath(ctx.src, path), path: formatPath(path), message, ...(match ? { suggestion: `did you mean "${match}"?` } : {}) },
    ];
  }
  const depth = (errors: Issue[]) => Math.max(...errors.map((e) => e.path.length));
  const best = fitting.reduce((a, b) => (b.length < a.length || (b.length === a.length && depth(b) > depth(a)) ? b : a));
  return best.flatMap((inner) => mapIssue(inner, path, ctx));
}

/** Keys an object schema at `path` accepts, looking through wrappers, records and unions. */
export function allowedKeys(schema: z.ZodType, path: readonly PathSegment[]): string[] {
  let current: z.core.$ZodType[] = [schema as z.core.$ZodType];
  for (const seg of path) current = current.flatMap((s) => objectsIn(s)).flatMap((s) => childSchemas(s, seg));
  return [
    ...new Set(
      current
        .flatMap((s) => objectsIn(s))
        .flatMap((s) => (s._zod.def.type === 'object' ? Object.keys((s._zod.def as z.core.$ZodObjectDef).shape) : [])),
    ),
  ];
}

/** The object and record schemas a schema may stand for once wrappers and unions are looked through. */
function objectsIn(schema: z.core.$ZodType): z.core.$ZodType[] {
  const def = schema._zod.def as z.core.$ZodTypeDef & { innerType?: z.core.$ZodType; in?: z.core.$ZodType; options?: z.core.$ZodType[] };
  switch (def.type) {
    case 'object':
    case 'record':
    case 'array':
      return [schema];
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'nonoptional':
    case 'catch':
      return def.innerType ? objectsIn(def.innerType) : [];
    case 'pipe':
      return def.in ? objectsIn(def.in) : [];
    case 'union':
      return (def.options ?? []).flatMap(objectsIn);
    default:
      return [];
  }
}

function childSchemas(schema: z.core.$ZodType, seg: PathSegment): z.core.$ZodType[] {
  const def = schema._zod.def;
  if (def.type === 'object') {
    const child = (def as z.core.$ZodObjectDef).shape[String(seg)];
    return child ? [child] : [];
  }
  if (def.type === 'record') return [(def as z.core.$ZodRecordDef).valueType];
  if (def.type === 'array' && typeof seg === 'number') return [(def as z.core.$ZodArrayDef).element];
  return [];
}

function boundMessage(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig): string {
  const small = issue.code === 'too_small';
  const bound = Number(small ? (issue as z.core.$ZodIssueTooSmall).minimum : (issue as z.core.$ZodIssueTooBig).maximum);
  const inclusive = issue.inclusive !== false;
  const comparison = small ? (inclusive ? 'at least' : 'more than') : inclusive ? 'at most' : 'less than';
  if (issue.origin === 'string') return small && bound === 1 ? 'expected a non-empty string' : `expected ${comparison} ${bound} characters`;
  if (issue.origin === 'array' || issue.origin === 'set') return `expected ${comparison} ${bound} items`;
  return `expected ${comparison} ${bound}`;
}

function typeName(expected: string): string {
  const names: Record<string, string> = {
    string: 'a string',
    number: 'a number',
    int: 'a whole number',
    boolean: 'true or false',
    object: 'a mapping',
    record: 'a mapping',
    map: 'a mapping',
    array: 'a list',
    null: 'an empty value',
  };
  return names[expected] ?? expected;
}

function orList(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? 'something else';
  return `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let current = data;
  for (const seg of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[String(seg)];
  }
  return current;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isScalar(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}
