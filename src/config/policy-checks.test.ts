import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfigText } from './load.js';
import { problemsOf } from './config-testing.js';

const HEAD = `app: hello
services:
  web: { source: ./web, start: node server.js, port: 8080 }
`;

describe('policies in slipway.yaml', () => {
  test('a valid list parses, mode defaulting to enforce', () => {
    const { config } = parseConfigText(
      `${HEAD}policies:
  - name: no-friday-prod
    when: environment.name == "production"
    deny: now.getDayOfWeek("Europe/Berlin") == 5
    message: No production deploys on Fridays
  - { name: canary-required, deny: 'strategy.type != "canary"', message: Production needs a canary, mode: warn }
`,
      'slipway.yaml',
      { dir: '/app' },
    );
    assert.deepEqual(
      config.policies.map((p) => [p.name, p.mode]),
      [
        ['no-friday-prod', 'enforce'],
        ['canary-required', 'warn'],
      ],
    );
  });

  test('no policies: an empty list', () => {
    assert.deepEqual(parseConfigText(HEAD, 'slipway.yaml', { dir: '/app' }).config.policies, []);
  });

  test('every expression problem at once, each at its line and column inside the expression', () => {
    const problems = problemsOf(`${HEAD}policies:
  - name: a
    when: enviroment.name == "production"
    deny: "now.getDayOfWeek() == 5 &&"
    message: m
  - name: b
    deny: |
      strategy.type != "canary" &&
        release.digestChangd
    message: m
    mode: block
  - name: a
    deny: 'service.name.x == 1'
    message: m
`);
    assert.deepEqual(
      problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message.split(';')[0]}`),
      [
        '6:11 policies[0].when: unknown variable "enviroment" (did you mean "environment"?)',
        '7:36 policies[0].deny: CEL syntax error: found & but expecting end of input',
        '12:17 policies[1].deny: no field "digestChangd" in release (did you mean "digestChanged"?)',
        '14:11 policies[1].mode: expected "enforce", "warn" or "audit" (got "block")',
        '15:11 policies[2].name: another policy is named "a" (policies[0])',
        '16:25 policies[2].deny: service.name is a string, it has no field "x"',
      ],
    );
  });

  test('a policy without deny or message is refused by the schema', () => {
    const problems = problemsOf(`${HEAD}policies:
  - name: a
    when: "true"
`);
    assert.deepEqual(
      problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`),
      ['5:5 policies[0].deny: missing required key "deny"', '5:5 policies[0].message: missing required key "message"'],
    );
  });
});
