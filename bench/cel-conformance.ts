/**
 * `npm run bench -- cel-conformance`: runs a sample of the CEL conformance suite (google/cel-spec's
 * tests/simple/testdata, copied into bench/fixtures/cel-spec at the commit named there) against
 * @bufbuild/cel and, when installed, @marcbachmann/cel-js, and prints how many cases each passes
 * (ADR 0016 records the numbers and the choice).
 *
 * The alternative is not a dependency: install it in a scratch directory and point at it,
 *   (cd /tmp/celalt && npm install @marcbachmann/cel-js@8)
 *   CEL_ALT=/tmp/celalt/node_modules/@marcbachmann/cel-js npm run bench -- cel-conformance
 * Both libraries evaluate each expression unchecked with their default settings (bufbuild's `run`,
 * cel-js's `evaluate`), the same way the suite's runners do for `disable_check` cases. Cases that
 * need the suite's protobuf test messages (a `container`, an `object_value`) or unknowns are left
 * out for both and counted as skipped.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { celUint, isCelError, isCelList, isCelMap, isCelType, isCelUint, run as bufRun, type CelInput } from '@bufbuild/cel';
import { TIME_METHODS } from '../src/policy/time-methods.js';
import { first, isMessage, parseTextproto, str, type TextMessage, type TextValue } from './support/textproto.js';

const FIXTURES = fileURLToPath(new URL('../../bench/fixtures/cel-spec/', import.meta.url));

/** A value in a form both libraries' results can be compared in. */
type Canon =
  | { t: 'int' | 'uint'; v: bigint }
  | { t: 'double'; v: number }
  | { t: 'string' | 'type'; v: string }
  | { t: 'bool'; v: boolean }
  | { t: 'null' }
  | { t: 'bytes'; v: string }
  | { t: 'list'; v: Canon[] }
  | { t: 'map'; v: [string, Canon][] }
  | { t: 'other'; v: string };

class Skip extends Error {}

interface Case {
  file: string;
  name: string;
  expr: string;
  bindings: Map<string, Canon>;
  expect: { error: true } | { value: Canon };
}

/** An evaluator under test: evaluates `expr` with `bindings`, returning a canonical value or throwing. */
export interface Engine {
  name: string;
  evaluate(expr: string, bindings: Map<string, Canon>): Canon;
}

export function loadCases(dir = FIXTURES): { cases: Case[]; skipped: number; files: string[] } {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.textproto'))
    .sort();
  const cases: Case[] = [];
  let skipped = 0;
  for (const file of files) {
    const doc = parseTextproto(readFileSync(join(dir, file), 'utf8'));
    for (const section of (doc.get('section') ?? []).filter(isMessage)) {
      for (const test of (section.get('test') ?? []).filter(isMessage)) {
        const name = `${file.replace('.textproto', '')}/${str(section, 'name')}/${str(test, 'name')}`;
        try {
          cases.push(toCase(file, name, test));
        } catch (err) {
          if (!(err instanceof Skip)) throw err;
          skipped++;
        }
      }
    }
  }
  return { cases, skipped, files };
}

function toCase(file: string, name: string, test: TextMessage): Case {
  if (test.has('container') || test.has('check_only')) throw new Skip();
  const expr = str(test, 'expr');
  if (expr === undefined) throw new Skip();
  const bindings = new Map<string, Canon>();
  for (const b of (test.get('bindings') ?? []).filter(isMessage)) {
    const exprValue = first(b, 'value');
    const value = isMessage(exprValue) ? first(exprValue, 'value') : undefined;
    if (!isMessage(value)) throw new Skip();
    bindings.set(str(b, 'key')!, canonOfExpected(value));
  }
  let expect: Case['expect'];
  if (test.has('eval_error')) expect = { error: true };
  else {
    const typed = first(test, 'typed_result');
    const v = isMessage(typed) ? first(typed, 'result') : first(test, 'value');
    // A test with no result expects true.
    expect = { value: isMessage(v) ? canonOfExpected(v) : { t: 'bool', v: true } };
    if (!isMessage(v) && (test.has('unknown') || test.has('any_eval_errors') || test.has('any_unknowns'))) throw new Skip();
  }
  return { file, name, expr, bindings, expect };
}

function word(v: TextValue | undefined): string {
  if (v === undefined || isMessage(v)) throw new Skip();
  return v.kind === 'word' ? v.text : new TextDecoder().decode(v.bytes);
}

function canonOfExpected(v: TextMessage): Canon {
  const [field, values] = [...v.entries()][0] ?? ['null_value', []];
  const x = values[0];
  switch (field) {
    case 'null_value':
      return { t: 'null' };
    case 'bool_value':
      return { t: 'bool', v: word(x) === 'true' };
    case 'int64_value':
      return { t: 'int', v: BigInt(word(x)) };
    case 'uint64_value':
      return { t: 'uint', v: BigInt(word(x)) };
    case 'double_value': {
      const w = word(x).toLowerCase();
      return { t: 'double', v: w === 'inf' || w === 'infinity' ? Infinity : w === '-inf' || w === '-infinity' ? -Infinity : Number(w) };
    }
    case 'string_value':
      return { t: 'string', v: word(x) };
    case 'bytes_value':
      if (x === undefined || isMessage(x) || x.kind !== 'string') throw new Skip();
      return { t: 'bytes', v: Buffer.from(x.bytes).toString('hex') };
    case 'type_value':
      return { t: 'type', v: word(x) };
    case 'list_value':
      return { t: 'list', v: isMessage(x) ? (x.get('values') ?? []).filter(isMessage).map(canonOfExpected) : [] };
    case 'map_value': {
      const entries = isMessage(x) ? (x.get('entries') ?? []).filter(isMessage) : [];
      return {
        t: 'map',
        v: entries.map((e) => [key(canonOfExpected(first(e, 'key') as TextMessage)), canonOfExpected(first(e, 'value') as TextMessage)]),
      };
    }
    default:
      throw new Skip(); // object_value, enum_value: need the suite's protobuf messages
  }
}

function key(c: Canon): string {
  return JSON.stringify(c, (_k, val: unknown) => (typeof val === 'bigint' ? `${val}n` : val));
}

export function same(a: Canon, b: Canon): boolean {
  if (a.t !== b.t) return false;
  if (a.t === 'double') {
    const bv = (b as { v: number }).v;
    return Number.isNaN(a.v) ? Number.isNaN(bv) : a.v === bv;
  }
  if (a.t === 'list') {
    const bl = (b as { v: Canon[] }).v;
    return a.v.length === bl.length && a.v.every((x, i) => same(x, bl[i]!));
  }
  if (a.t === 'map') {
    const bm = new Map((b as { v: [string, Canon][] }).v);
    return a.v.length === bm.size && a.v.every(([k, x]) => bm.has(k) && same(x, bm.get(k)!));
  }
  return key(a) === key(b);
}

// ---- @bufbuild/cel ----

function bufInput(c: Canon): CelInput {
  switch (c.t) {
    case 'uint':
      return celUint(c.v);
    case 'null':
      return null;
    case 'bytes':
      return Uint8Array.from(Buffer.from(c.v, 'hex'));
    case 'list':
      return c.v.map(bufInput);
    case 'map':
      return new Map(c.v.map(([k, x]) => [bufInput(JSON.parse(k, revive) as Canon) as string, bufInput(x)]));
    case 'int':
    case 'double':
    case 'string':
    case 'bool':
      return c.v;
    default:
      throw new Skip();
  }
}

function revive(_k: string, val: unknown): unknown {
  return typeof val === 'string' && /^-?\d+n$/.test(val) ? BigInt(val.slice(0, -1)) : val;
}

function bufCanon(v: unknown): Canon {
  if (typeof v === 'bigint') return { t: 'int', v };
  if (isCelUint(v)) return { t: 'uint', v: v.value };
  if (typeof v === 'number') return { t: 'double', v };
  if (typeof v === 'string') return { t: 'string', v };
  if (typeof v === 'boolean') return { t: 'bool', v };
  if (v === null) return { t: 'null' };
  if (v instanceof Uint8Array) return { t: 'bytes', v: Buffer.from(v).toString('hex') };
  if (isCelList(v)) return { t: 'list', v: [...v].map(bufCanon) };
  if (isCelMap(v)) return { t: 'map', v: [...v.entries()].map(([k, x]) => [key(bufCanon(k)), bufCanon(x)]) };
  if (isCelType(v)) return { t: 'type', v: v.name };
  return { t: 'other', v: String((v as { $typeName?: string }).$typeName ?? v) };
}

/** `@bufbuild/cel` as is, or with Slipway's timestamp accessors installed over its own (src/policy/time-methods.ts). */
function bufEngine(withTimeMethods: boolean): Engine {
  return {
    name: withTimeMethods ? '@bufbuild/cel + time-methods' : '@bufbuild/cel',
    evaluate(expr, bindings) {
      const inputs = Object.fromEntries([...bindings].map(([k, c]) => [k, bufInput(c)]));
      const out = bufRun(expr, inputs, withTimeMethods ? { funcs: TIME_METHODS } : {});
      if (isCelError(out)) throw out;
      return bufCanon(out);
    },
  };
}

// ---- @marcbachmann/cel-js (optional, from CEL_ALT) ----

export interface AltModule {
  evaluate(expr: string, ctx?: Record<string, unknown>): unknown;
  Environment: new (opts: Record<string, unknown>) => { evaluate(expr: string, ctx?: Record<string, unknown>): unknown };
}

/** Loads @marcbachmann/cel-js from the directory in CEL_ALT (not a dependency of Slipway); undefined when unset. */
export async function loadAlt(): Promise<{ mod: AltModule; uint: new (v: bigint) => object; dir: string } | undefined> {
  const dir = process.env.CEL_ALT;
  if (!dir) return undefined;
  const mod = (await import(join(dir, 'lib/index.js'))) as AltModule;
  const fns = (await import(join(dir, 'lib/functions.js'))) as { UnsignedInt: new (v: bigint) => object };
  return { mod, uint: fns.UnsignedInt, dir };
}

/**
 * `lenient`: an Environment with `homogeneousAggregateLiterals: false` and unlisted variables as dyn,
 * the library's closest setting to the spec's (its default refuses mixed list and map literals).
 */
function altEngine(alt: NonNullable<Awaited<ReturnType<typeof loadAlt>>>, lenient: boolean): Engine {
  const evaluate = lenient
    ? (() => {
        const env = new alt.mod.Environment({ homogeneousAggregateLiterals: false, unlistedVariablesAreDyn: true });
        return (expr: string, ctx: Record<string, unknown>) => env.evaluate(expr, ctx);
      })()
    : (expr: string, ctx: Record<string, unknown>) => alt.mod.evaluate(expr, ctx);
  const input = (c: Canon): unknown => {
    switch (c.t) {
      case 'uint':
        return new alt.uint(c.v);
      case 'null':
        return null;
      case 'bytes':
        return Uint8Array.from(Buffer.from(c.v, 'hex'));
      case 'list':
        return c.v.map(input);
      case 'map':
        return new Map(c.v.map(([k, x]) => [input(JSON.parse(k, revive) as Canon), input(x)]));
      case 'int':
      case 'double':
      case 'string':
      case 'bool':
        return c.v;
      default:
        throw new Skip();
    }
  };
  const canon = (v: unknown): Canon => {
    if (typeof v === 'bigint') return { t: 'int', v };
    if (typeof v === 'number') return { t: 'double', v };
    if (typeof v === 'string') return { t: 'string', v };
    if (typeof v === 'boolean') return { t: 'bool', v };
    if (v === null) return { t: 'null' };
    if (v instanceof Uint8Array) return { t: 'bytes', v: Buffer.from(v).toString('hex') };
    if (v instanceof alt.uint) return { t: 'uint', v: (v as { value: bigint }).value };
    if (Array.isArray(v)) return { t: 'list', v: v.map(canon) };
    if (v instanceof Map) return { t: 'map', v: [...v.entries()].map(([k, x]) => [key(canon(k)), canon(x)]) };
    const ctor = (v as object).constructor?.name;
    if (ctor === 'Type') return { t: 'type', v: (v as { name: string }).name };
    if (ctor === 'Object') return { t: 'map', v: Object.entries(v as object).map(([k, x]) => [key({ t: 'string', v: k }), canon(x)]) };
    return { t: 'other', v: String(ctor) };
  };
  return {
    name: lenient ? 'cel-js (lenient env)' : '@marcbachmann/cel-js',
    evaluate(expr, bindings) {
      return canon(evaluate(expr, Object.fromEntries([...bindings].map(([k, c]) => [k, input(c)]))));
    },
  };
}

/** Runs every case against one engine: passes per file and the names of the failures. */
export function score(engine: Engine, cases: Case[]): { passed: number; perFile: Map<string, [number, number]>; failures: string[] } {
  const perFile = new Map<string, [number, number]>();
  const failures: string[] = [];
  let passed = 0;
  for (const c of cases) {
    let ok: boolean;
    try {
      const got = engine.evaluate(c.expr, c.bindings);
      ok = 'value' in c.expect && same(c.expect.value, got);
    } catch {
      ok = 'error' in c.expect;
    }
    const [p, n] = perFile.get(c.file) ?? [0, 0];
    perFile.set(c.file, [p + (ok ? 1 : 0), n + 1]);
    if (ok) passed++;
    else failures.push(c.name);
  }
  return { passed, perFile, failures };
}

export async function run(): Promise<void> {
  const { cases, skipped, files } = loadCases();
  const engines = [bufEngine(false), bufEngine(true)];
  const alt = await loadAlt();
  if (alt) engines.push(altEngine(alt, false), altEngine(alt, true));
  else console.log('CEL_ALT not set: only @bufbuild/cel is scored (see the top of bench/cel-conformance.ts to add @marcbachmann/cel-js).');
  console.log(`${cases.length} cases from ${files.join(', ')}; ${skipped} skipped (need protobuf test messages or unknowns)`);
  const results = engines.map((e) => ({ engine: e, ...score(e, cases) }));
  const header = ['file', ...results.map((r) => r.engine.name)];
  const rows = files.map((f) => [f.replace('.textproto', ''), ...results.map((r) => (r.perFile.get(f) ?? [0, 0]).join('/'))]);
  rows.push(['total', ...results.map((r) => `${r.passed}/${cases.length} (${((100 * r.passed) / cases.length).toFixed(1)}%)`)]);
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => r[i]!.length)));
  for (const r of [header, ...rows]) console.log(r.map((cell, i) => cell.padEnd(widths[i]!)).join('  '));
  if (process.argv.includes('--failures')) {
    for (const r of results) console.log(`\n${r.engine.name} fails:\n  ${r.failures.join('\n  ')}`);
  }
}
