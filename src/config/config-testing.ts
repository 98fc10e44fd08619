/** Test helpers for config: the problems of a config that is refused, as a user would see them. */
import assert from 'node:assert/strict';
import { SlipwayError } from '../core/errors.js';
import { parseConfigText } from './load.js';
import type { ConfigProblem } from './problem.js';

/** The problems of an invalid config (position, path, message, suggestion); fails the test when the config is accepted. */
export function problemsOf(text: string, options: Parameters<typeof parseConfigText>[2] = { dir: '/app' }): ConfigProblem[] {
  try {
    parseConfigText(text, 'slipway.yaml', options);
  } catch (err) {
    assert.ok(err instanceof SlipwayError, `expected a SlipwayError, got ${String(err)}`);
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.equal(err.kind, 'invalid');
    return (err.details as { problems: ConfigProblem[] }).problems;
  }
  assert.fail('expected the config to be refused');
}
