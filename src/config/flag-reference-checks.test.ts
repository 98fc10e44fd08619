import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfigText } from './load.js';
import { problemsOf } from './config-testing.js';

const CONFIG = (steps: string, onFailure = '[new-checkout]') => `app: hello
services:
  web:
    source: ./web
    start: node server.js
    port: 8080
    strategy:
      canary:
        steps:
${steps}
analysis:
  errors: { metric: error_rate, max: 0.01, onFailure: { flagOff: ${onFailure} } }
flags:
  new-checkout: { type: boolean, default: false }
  theme: { type: string, default: a }
  split: { type: string, default: a, variants: { a: 50, b: 50 } }
`;

describe('flags named by rollouts', () => {
  test('a flag step and onFailure.flagOff parse, and reach the strategy and the check', () => {
    const { config } = parseConfigText(
      CONFIG('          - flag: { new-checkout: 25, split: 12.5 }\n          - analysis: [errors]'),
      'slipway.yaml',
      { dir: '/app' },
    );
    const strategy = config.services.web!.strategy;
    assert.equal(strategy.type, 'canary');
    assert.deepEqual(strategy.type === 'canary' && strategy.steps[0], { flag: { 'new-checkout': 25, split: 12.5 } });
    assert.deepEqual(config.analysis.errors!.onFailure, { flagOff: ['new-checkout'] });
  });

  test('an unknown flag, a bad percentage and a flag with nothing to roll out, each at its line and column', () => {
    const problems = problemsOf(
      CONFIG(
        '          - flag: { new-chekout: 25 }\n          - flag: { new-checkout: 101, split: 0.001 }\n          - flag: { theme: 10 }\n          - flag: {}',
        '[nope]',
      ),
    ).map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}${p.suggestion ? ` (${p.suggestion})` : ''}`);
    assert.deepEqual(problems, [
      '10:34 services.web.strategy.canary.steps[0].flag.new-chekout: no flag named "new-chekout" (did you mean "new-checkout"?) (declare it under flags:, or use one of: new-checkout, theme, split)',
      '11:35 services.web.strategy.canary.steps[1].flag.new-checkout: expected at most 100 (got 101)',
      '11:47 services.web.strategy.canary.steps[1].flag.split: a flag step sets a percentage in steps of 0.01 (got 0.001)',
      '12:28 services.web.strategy.canary.steps[2].flag.theme: a canary step sets a rollout percentage, and the string flag "theme" has no variants to roll out (add variants to the flag, or set it with slipway flags set)',
      '13:19 services.web.strategy.canary.steps[3].flag: name at least one flag, e.g. flag: { new-checkout: 25 }',
      '15:67 analysis.errors.onFailure.flagOff[0]: no flag named "nope" (declare it under flags:, or use one of: new-checkout, theme, split)',
    ]);
  });
});
