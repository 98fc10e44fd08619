import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ManualClock, systemClock, type Clock } from '../../core/clock.js';
import { ProviderError } from '../provider.js';
import { resolveAnalysisSpec, type AnalysisSpecInput } from '../spec.js';
import { commandProvider, lastNumber } from './command-provider.js';

function measure(command: string, spec: Partial<AnalysisSpecInput> = {}, clock: Clock = systemClock, timeoutMs = 10_000) {
  const p = commandProvider(
    { kind: 'command', command, timeoutMs },
    { service: 'web', release: 3, baseline: 2, spec: resolveAnalysisSpec({ name: 'cmd', metric: 'value', ...spec }) },
    { stats: () => Promise.reject(new Error('unused')), endpoints: () => [], clock },
  );
  return p.measure(new AbortController().signal);
}

const isProviderError = (pattern: RegExp) => (e: unknown) => e instanceof ProviderError && pattern.test(e.message);

describe('command provider', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-command-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('exit 0 passes (value 1); the release is in the environment', async () => {
    const data = await measure('test "$SLIPWAY_SERVICE/$SLIPWAY_RELEASE/$SLIPWAY_BASELINE" = web/3/2');
    assert.deepEqual(data, {
      kind: 'value',
      value: 1,
      detail: 'command "test \\"$SLIPWAY_SERVICE/$SLIPWAY_RELEASE/$SLIPWAY_BASELINE\\" = web/3/2" exited 0',
    });
  });

  test('a non-zero exit fails (value 0) with the status and a stderr excerpt', async () => {
    const data = await measure('echo "checkout: 2 of 5 orders lost" >&2; exit 3');
    assert.deepEqual(data, {
      kind: 'value',
      value: 0,
      detail: 'command "echo \\"checkout: 2 of 5 orders lost\\" >&2; exit 3" exited 3: checkout: 2 of 5 orders lost',
    });
  });

  test('with max/min, the last number on stdout is the value', async () => {
    const data = await measure('echo "p99 over 512 requests"; printf "error ratio: 0.042\\n"', { max: 0.05 });
    assert.equal(data.kind === 'value' && data.value, 0.042);
    await assert.rejects(measure('echo none', { max: 1 }), isProviderError(/printed no number on stdout \(got: none\)$/));
    await assert.rejects(
      measure('echo 0; echo broken >&2; exit 2', { max: 1 }),
      isProviderError(/exited 2: broken$/),
      'a failed command is no measurement',
    );
  });

  test('killed with its children on timeout', async () => {
    const clock = new ManualClock();
    const pidFile = join(dir, 'sleep.pid');
    const started = Date.now();
    const pending = measure(`sleep 30 & echo $! > ${pidFile}; wait`, {}, clock, 2000);
    let pid = 0;
    for (let i = 0; i < 500 && !pid; i++) {
      await new Promise((r) => setTimeout(r, 10));
      try {
        pid = Number(readFileSync(pidFile, 'utf8'));
      } catch {
        /* not yet */
      }
    }
    assert.ok(pid > 0, 'the command started');
    clock.advance(2000);
    await assert.rejects(pending, isProviderError(/^command "sleep 30 .*" timed out after 2000 ms$/));
    let alive = true;
    for (let i = 0; i < 200 && alive; i++) {
      try {
        process.kill(pid, 0);
        await new Promise((r) => setTimeout(r, 10));
      } catch {
        alive = false;
      }
    }
    assert.equal(alive, false, 'the background sleep was killed too');
    assert.ok(Date.now() - started < 20_000);
  });

  test('lastNumber', () => {
    assert.equal(lastNumber('a 1 b -2.5e3\n'), -2500);
    assert.equal(lastNumber('rate .5'), 0.5);
    assert.equal(lastNumber('nothing'), undefined);
  });
});
