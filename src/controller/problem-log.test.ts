import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SlipwayError } from '../core/errors.js';
import { ProblemLog } from './problem-log.js';
import { memoryLogger } from '../core/logger.js';

describe('problem log', () => {
  it('logs a distinct error once, then at 10 and 100 repeats, and once when it clears', () => {
    const lines: string[] = [];
    const log = new ProblemLog(memoryLogger(lines));
    const err = new SlipwayError('unavailable', 'ROUTER_UNREACHABLE', 'router admin API on 127.0.0.1:1 did not answer');
    for (let i = 0; i < 150; i++) log.note('reconcile web', err);
    assert.deepEqual(lines, [
      'reconcile web: ROUTER_UNREACHABLE: router admin API on 127.0.0.1:1 did not answer',
      'reconcile web: still failing (10 times in a row): ROUTER_UNREACHABLE: router admin API on 127.0.0.1:1 did not answer',
      'reconcile web: still failing (100 times in a row): ROUTER_UNREACHABLE: router admin API on 127.0.0.1:1 did not answer',
    ]);
    assert.equal(log.get('reconcile web')?.count, 150);
    log.clear('reconcile web');
    log.clear('reconcile web');
    assert.equal(lines.at(-1), 'reconcile web: recovered after 150 failure(s)');
    assert.equal(lines.length, 4);
  });

  it('a different error is logged at once; a bug (not a SlipwayError) gets its stack, once', () => {
    const lines: string[] = [];
    const log = new ProblemLog(memoryLogger(lines));
    log.note('router', new SlipwayError('unavailable', 'ROUTER_START_FAILED', 'no'));
    log.note('router', new TypeError('x is undefined'));
    log.note('router', new TypeError('x is undefined'));
    assert.equal(lines.length, 2);
    assert.match(lines[1]!, /^router: x is undefined \(the previous error, seen 1 time\(s\), changed\)\nTypeError: x is undefined\n\s+at /);
  });
});
