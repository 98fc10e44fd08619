import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PolicyConfig } from '../config/policy-schema.js';
import { compilePolicies, type CompiledPolicy } from './compile.js';
import { evaluatePolicies } from './evaluate.js';
import { contextFor, DEFAULT_TEST_CONTEXT, runPolicyTests } from './test-cases.js';

const FRIDAY = Date.parse('2026-01-09T15:00:00Z');
const WEDNESDAY = Date.parse('2026-01-07T12:00:00Z');

function compile(...policies: (Partial<PolicyConfig> & { deny: string })[]): CompiledPolicy[] {
  const { policies: compiled, problems } = compilePolicies(
    policies.map((p, i) => ({ name: `p${i}`, message: `message ${i}`, mode: 'enforce' as const, ...p })),
  );
  assert.deepEqual(problems, []);
  return compiled;
}

describe('evaluatePolicies', () => {
  test('an enforce policy whose deny is true refuses, with its name and message', () => {
    const policies = compile({
      name: 'no-friday-prod',
      when: 'environment.name == "production"',
      deny: 'now.getDayOfWeek() == 5',
      message: 'No production deploys on Fridays',
    });
    const v = evaluatePolicies(policies, contextFor({ environment: { name: 'production' }, now: FRIDAY }));
    assert.equal(v.allowed, false);
    assert.deepEqual(v.denied, [{ policy: 'no-friday-prod', mode: 'enforce', message: 'No production deploys on Fridays' }]);
    assert.equal(evaluatePolicies(policies, contextFor({ environment: { name: 'production' }, now: WEDNESDAY })).allowed, true);
  });

  test('a policy whose when is false does not apply, whatever deny says', () => {
    const policies = compile({ when: 'environment.name == "production"', deny: 'true' });
    const v = evaluatePolicies(policies, contextFor({ environment: { name: 'staging' } }));
    assert.deepEqual(v, { allowed: true, denied: [], warned: [], audited: [] });
  });

  test('warn and audit violations let the action through and are reported apart', () => {
    const policies = compile(
      { name: 'canary-required', deny: 'strategy.type != "canary"', mode: 'warn' },
      { name: 'flaky', deny: 'recentFailures >= 3', mode: 'audit' },
    );
    const v = evaluatePolicies(policies, contextFor({ recentFailures: 3 }));
    assert.equal(v.allowed, true);
    assert.deepEqual(
      v.warned.map((x) => x.policy),
      ['canary-required'],
    );
    assert.deepEqual(
      v.audited.map((x) => x.policy),
      ['flaky'],
    );
    assert.equal(evaluatePolicies(policies, contextFor({ recentFailures: 2, strategy: { type: 'canary' } })).warned.length, 0);
  });

  test('every violated policy is reported, not just the first', () => {
    const policies = compile({ name: 'a', deny: 'true' }, { name: 'b', deny: 'false' }, { name: 'c', deny: 'service.instances < 2' });
    assert.deepEqual(
      evaluatePolicies(policies, DEFAULT_TEST_CONTEXT).denied.map((x) => x.policy),
      ['a', 'c'],
    );
  });

  test('time zones: the day of the week is taken where the team is', () => {
    // 2026-01-08 23:30 UTC is a Thursday in UTC and already Friday in Berlin.
    const policies = compile({ deny: 'now.getDayOfWeek("Europe/Berlin") == 5 && now.getHours("Europe/Berlin") == 0' });
    const now = Date.parse('2026-01-08T23:30:00Z');
    assert.equal(evaluatePolicies(policies, contextFor({ now })).allowed, false);
    assert.equal(evaluatePolicies(compile({ deny: 'now.getDayOfWeek() == 5' }), contextFor({ now })).allowed, true);
  });

  test('the release, actor and approvals are readable, including a null previous release', () => {
    const policies = compile(
      { name: 'first', deny: 'release.previousDigest == null && !release.firstDeploy' },
      { name: 'four-eyes', deny: 'release.digestChanged && !approvals.exists(a, a.by != actor.name)' },
      { name: 'old-approval', deny: 'approvals.exists(a, now - a.at > duration("24h"))' },
    );
    const base = { release: { firstDeploy: true, previousDigest: null, previousNumber: null }, actor: { name: 'ann' } };
    assert.deepEqual(
      evaluatePolicies(policies, contextFor({ ...base, approvals: [{ by: 'ann' }] })).denied.map((x) => x.policy),
      ['four-eyes'],
    );
    assert.equal(evaluatePolicies(policies, contextFor({ ...base, approvals: [{ by: 'bob' }] })).allowed, true);
    const stale = contextFor({ ...base, approvals: [{ by: 'bob', at: WEDNESDAY - 2 * 86_400_000 }] });
    assert.deepEqual(
      evaluatePolicies(policies, stale).denied.map((x) => x.policy),
      ['old-approval'],
    );
  });

  test('a policy that fails at run time, or is not a bool, counts as violated and says why', () => {
    const policies = compile(
      { name: 'size', deny: 'release.previousDigest.startsWith("sha256:")' },
      { name: 'number', deny: 'service.instances' },
    );
    const v = evaluatePolicies(policies, contextFor({ release: { previousDigest: null } }));
    assert.equal(v.allowed, false);
    assert.deepEqual(
      v.denied.map((x) => x.policy),
      ['size', 'number'],
    );
    assert.ok(
      v.denied.every((x) => x.error),
      JSON.stringify(v.denied),
    );
    assert.match(v.denied[1]!.error!, /expected true or false, got the int 1/);
  });
});

describe('compilePolicies', () => {
  const problemsOf = (...exprs: string[]) =>
    compilePolicies(exprs.map((deny, i) => ({ name: `p${i}`, deny, message: 'm', mode: 'enforce' as const }))).problems;

  test('a syntax error names the policy, the key and the offset in the expression', () => {
    const [p, ...rest] = problemsOf('true', 'now.getDayOfWeek() == 5 &&');
    assert.equal(rest.length, 0);
    assert.equal(p!.index, 1);
    assert.equal(p!.key, 'deny');
    assert.match(p!.message, /^CEL syntax error/);
    assert.ok(p!.offset >= 24, `offset ${p!.offset}`);
  });

  test('unknown variables and fields are caught before any evaluation, with a suggestion', () => {
    const problems = problemsOf(
      'enviroment.name == "production"',
      'release.digestChangd',
      'approvals.exists(a, a.user == "x")',
      'service.name.x',
    );
    assert.deepEqual(
      problems.map((p) => [p.index, p.offset, p.message.split(';')[0]]),
      [
        [0, 0, 'unknown variable "enviroment" (did you mean "environment"?)'],
        [1, 8, 'no field "digestChangd" in release (did you mean "digestChanged"?)'],
        [2, 22, 'no field "user" in a'],
        [3, 13, 'service.name is a string, it has no field "x"'],
      ],
    );
  });

  test('macros, type names and comprehension variables are not mistaken for unknown names', () => {
    assert.deepEqual(
      problemsOf(
        'approvals.all(a, a.by != "") && [1, 2].map(x, x * 2).size() == 2',
        'type(recentFailures) == int && has(release.digest)',
        '{"a": 1}.exists(k, k == "a")',
      ),
      [],
    );
  });

  test('problems in several policies come back together, and none compiles', () => {
    const r = compilePolicies([
      { name: 'a', when: 'nope', deny: 'true', message: 'm', mode: 'enforce' },
      { name: 'b', deny: '1 +', message: 'm', mode: 'warn' },
    ]);
    assert.deepEqual(
      r.problems.map((p) => `${p.index}.${p.key}`),
      ['0.when', '1.deny'],
    );
    assert.deepEqual(r.policies, []);
  });
});

describe('runPolicyTests', () => {
  const policies = compile(
    { name: 'no-friday-prod', when: 'environment.name == "production"', deny: 'now.getDayOfWeek() == 5' },
    { name: 'canary-required', when: 'environment.name == "production"', deny: 'strategy.type != "canary"', mode: 'warn' },
  );

  test('passes when the verdict and the deciding policies match, and says why when not', () => {
    const results = runPolicyTests(policies, [
      { name: 'friday', context: { environment: { name: 'production' }, now: FRIDAY }, expect: 'deny', policies: ['no-friday-prod'] },
      { name: 'rolling', context: { environment: { name: 'production' } }, expect: 'warn' },
      { name: 'staging', context: {}, expect: 'allow' },
      { name: 'wrong', context: { environment: { name: 'production' } }, expect: 'allow' },
      { name: 'wrong names', context: { environment: { name: 'production' }, now: FRIDAY }, expect: 'deny', policies: ['canary-required'] },
      { name: 'typo', context: {}, expect: 'allow', policies: ['no-fri'] },
    ]);
    assert.deepEqual(
      results.map((r) => [r.name, r.passed, r.reason]),
      [
        ['friday', true, undefined],
        ['rolling', true, undefined],
        ['staging', true, undefined],
        ['wrong', false, 'expected allow, got warn (canary-required)'],
        ['wrong names', false, 'expected deny by canary-required, got deny by no-friday-prod'],
        ['typo', false, 'no policy named "no-fri" in slipway.yaml'],
      ],
    );
  });

  test('strategy.type given in a test keeps service.strategy in step', () => {
    assert.equal(contextFor({ strategy: { type: 'canary' } }).service.strategy, 'canary');
  });
});
