/**
 * An analysis that measured zero requests records no rate (NaN, stored as null). `status` and
 * `history` used to crash on it (`null.toPrecision`, exit 70) and `history` stayed broken after.
 * Here a real idle canary is judged inconclusive; every human view of it renders, and the
 * progress line of `deploy --wait` off a terminal prints each state once, not every poll.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestProject } from '../support/project.js';
import { waitFor } from '../../src/core/wait-for.js';
import { ControllerClient } from '../../src/client/client.js';

const STRATEGY = `    strategy:
      canary:
        steps:
          - weight: 20
          - analysis: [errors]
          - weight: 60`;

const ANALYSIS = `analysis:
  errors: { metric: error_rate, max: 0.01, interval: 300ms, minRequests: 20, count: 1, inconclusiveLimit: 1 }`;

describe('an analysis over zero requests (real CLI)', () => {
  const p = new TestProject();
  before(async () => {
    await p.writeConfig({ instances: 1, env: { VERSION: 'v1' }, extra: STRATEGY, tail: ANALYSIS });
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr);
  });
  after(() => p.cleanup());

  it('status and history render it, and deploy --wait prints each progress state once', async () => {
    const client = ControllerClient.connect(p.dir);
    await p.writeConfig({ instances: 1, env: { VERSION: 'v2' }, extra: STRATEGY, tail: ANALYSIS });
    const deploying = p.cli(['deploy', 'web', '--wait'], { timeoutMs: 120_000 });
    const held = await waitFor(
      'the idle canary to be judged inconclusive',
      async () => {
        const s = (await client.status()).services[0]!;
        return s.rollout?.toRelease === 2 && s.rollout.reason === 'AnalysisInconclusive' ? s : undefined;
      },
      60_000,
    );
    const measured = held.rollout!.analysis.find((a) => a.key === 'step1:errors')!.last!;
    assert.equal(measured.numbers.requests, 0, JSON.stringify(measured));
    assert.equal(measured.numbers.rate, null, 'a rate over zero requests is NaN, which JSON carries as null');

    for (const args of [['status'], ['status', 'web'], ['history', 'web']]) {
      const r = await p.cli(args);
      assert.ok(r.code === 0 || r.code === 1, `${args.join(' ')} exited ${r.code}: ${r.stderr}`);
      assert.doesNotMatch(r.stdout + r.stderr, /\bNaN\b|\bnull\b|\bundefined\b|bug in Slipway/, r.stdout + r.stderr);
      assert.match(r.stdout, /step 2\/3 errors/, `analysis numbered like steps:\n${r.stdout}`);
      assert.match(r.stdout, /requests=0/);
    }

    assert.equal((await p.cli(['abort', 'web', '--reason', 'idle'])).code, 0);
    const result = await deploying;
    assert.equal(result.code, 1, result.stderr);
    // Off a terminal (a pipe here), a progress line is printed when it changes, not at every poll.
    const progress = result.stderr.split('\n').filter((l) => l.startsWith('web: deploy'));
    assert.ok(progress.length >= 2, result.stderr);
    progress.forEach((line, i) => assert.notEqual(line, progress[i - 1], `repeated progress line:\n${result.stderr}`));
    assert.ok(progress.length < 20, `${progress.length} progress lines:\n${result.stderr}`);

    const after = await p.cli(['history', 'web']);
    assert.equal(after.code, 0, after.stderr);
    assert.match(after.stdout, /#2 step 2\/3 errors: Inconclusive/);
  });
});
