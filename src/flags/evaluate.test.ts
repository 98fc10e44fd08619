import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bucketOf, murmur3 } from './bucket.js';
import { compileFlag, compileFlagSet, type CompiledFlag } from './compile.js';
import { definitionOf, definitionsOf } from './definitions.js';
import { evaluateFlag } from './evaluate.js';
import { semverKey } from './semver.js';
import type { FlagDefinition, FlagValue } from './types.js';
import { loadFlagVectors } from './vectors.js';

function flag(over: Partial<FlagDefinition> = {}): Map<string, CompiledFlag> {
  const def: FlagDefinition = {
    key: 'f',
    type: 'boolean',
    default: false,
    variants: {},
    enabled: true,
    rules: [],
    rollout: { percent: 0, by: 'user.id' },
    version: '1',
    ...over,
  };
  return compileFlagSet([def]);
}

const rule = (cond: string, ctx: Record<string, unknown>): FlagValue =>
  evaluateFlag(flag({ rules: [{ if: cond, serve: true }] }), 'f', ctx, 'boolean', false).value;

describe('flag evaluation', () => {
  test('the shared vectors', () => {
    const v = loadFlagVectors();
    const set = compileFlagSet(definitionsOf(v.flags, v.environment, new Map()));
    for (const c of v.cases) {
      const r = evaluateFlag(set, c.flag, c.context, c.type, c.default);
      const { errorMessage, ...got } = r;
      if (c.result.errorCode) assert.ok(errorMessage, c.name);
      assert.deepEqual(got, c.result, c.name);
    }
    for (const b of v.bucketVectors) assert.equal(bucketOf(b.key, b.value, b.seed), b.bucket, `${b.key}:${b.value}`);
  });

  test('murmur3 matches the published x86_32 values', () => {
    assert.equal(murmur3('', 0), 0);
    assert.equal(murmur3('', 1), 0x514e28b7);
    assert.equal(murmur3('hello', 0), 0x248bfa47);
    assert.equal(murmur3('The quick brown fox jumps over the lazy dog', 0), 0x2e4ff723);
    assert.equal(murmur3('aaaa', 0x9747b28c), 0x5a97808a);
  });

  test('each rule operator', () => {
    const u = { user: { id: 'a', country: 'DE', age: 30, score: 2.5, plan: 'pro', tags: ['beta', 'staff'], email: 'ann@example.com' } };
    const cases: [string, boolean][] = [
      ['user.country == "DE"', true],
      ['user.country != "DE"', false],
      ['user.age > 29', true],
      ['user.age >= 31', false],
      ['user.age < 31', true],
      ['user.age <= 29', false],
      ['user.score > 2.0', true],
      ['user.country in ["DE", "AT"]', true],
      ['!(user.country in ["DE", "AT"])', false],
      ['"beta" in user.tags', true],
      ['user.plan == "pro" && user.age > 40', false],
      ['user.plan == "free" || user.age > 20', true],
      ['user.email.endsWith("@example.com")', true],
      ['user.email.startsWith("bob")', false],
      ['user.email.contains("@")', true],
      ['user.email.matches("^[a-z]+@")', true],
      ['has(user.plan)', true],
      ['has(user.nothing)', false],
      ['user.tags.exists(t, t == "staff")', true],
      ['size(user.tags) == 2', true],
      ['semver("2.3.0") > semver("2.2.10")', true],
      ['semver("2.10.0") > semver("2.9.0")', true],
      ['semver("2.3.0-rc.1") < semver("2.3.0")', true],
      ['semver("1.0.0-alpha") < semver("1.0.0-alpha.1")', true],
      ['semver("1.0.0-alpha.1") < semver("1.0.0-alpha.beta")', true],
      ['semver("1.0.0-alpha.beta") < semver("1.0.0-beta.2")', true],
      ['semver("1.0.0-beta.2") < semver("1.0.0-beta.11")', true],
      ['semver("1.0.0+build.5") == semver("1.0.0")', true],
      ['user.nothing == "x"', false],
      ['semver("not a version") > semver("1.0.0")', false],
    ];
    for (const [cond, want] of cases) assert.equal(rule(cond, u), want, cond);
  });

  test('semver keys order as Semantic Versioning 2.0.0 precedence', () => {
    const ordered = [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
      '1.0.1',
      '1.10.0',
      '10.0.0',
    ];
    const keys = ordered.map(semverKey);
    assert.deepEqual([...keys].sort(), keys);
    assert.throws(() => semverKey('1.2'), /not a semantic version/);
  });

  test('a rule that does not compile is reported with its position', () => {
    const { problems } = compileFlag({
      ...definitionOf('f', { type: 'boolean', default: false }, 'x'),
      rules: [{ if: 'user.country ==', serve: true }],
    });
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.rule, 0);
    assert.match(problems[0]!.message, /CEL syntax error/);
  });

  test('sticky buckets: users in at a lower percentage stay in as it grows', () => {
    const users = Array.from({ length: 20_000 }, (_, i) => ({ targetingKey: `user-${i}` }));
    let previous = new Set<string>();
    for (const percent of [1, 5, 10, 25, 50, 75, 99.99, 100]) {
      const set = flag({ key: 'ramp', rollout: { percent, by: 'user.id' } });
      const inside = new Set(users.filter((u) => evaluateFlag(set, 'ramp', u).value === true).map((u) => u.targetingKey));
      for (const u of previous) assert.ok(inside.has(u), `${u} left the rollout at ${percent}%`);
      // Within 1.5 percentage points of the target share of 20 000 users.
      assert.ok(Math.abs(inside.size / users.length - percent / 100) < 0.015, `${inside.size} users in at ${percent}%`);
      previous = inside;
    }
    assert.equal(previous.size, users.length);
  });

  test('rollout by another attribute places every member of an org together', () => {
    const set = flag({ key: 'org-flag', rollout: { percent: 50, by: 'org.id' } });
    for (let org = 0; org < 50; org++) {
      const values = new Set(
        Array.from({ length: 5 }, (_, i) => evaluateFlag(set, 'org-flag', { targetingKey: `u${i}`, org: { id: `org-${org}` } }).value),
      );
      assert.equal(values.size, 1);
    }
  });

  test('variants split by weight within statistical tolerance over 100 000 users', () => {
    const weights = { a: 10, b: 30, c: 60 };
    const set = flag({
      key: 'theme',
      type: 'string',
      default: 'a',
      variants: Object.fromEntries(Object.entries(weights).map(([k, w]) => [k, { value: k, weight: w }])),
      rollout: { percent: 100, by: 'user.id' },
    });
    const n = 100_000;
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < n; i++) counts[evaluateFlag(set, 'theme', { targetingKey: `synthetic-${i}` }, 'string').variant!]!++;
    for (const [k, w] of Object.entries(weights)) {
      const p = w / 100;
      // 4 standard deviations of a binomial count: fails by chance about once in 16 000 runs of a random hash.
      const sd = Math.sqrt(n * p * (1 - p));
      assert.ok(Math.abs(counts[k]! - n * p) < 4 * sd, `${k}: ${counts[k]} of ${n}, expected ${n * p} ± ${Math.round(4 * sd)}`);
    }
  });

  test('the variant split is independent of the rollout bucket', () => {
    const set = flag({
      key: 'split',
      type: 'string',
      default: 'off',
      variants: { x: { value: 'x', weight: 1 }, y: { value: 'y', weight: 1 } },
      rollout: { percent: 10, by: 'user.id' },
    });
    const served = Array.from({ length: 20_000 }, (_, i) => evaluateFlag(set, 'split', { targetingKey: `u-${i}` }).value).filter(
      (v) => v !== 'off',
    );
    const x = served.filter((v) => v === 'x').length;
    assert.ok(Math.abs(x / served.length - 0.5) < 0.06, `${x} of ${served.length} in variant x`);
  });

  test('errors are results, never exceptions', () => {
    const set = flag({ rules: [{ if: 'semver(app.version) > semver("1.0.0")', serve: true }], rollout: { percent: 50, by: 'user.id' } });
    assert.deepEqual(evaluateFlag(set, 'missing', {}, 'boolean', true).errorCode, 'FLAG_NOT_FOUND');
    assert.equal(evaluateFlag(set, 'f', {}, 'string', 'x').errorCode, 'TYPE_MISMATCH');
    assert.equal(evaluateFlag(set, 'f', {}, 'string', 'x').value, 'x');
    assert.equal(evaluateFlag(set, 'f', { app: { version: 'garbage' } }, 'boolean', true).errorCode, 'TARGETING_KEY_MISSING');
  });

  test('remembered rule results equal CEL evaluated every time, whatever the context looks like', () => {
    const rules = [
      { if: 'user.country in ["DE", "AT"] && semver(app.version) >= semver("2.3.0")', serve: true },
      { if: 'user.id == "u-3" || has(user.plan)', serve: true },
      { if: 'user == "bob"', serve: true },
      { if: 'targetingKey.startsWith("x")', serve: true },
      { if: 'user.tags.exists(t, t == "a")', serve: true },
    ];
    const def: FlagDefinition = {
      ...definitionOf('m', { type: 'boolean', default: false }, 'x'),
      rules: [],
      rollout: { percent: 0, by: 'user.id' },
    };
    const users: unknown[] = ['bob', null, 3, { country: 'DE' }, { country: 'AT', plan: null }, { id: 'u-3' }, { tags: ['a'] }, undefined];
    const keys = [undefined, 'u-3', 'x-1'];
    const apps = [undefined, { version: '2.3.0' }, { version: '2.2.0' }, { version: 'bad' }, 'str'];
    for (const r of rules) {
      const one = { ...def, rules: [r] };
      const fast = compileFlagSet([one]);
      const slow = compileFlagSet([one], undefined, { remember: false });
      // Twice over: the second pass answers from memory.
      for (let pass = 0; pass < 2; pass++)
        for (const user of users)
          for (const targetingKey of keys)
            for (const app of apps) {
              const ctx = { ...(user === undefined ? {} : { user }), ...(targetingKey ? { targetingKey } : {}), ...(app ? { app } : {}) };
              assert.deepEqual(evaluateFlag(fast, 'm', ctx), evaluateFlag(slow, 'm', ctx), `${r.if} with ${JSON.stringify(ctx)}`);
            }
    }
  });
});
