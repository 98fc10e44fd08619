/**
 * End to end with the real CLI, controller, router and instances: deploy, roll forward and back,
 * and fail a bad release, each under steady load with zero failed requests.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestProject, get } from '../support/project.js';
import { startLoad } from '../support/load.js';
import { waitFor } from '../../src/core/wait-for.js';
import type { StatusResponse, HistoryResponse } from '../../src/api/types.js';

describe('rolling updates under load (real processes)', () => {
  const p = new TestProject();
  before(async () => {
    await p.writeConfig({ env: { VERSION: 'v1' } });
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    assert.match(up.stdout, new RegExp(`web: Healthy\\s+http://127\\.0\\.0\\.1:${p.port}/`));
  });
  after(() => p.cleanup());

  it('serves the first release on the service port', async () => {
    const r = await get(p.url);
    assert.equal(r.status, 200);
    assert.match(r.body, /^v1 release=1 /);
  });

  it('rolls a new release out with zero failed requests', async () => {
    await p.writeConfig({ env: { VERSION: 'v2' } });
    const load = startLoad(p.url);
    const deploy = await p.cli(['deploy', 'web', '--wait', '--message', 'v2 please']);
    const result = await load.stop();
    assert.equal(deploy.code, 0, deploy.stderr);
    assert.match(deploy.stdout, /release 2 is live \(2\/2 healthy\)/);
    assert.deepEqual(result.failures, []);
    assert.ok(result.ok > 50, `only ${result.ok} requests succeeded`);
    assert.match((await get(p.url)).body, /^v2 release=2 /);

    const status = JSON.parse((await p.cli(['status', '--json'])).stdout) as StatusResponse;
    const web = status.services.find((s) => s.service === 'web')!;
    assert.equal(web.health, 'Healthy');
    assert.equal(web.currentRelease, 2);
    assert.deepEqual(
      web.instances.map((i) => [i.release, i.state, i.healthy]),
      [
        [2, 'running', true],
        [2, 'running', true],
      ],
    );
    assert.deepEqual(
      web.traffic.filter((t) => t.backends > 0).map((t) => [t.release, t.share]),
      [[2, 1]],
    );
  });

  it('rolls back to the previous release with zero failed requests, without rebuilding', async () => {
    const load = startLoad(p.url);
    const rb = await p.cli(['rollback', 'web']);
    const result = await load.stop();
    assert.equal(rb.code, 0, rb.stderr);
    assert.deepEqual(result.failures, []);
    assert.match((await get(p.url)).body, /^v1 release=1 /);
    const history = JSON.parse((await p.cli(['history', 'web', '--json'])).stdout) as HistoryResponse;
    assert.deepEqual(
      history.releases.map((r) => [r.number, r.current, r.outcome]),
      [
        [2, false, 'superseded'],
        [1, true, 'live'],
      ],
    );
    assert.equal(history.rollouts[0]!.kind, 'rollback');
    assert.equal(history.releases[1]!.message, 'slipway up');
  });

  it('a release that never turns healthy fails at its deadline, the old one serving at full capacity', async () => {
    await p.writeConfig({ env: { VERSION: 'v3', HEALTH: 'fail' }, extra: '    progressDeadline: 3s' });
    const load = startLoad(p.url);
    const deploy = await p.cli(['deploy', 'web', '--wait']);
    const result = await load.stop();
    assert.equal(deploy.code, 1);
    assert.match(
      deploy.stderr,
      /release 3 did not become healthy within 3s: instance web-3-\w+ is not healthy \(last probe: GET \/healthz → 503 in \d+ms: database unreachable\)/,
    );
    assert.match(deploy.stderr, /last log lines:\n\s+listening on \d+ as v3/);
    assert.deepEqual(result.failures, []);
    const status = JSON.parse((await p.cli(['status', '--json'])).stdout) as StatusResponse;
    const web = status.services[0]!;
    assert.equal(web.currentRelease, 1);
    assert.equal(web.health, 'Healthy');
    assert.deepEqual(
      web.instances.map((i) => [i.release, i.healthy]),
      [
        [1, true],
        [1, true],
      ],
    );
    assert.equal(web.rollout!.phase, 'Failed');
  });

  it('a crash-looping release fails within seconds with its exit code and last log lines', async () => {
    await p.writeConfig({ env: { VERSION: 'v4', CRASH: '1' } });
    const load = startLoad(p.url);
    const began = Date.now();
    const deploy = await p.cli(['deploy', 'web', '--wait']);
    const tookMs = Date.now() - began;
    const result = await load.stop();
    assert.equal(deploy.code, 1);
    assert.match(deploy.stderr, /release 4 crash-loops: instance web-4-\w+ exited \d+ times in a row \(last: exit code 3\)/);
    assert.match(deploy.stderr, /fatal: DATABASE_URL is not set/);
    assert.ok(tookMs < 30_000, `took ${tookMs}ms, not seconds`);
    assert.deepEqual(result.failures, []);
    assert.match((await get(p.url)).body, /^v1 release=1 /);
  });

  it('refuses a second deploy while one is in progress, naming it', async () => {
    // A slow start keeps the first rollout in progress while the second deploy is tried.
    await p.writeConfig({ env: { VERSION: 'v5', STARTUP_MS: '3000' }, extra: '    progressDeadline: 30s' });
    const first = p.cli(['deploy', 'web', '--wait']);
    await waitFor('the first rollout to be in progress', async () => {
      const s = JSON.parse((await p.cli(['status', '--json'])).stdout) as StatusResponse;
      const r = s.services[0]!.rollout;
      return r?.toRelease === 5 && r.finishedAt === null;
    });
    const second = await p.cli(['deploy', 'web']);
    assert.equal(second.code, 4, second.stderr);
    assert.match(second.stderr, /rollout #\d+ of web \(to release 5\) is progressing/);
    assert.match(second.stderr, /hint: Wait for it/);
    assert.equal((await first).code, 0);
  });
});
