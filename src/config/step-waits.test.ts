/**
 * The `slipway validate` warning about steps that can only wait for a person: analysis of router
 * traffic at a point where the new release gets none.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfigText } from './load.js';
import type { ConfigProblem } from './problem.js';

const brief = (problems: ConfigProblem[]) => problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`);
const config = (strategy: string, checks = '  errors: { metric: error_rate, interval: 1s }\n  smoke: { http: { path: /healthz } }\n') =>
  `app: a\nservices:\n  web:\n    source: .\n    start: x\n    port: 8080\n    strategy:\n${strategy}analysis:\n${checks}`;
const warningsOf = (text: string) => parseConfigText(text, 'slipway.yaml').warnings;

describe('steps that can only wait for a person', () => {
  test('a canary analysis step before any weight gets no traffic: warned at the check, with line and column', () => {
    const warnings = warningsOf(config('      canary:\n        steps:\n          - analysis: [errors, smoke]\n          - weight: 50\n'));
    assert.deepEqual(brief(warnings), [
      '10:24 services.web.strategy.canary.steps[0].analysis[0]: check "errors" measures router traffic, but the canary gets no traffic at this step (weight 0): every measurement will be inconclusive, so the step can only wait for a person (`slipway promote` or `abort`)',
    ]);
    assert.match(warnings[0]!.suggestion!, /weight: N/);
  });

  test('a weight step before it, a header match, or an explicit pause: no warning', () => {
    assert.deepEqual(
      warningsOf(config('      canary:\n        steps:\n          - weight: 10\n          - analysis: [errors]\n          - pause: {}\n')),
      [],
    );
    assert.deepEqual(
      warningsOf(config('      canary:\n        steps:\n          - analysis: [errors]\n        match: { header: { x-canary: "1" } }\n')),
      [],
    );
    assert.deepEqual(warningsOf(config('      canary:\n        steps:\n          - pause: {}\n          - weight: 100\n')), []);
  });

  test('a weight set back to 0 starves the following analysis step again', () => {
    const warnings = warningsOf(
      config('      canary:\n        steps:\n          - weight: 20\n          - weight: 0\n          - analysis: [errors]\n'),
    );
    assert.deepEqual(
      warnings.map((w) => w.path),
      ['services.web.strategy.canary.steps[2].analysis[0]'],
    );
  });

  test("the consequence follows the check's inconclusive action", () => {
    const fail = warningsOf(
      config('      canary:\n        steps:\n          - analysis: [errors]\n', '  errors: { metric: error_rate, inconclusive: fail }\n'),
    );
    assert.match(fail[0]!.message, /always rolls back/);
    const pass = warningsOf(
      config('      canary:\n        steps:\n          - analysis: [errors]\n', '  errors: { metric: error_rate, inconclusive: pass }\n'),
    );
    assert.match(pass[0]!.message, /passes without having judged anything/);
  });

  test('blue-green pre-promotion analysis of router traffic needs a preview port; http checks do not', () => {
    const without = warningsOf(config('      blueGreen:\n        prePromotionAnalysis: [smoke, errors]\n'));
    assert.deepEqual(
      without.map((w) => w.path),
      ['services.web.strategy.blueGreen.prePromotionAnalysis[1]'],
    );
    assert.match(without[0]!.message, /no previewPort/);
    assert.deepEqual(warningsOf(config('      blueGreen:\n        previewPort: 8081\n        prePromotionAnalysis: [errors]\n')), []);
  });
});
