/**
 * Policy test cases (`slipway policy test`): each gives part of a policy context and the verdict
 * expected from the policies of slipway.yaml, like Conftest's tests, so rules are checked in CI
 * without a controller. Pure: the file is read and located by src/config/policy-test-file.ts.
 */
import { z } from 'zod';
import type { CompiledPolicy } from './compile.js';
import { CONTEXT_FIELDS, type FieldSpec, type PolicyApproval, type PolicyContext } from './context.js';
import { evaluatePolicies, type PolicyViolation } from './evaluate.js';

export type Verdict = 'allow' | 'deny' | 'warn';

/** What a test case's `context:` may hold: any part of the policy context, times as ISO 8601 text. */
export const contextInputSchema = inputSchema({ type: 'object', fields: CONTEXT_FIELDS, doc: '' });

export const policyTestSchema = z
  .strictObject({
    name: z.string().min(1).meta({ description: 'Names the case in the report.' }),
    context: contextInputSchema.prefault({}).meta({ description: 'Merged over the default context (docs/policies.md).' }),
    expect: z.enum(['allow', 'deny', 'warn']).meta({
      description: 'deny: an enforce policy is violated; warn: none is, but a warn policy is; allow: neither.',
    }),
    policies: z
      .array(z.string().min(1))
      .optional()
      .meta({ description: 'Exactly the policies that decide the verdict (the denying ones for deny, the warning ones for warn).' }),
  })
  .meta({ description: 'One policy test case.' });

export const policyTestFileSchema = z
  .strictObject({ tests: z.array(policyTestSchema).min(1, 'write at least one test case') })
  .meta({ title: 'policies.test.yaml', description: 'Test cases for the policies of slipway.yaml (`slipway policy test`).' });

export type PolicyTestCase = z.output<typeof policyTestSchema>;

/** The context a test case starts from: an ordinary deploy of a changed artifact to "local" on a Wednesday noon UTC. */
export const DEFAULT_TEST_CONTEXT: PolicyContext = {
  action: 'deploy',
  environment: { name: 'local', target: 'local' },
  service: { name: 'web', instances: 1, port: 8080, strategy: 'rolling' },
  release: {
    number: 2,
    digest: `sha256:${'b'.repeat(64)}`,
    message: '',
    previousNumber: 1,
    previousDigest: `sha256:${'a'.repeat(64)}`,
    firstDeploy: false,
    digestChanged: true,
    configChanged: false,
  },
  strategy: { type: 'rolling', steps: 0, analysis: [], maxWeight: 100 },
  actor: { name: 'ci' },
  approvals: [],
  now: Date.parse('2026-01-07T12:00:00Z'),
  recentFailures: 0,
};

/** The outcome of one case. */
export interface PolicyTestResult {
  name: string;
  passed: boolean;
  expected: { verdict: Verdict; policies?: string[] };
  actual: { verdict: Verdict; denied: string[]; warned: string[]; audited: string[] };
  /** Policies that failed to evaluate for this context (they count as violated). */
  errors: PolicyViolation[];
  /** Why it failed, in words; absent when it passed. */
  reason?: string;
}

/** Runs every case against the compiled policies. */
export function runPolicyTests(policies: readonly CompiledPolicy[], cases: readonly PolicyTestCase[]): PolicyTestResult[] {
  const known = new Set(policies.map((p) => p.name));
  return cases.map((tc) => {
    const verdict = evaluatePolicies(policies, contextFor(tc.context as Record<string, unknown>));
    const names = (list: PolicyViolation[]) => list.map((v) => v.policy);
    const actual = {
      verdict: (verdict.denied.length ? 'deny' : verdict.warned.length ? 'warn' : 'allow') as Verdict,
      denied: names(verdict.denied),
      warned: names(verdict.warned),
      audited: names(verdict.audited),
    };
    const deciding = actual.verdict === 'deny' ? actual.denied : actual.verdict === 'warn' ? actual.warned : [];
    let reason: string | undefined;
    const unknown = (tc.policies ?? []).filter((n) => !known.has(n));
    if (unknown.length) reason = `no policy named ${unknown.map((n) => `"${n}"`).join(', ')} in slipway.yaml`;
    else if (actual.verdict !== tc.expect)
      reason = `expected ${tc.expect}, got ${actual.verdict}${deciding.length ? ` (${deciding.join(', ')})` : ''}`;
    else if (tc.policies && !sameSet(tc.policies, deciding))
      reason = `expected ${tc.expect} by ${list(tc.policies)}, got ${tc.expect} by ${list(deciding)}`;
    const errors = [...verdict.denied, ...verdict.warned, ...verdict.audited].filter((v) => v.error);
    return {
      name: tc.name,
      passed: reason === undefined,
      expected: { verdict: tc.expect, ...(tc.policies ? { policies: tc.policies } : {}) },
      actual,
      errors,
      ...(reason ? { reason } : {}),
    };
  });
}

/** The default context with `input` merged over it (objects field by field, lists replaced); keeps service.strategy in step. */
export function contextFor(input: Record<string, unknown>): PolicyContext {
  const merged = merge(DEFAULT_TEST_CONTEXT, input) as PolicyContext;
  const givenStrategy = (input.strategy as { type?: string } | undefined)?.type;
  const givenService = (input.service as { strategy?: string } | undefined)?.strategy;
  if (givenStrategy !== undefined && givenService === undefined) merged.service.strategy = givenStrategy;
  if (givenService !== undefined && givenStrategy === undefined) merged.strategy.type = givenService;
  // An approval written as { by: alice } is complete: at the context's time, with no comment.
  merged.approvals = merged.approvals.map((a) => ({ by: 'someone', at: merged.now, comment: '', ...(a as Partial<PolicyApproval>) }));
  return merged;
}

function merge(base: unknown, over: unknown): unknown {
  if (over === undefined) return structuredClone(base);
  if (isPlainObject(base) && isPlainObject(over)) {
    const out: Record<string, unknown> = { ...(structuredClone(base) as Record<string, unknown>) };
    for (const [k, v] of Object.entries(over)) out[k] = merge(base[k], v);
    return out;
  }
  return over;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

function list(names: readonly string[]): string {
  return names.length ? names.join(', ') : 'no policy';
}

/** A zod schema accepting any part of a field tree: every field optional, unknown fields refused. */
function inputSchema(spec: FieldSpec): z.ZodType {
  const nullable = (t: z.ZodType) => ('nullable' in spec && spec.nullable ? t.nullable() : t);
  switch (spec.type) {
    case 'string':
      return nullable(z.string());
    case 'int':
      return nullable(z.number().int());
    case 'bool':
      return z.boolean();
    case 'timestamp':
      return z
        .string()
        .refine((s) => !Number.isNaN(Date.parse(s)), { message: 'expected a time in ISO 8601, e.g. "2026-01-09T15:00:00Z"' })
        .transform((s) => Date.parse(s));
    case 'list':
      return z.array(inputSchema(spec.of));
    case 'object':
      return z.strictObject(Object.fromEntries(Object.entries(spec.fields).map(([k, f]) => [k, inputSchema(f).optional()])));
  }
}
