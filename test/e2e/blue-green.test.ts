/**
 * Blue-green end to end: the new release at full size on the preview port, an atomic switch under
 * load with zero failed requests, an instant switch back within the scale-down delay, and an
 * automatic switch back when post-promotion analysis fails.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestProject, freePort, get } from '../support/project.js';
import { startLoad } from '../support/load.js';
import { waitFor } from '../../src/core/wait-for.js';
import { ControllerClient } from '../../src/client/client.js';
import type { ServiceStatus } from '../../src/api/types.js';

describe('blue-green rollouts (real processes and traffic)', () => {
  const p = new TestProject();
  let client: ControllerClient;
  let previewPort = 0;
  const web = async (): Promise<ServiceStatus> => (await client.status()).services[0]!;
  const strategy = (autoPromote: string) => `    strategy:
      blueGreen:
        previewPort: ${previewPort}
        prePromotionAnalysis: [smoke]
        autoPromote: ${autoPromote}
        scaleDownDelay: 60s
        postPromotionAnalysis: [errors]`;
  const ANALYSIS = `analysis:
  smoke: { http: { path: /healthz, expect: 200 }, count: 3, interval: 200ms }
  errors: { metric: error_rate, max: 0.01, interval: 1s, minRequests: 20, count: 3 }`;
  const write = (env: Record<string, string>, autoPromote = 'false') =>
    p.writeConfig({ env, extra: strategy(autoPromote), tail: ANALYSIS });

  before(async () => {
    previewPort = await freePort();
    await write({ VERSION: 'v1' });
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr);
    client = ControllerClient.connect(p.dir);
  });
  after(() => p.cleanup());

  it('previews the new release, switches all traffic at once on promote with zero failed requests, and switches back instantly on rollback', async () => {
    await write({ VERSION: 'v2' });
    const load = startLoad(p.url);
    const deploying = p.cli(['deploy', 'web', '--wait'], { timeoutMs: 120_000 });
    const waiting = await waitFor(
      'the new release to wait for promotion',
      async () => {
        const s = await web();
        return s.rollout?.toRelease === 2 && s.rollout.reason === 'WaitingForPromotion' ? s : undefined;
      },
      60_000,
    );
    assert.equal(waiting.rollout!.stage, 'AwaitingPromotion');
    assert.equal(waiting.rollout!.previewUrl, `http://127.0.0.1:${previewPort}/`, 'status names the preview URL');
    assert.match((await p.cli(['status'])).stdout, new RegExp(`preview: http://127\\.0\\.0\\.1:${previewPort}/`));
    assert.deepEqual(
      waiting.instances.map((i) => i.release),
      [1, 1, 2, 2],
      'full size beside the old',
    );
    assert.equal(waiting.rollout!.analysis.find((a) => a.key === 'pre:smoke')?.phase, 'Successful');
    assert.match((await get(`http://127.0.0.1:${previewPort}/`)).body, /^v2 release=2 /, 'the preview port serves the new release');
    assert.match((await get(p.url)).body, /^v1 release=1 /, 'users still get the old release');

    const oldPids = waiting.instances
      .filter((i) => i.release === 1)
      .map((i) => i.pid)
      .sort();
    assert.equal((await p.cli(['promote', 'web'])).code, 0);
    await waitFor(
      'all traffic on release 2',
      async () =>
        (await web()).traffic
          .filter((t) => t.share > 0)
          .map((t) => t.release)
          .join() === '2',
    );
    const before = load.snapshot();
    await waitFor('some traffic after the switch', () => load.snapshot().ok > before.ok + 100);
    const afterSwitch = load.snapshot();
    assert.equal(
      (afterSwitch.bodies.get('v1 release=1') ?? 0) - (before.bodies.get('v1 release=1') ?? 0),
      0,
      'no request reached the old release after the switch',
    );

    // Within the scale-down delay: rollback switches back to the warm instances, none started.
    const rollback = await p.cli(['rollback', 'web']);
    assert.equal(rollback.code, 0, rollback.stderr);
    const result = await deploying;
    assert.equal(result.code, 1);
    assert.match(result.stderr, /rolled back \(SwitchedBack\)/);
    const s = await web();
    assert.deepEqual(s.instances.map((i) => i.pid).sort(), oldPids, 'the warm instances of release 1 serve again');
    assert.match((await get(p.url)).body, /^v1 release=1 /);
    const totals = await load.stop();
    assert.deepEqual(totals.failures, []);
  });

  it('switches back by itself when post-promotion analysis fails', async () => {
    await write({ VERSION: 'v3', FAIL_RATE: '0.5' }, 'true');
    const load = startLoad(p.url);
    const result = await p.cli(['deploy', 'web', '--wait'], { timeoutMs: 120_000 });
    const totals = await load.stop();
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stderr, /analysis "errors" failed/);
    assert.ok(
      totals.failures.every((f) => f.startsWith('HTTP 500: v3 failed')),
      totals.failures.join('; '),
    );
    const s = await web();
    assert.equal(s.currentRelease, 1);
    assert.deepEqual(
      s.instances.map((i) => i.release),
      [1, 1],
    );
    assert.match((await get(p.url)).body, /^v1 release=1 /);
  });

  it('a controller restarted before the switch promotes only once it has probed the new instances: no request fails', async () => {
    // No preview port: the new instances are in no route, so a restarted controller knows nothing
    // of their health until its own probes pass (three, a second apart).
    await p.writeConfig({
      env: { VERSION: 'v4' },
      extra: '    strategy:\n      blueGreen: { autoPromote: false, scaleDownDelay: 1s }',
      health: '{ path: /healthz, interval: 1s, timeout: 1s, healthyAfter: 3, unhealthyAfter: 2 }',
    });
    const deploy = await p.cli(['deploy', 'web', '--no-wait']);
    assert.equal(deploy.code, 0, deploy.stderr);
    await waitFor('release 4 to wait for promotion', async () => (await web()).rollout?.reason === 'WaitingForPromotion', 60_000);
    const load = startLoad(p.url);
    process.kill(p.controllerPid(), 'SIGKILL');
    const up = await p.cli(['up', '--no-wait']);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    client = ControllerClient.connect(p.dir);
    await client.promote('web', false);
    const done = await waitFor(
      'release 4 to serve every user',
      async () => {
        const s = await web();
        return s.rollout?.finishedAt != null && s.currentRelease === 4 ? s : undefined;
      },
      60_000,
    );
    const totals = await load.stop();
    assert.equal(done.rollout!.phase, 'Healthy');
    assert.deepEqual(totals.failures, [], 'no request failed across the restart and the switch');
    assert.match((await get(p.url)).body, /^v4 release=4 /);
  });
});
