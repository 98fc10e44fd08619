import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfigText } from './load.js';
import { problemsOf } from './config-testing.js';

const HEAD = `app: hello
services:
  web: { source: ./web, start: node server.js, port: 8080 }
environments:
  staging: {}
  production: { services: { web: { port: 9080 } } }
`;

describe('flags in slipway.yaml', () => {
  test('the example from the guide parses', () => {
    const { config } = parseConfigText(
      `${HEAD}flags:
  new-checkout:
    type: boolean
    default: false
    environments:
      staging: { enabled: true, rollout: 100 }
      production:
        rules:
          - if: 'user.country in ["DE", "AT"] && semver(app.version) >= semver("2.3.0")'
            serve: true
        rollout: { percent: 10, by: user.id }
  checkout-theme:
    type: string
    variants: { classic: 50, bold: 50 }
    default: classic
`,
      'slipway.yaml',
      { dir: '/app' },
    );
    assert.deepEqual(config.flags['new-checkout']!.environments!.staging!.rollout, { percent: 100, by: 'user.id' });
    assert.deepEqual(config.flags['checkout-theme']!.variants, { classic: 50, bold: 50 });
  });

  test('no flags: an empty section', () => {
    assert.deepEqual(parseConfigText(HEAD, 'slipway.yaml', { dir: '/app' }).config.flags, {});
  });

  test('every problem at once, at its line and column (inside a rule condition too)', () => {
    const problems = problemsOf(`${HEAD}flags:
  a:
    type: boolean
    default: "no"
    rules:
      - if: user.country == 
        serve: true
      - { if: 'user.plan == "pro"', serve: 3 }
    environments:
      producton: { rollout: 10 }
  b:
    type: number
    default: 1
    rollout: 50
  c:
    type: string
    default: x
    rollout: { percent: 10, by: "not an attribute" }
`).map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`);
    assert.deepEqual(problems, [
      '10:14 flags.a.default: expected a boolean default, got "no" (a string)',
      '12:26 flags.a.rules[0].if: CEL syntax error: found = but expecting end of input',
      '14:44 flags.a.rules[1].serve: expected a boolean value, got 3 (a number)',
      '16:18 flags.a.environments.producton: no environment named "producton" (did you mean "production"?)',
      '20:14 flags.b.rollout: a number flag without variants has nothing to roll out',
      '24:14 flags.c.rollout: a string flag without variants has nothing to roll out',
      '24:33 flags.c.rollout.by: expected an attribute path such as "user.id" or "org.id" (got "not an attribute")',
    ]);
  });
});
