/**
 * Canary rollouts end to end (real CLI, controller, router, instances, traffic): promoted through
 * its steps, rolled back automatically on errors and on latency, paused when analysis has no data,
 * sticky users and header-matched requests.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestProject } from '../support/project.js';
import { startLoad } from '../support/load.js';
import { waitFor } from '../../src/core/wait-for.js';
import { ControllerClient } from '../../src/client/client.js';
import type { ServiceStatus } from '../../src/api/types.js';

const STRATEGY = `    strategy:
      canary:
        steps:
          - weight: 30
          - analysis: [errors, latency]
          - weight: 50
          - pause: {}
        analysis: [guard]
        stickiness: cookie
        match: { header: { x-canary: always } }`;

const ANALYSIS = `analysis:
  guard: { metric: error_rate, max: 0.05, interval: 1s, minRequests: 20 }
  errors: { metric: error_rate, max: 0.01, interval: 1s, minRequests: 20, count: 2, inconclusiveLimit: 2 }
  latency: { metric: latency_p99, compare: baseline, tolerance: 20%, interval: 2s, minRequests: 30, count: 1, inconclusiveLimit: 3 }`;

describe('canary rollouts (real processes and traffic)', () => {
  const p = new TestProject();
  let client: ControllerClient;
  const web = async (): Promise<ServiceStatus> => (await client.status()).services[0]!;
  const deploy = async (env: Record<string, string>) => {
    await p.writeConfig({ env, extra: STRATEGY, tail: ANALYSIS });
    return p.cli(['deploy', 'web', '--wait'], { timeoutMs: 120_000 });
  };

  before(async () => {
    await p.writeConfig({ env: { VERSION: 'v1' }, extra: STRATEGY, tail: ANALYSIS });
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr);
    client = ControllerClient.connect(p.dir);
  });
  after(() => p.cleanup());

  it('promotes a healthy canary through weights and analysis, holds at a manual pause, honours stickiness and header rules, with zero failed requests', async () => {
    const load = startLoad(p.url);
    const deploying = deploy({ VERSION: 'v2' });
    let last: ServiceStatus | undefined;
    const paused = await waitFor(
      'the canary to wait for promotion at 50%',
      async () => {
        const s = (last = await web());
        if (s.rollout?.toRelease === 2 && s.rollout.finishedAt !== null) throw new Error(`rollout ended: ${JSON.stringify(s.rollout)}`);
        return s.rollout?.toRelease === 2 && s.rollout.phase === 'Paused' && s.rollout.weight === 50 ? s : undefined;
      },
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last status: ${JSON.stringify(last?.rollout)}`);
    });
    assert.equal(paused.rollout!.step, 3);
    assert.deepEqual(
      paused.traffic.filter((t) => t.share > 0).map((t) => [t.release, t.share]),
      [
        [1, 0.5],
        [2, 0.5],
      ],
    );
    assert.deepEqual(
      paused
        .rollout!.analysis.filter((a) => a.key.startsWith('step1'))
        .map((a) => [a.check, a.phase])
        .sort(),
      [
        ['errors', 'Successful'],
        ['latency', 'Successful'],
      ],
    );

    // Header rule: these requests always reach the canary.
    for (let i = 0; i < 20; i++) {
      const body = await (await fetch(p.url, { headers: { 'x-canary': 'always' } })).text();
      assert.match(body, /^v2 release=2 /);
    }
    // Stickiness: a client keeps the release that first served it.
    const seen = new Set<string>();
    for (let user = 0; user < 12 && seen.size < 2; user++) {
      const first = await fetch(p.url);
      const cookie = first.headers.get('set-cookie')!.split(';')[0]!;
      const version = (await first.text()).split(' ')[0]!;
      seen.add(version);
      for (let i = 0; i < 10; i++) {
        assert.equal((await (await fetch(p.url, { headers: { cookie } })).text()).split(' ')[0], version, `user ${user} switched release`);
      }
    }
    assert.deepEqual([...seen].sort(), ['v1', 'v2'], 'with 50% weight both releases should have served someone');

    const promote = await p.cli(['promote', 'web']);
    assert.equal(promote.code, 0, promote.stderr);
    const result = await deploying;
    const totals = await load.stop();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /release 2 is live/);
    assert.deepEqual(totals.failures, []);
    assert.ok((totals.bodies.get('v2 release=2') ?? 0) > 20, 'the canary served users during the rollout');
    const s = await web();
    assert.equal(s.currentRelease, 2);
    assert.deepEqual(
      s.instances.map((i) => i.release),
      [2, 2],
    );
  });

  it('rolls a canary that answers 500 back automatically, naming the check and its numbers', async () => {
    const load = startLoad(p.url);
    const result = await deploy({ VERSION: 'v3', FAIL_RATE: '1' });
    const totals = await load.stop();
    assert.equal(result.code, 1);
    assert.match(result.stderr, /rolled back \(AnalysisFailed\)/);
    assert.match(result.stderr, /analysis "guard" failed: hard failure: \d+ errors in \d+ requests/);
    assert.ok(
      totals.failures.every((f) => f.startsWith('HTTP 500: v3 failed')),
      `failures not from the canary: ${totals.failures.join('; ')}`,
    );
    assert.ok(totals.failed < 200, `blast radius ${totals.failed} requests`);
    const s = await web();
    assert.equal(s.currentRelease, 2);
    assert.equal(s.rollout!.phase, 'RolledBack');
    assert.deepEqual(
      s.instances.map((i) => i.release),
      [2, 2],
    );
    assert.deepEqual(
      s.traffic.filter((t) => t.share > 0).map((t) => t.release),
      [2],
    );

    // The rolled-back release is not tried again on its own, even though slipway.yaml still names it.
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr);
    assert.match(
      up.stdout,
      /web: release 3 was rolled back; slipway.yaml still describes it → not redeploying; `slipway deploy web` to force/,
    );
    assert.equal((await web()).rollout!.toRelease, 3, 'no new rollout');
  });

  it('catches a slow canary by comparing its latency with the stable release, while the error check passes', async () => {
    const load = startLoad(p.url);
    const result = await deploy({ VERSION: 'v4', SLOW_MS: '40' });
    const totals = await load.stop();
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stderr, /analysis "latency" failed: .*/);
    assert.deepEqual(totals.failures, []);
    const history = await client.history('web');
    const rollout = history.rollouts[0]!;
    const byCheck = Object.fromEntries(rollout.analysis.map((a) => [a.key, a.phase]));
    assert.equal(byCheck['step1:latency'], 'Failed');
    assert.notEqual(byCheck['step1:errors'], 'Failed');
    const latency = rollout.analysis.find((a) => a.key === 'step1:latency')!;
    assert.ok(latency.last && 'pValue' in latency.last.numbers, `numbers behind the verdict: ${JSON.stringify(latency.last)}`);
  });

  it('judges an idle canary inconclusive rather than failed and waits for a person; abort and retry work', async () => {
    await p.writeConfig({ env: { VERSION: 'v5' }, extra: STRATEGY, tail: ANALYSIS });
    const deploying = p.cli(['deploy', 'web', '--wait'], { timeoutMs: 120_000 });
    const held = await waitFor(
      'the rollout to pause as inconclusive',
      async () => {
        const s = await web();
        return s.rollout?.toRelease === 5 && s.rollout.reason === 'AnalysisInconclusive' ? s : undefined;
      },
      60_000,
    );
    assert.equal(held.rollout!.phase, 'Paused');
    assert.match(held.rollout!.message, /inconclusive/);
    const abort = await p.cli(['abort', 'web', '--reason', 'no traffic to judge']);
    assert.equal(abort.code, 0, abort.stderr);
    const result = await deploying;
    assert.equal(result.code, 1);
    assert.match(result.stderr, /rolled back \(Aborted\)/);
    assert.match(result.stderr, /aborted by \S+: no traffic to judge/);

    const retry = await p.cli(['retry', 'web']);
    assert.equal(retry.code, 0, retry.stderr);
    const again = await waitFor('the retried rollout to run', async () => {
      const s = await web();
      return s.rollout && s.rollout.toRelease === 5 && s.rollout.finishedAt === null ? s : undefined;
    });
    assert.notEqual(again.rollout!.id, held.rollout!.id);
    assert.equal((await p.cli(['abort', 'web'])).code, 0);
    await waitFor('the retry to be aborted', async () => (await web()).rollout?.phase === 'RolledBack');
  });

  it('a canary survives a SIGKILL of the controller: traffic keeps its split, the rollout resumes where it was, promote finishes it', async () => {
    await p.writeConfig({ env: { VERSION: 'v6' }, extra: STRATEGY, tail: ANALYSIS });
    const load = startLoad(p.url);
    const deploying = p.cli(['deploy', 'web', '--wait'], { timeoutMs: 120_000 });
    const held = await waitFor(
      'the canary to wait for promotion at 50%',
      async () => {
        const s = await web();
        return s.rollout?.toRelease === 6 && s.rollout.reason === 'WaitingForPromotion' ? s : undefined;
      },
      60_000,
    );
    process.kill(client.info.pid, 'SIGKILL');
    const before = load.snapshot();
    await waitFor('traffic while no controller runs', () => load.snapshot().ok > before.ok + 200);
    const during = load.snapshot();
    const canaryShare = ((during.bodies.get('v6 release=6') ?? 0) - (before.bodies.get('v6 release=6') ?? 0)) / (during.ok - before.ok);
    assert.ok(canaryShare > 0.3 && canaryShare < 0.7, `the 50% split held without a controller (canary share ${canaryShare.toFixed(2)})`);
    assert.equal((await deploying).code, 6, 'deploy --wait loses its controller: unavailable');

    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr);
    client = ControllerClient.connect(p.dir);
    const resumed = await web();
    assert.equal(resumed.rollout!.id, held.rollout!.id);
    assert.equal(resumed.rollout!.reason, 'WaitingForPromotion');
    assert.equal(resumed.rollout!.weight, 50);
    const promote = await p.cli(['promote', 'web', '--wait']);
    assert.equal(promote.code, 0, promote.stderr);
    assert.match(promote.stdout, /release 6 is live/);
    const totals = await load.stop();
    assert.deepEqual(totals.failures, []);
  });

  it('an analysis step whose check has no count ends on its own once a measurement passes', async () => {
    const steps = `    strategy:
      canary:
        steps:
          - weight: 50
          - analysis: [plain]`;
    await p.writeConfig({
      env: { VERSION: 'v7' },
      extra: steps,
      tail: 'analysis:\n  plain: { metric: error_rate, interval: 1s, minRequests: 20 }',
    });
    const load = startLoad(p.url);
    const result = await p.cli(['deploy', 'web', '--wait'], { timeoutMs: 60_000 });
    const totals = await load.stop();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /release 7 is live/);
    assert.deepEqual(totals.failures, []);
    const run = (await client.history('web')).rollouts[0]!.analysis.find((a) => a.key === 'step1:plain')!;
    assert.equal(run.phase, 'Successful');
    assert.match(run.reason, /^passed: /, 'ended by its own passing measurement, not stopped by anyone');
  });
});
