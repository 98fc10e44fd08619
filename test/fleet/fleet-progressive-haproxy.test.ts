/**
 * A canary across three real sshd hosts behind HAProxy (`loadBalancer: { haproxy }`): HAProxy
 * spreads requests over every host's router and each host splits them by the step's weight, so
 * the weight holds for traffic through the load balancer; `slipway abort` sends the whole fleet
 * back to the previous release at once, with no failed request through HAProxy.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/core/wait-for.js';
import { FleetProject } from '../support/fleet/fleet-project.js';
import { startLoad } from '../support/load.js';
import { get } from '../support/project.js';

const skip = FleetProject.skipReason({ haproxy: true });

describe('a canary across a fleet behind HAProxy', { skip }, () => {
  const p = new FleetProject({ hosts: 3 });
  const write = (version: string) =>
    p.writeConfig({
      env: { VERSION: version },
      extra: `    strategy:
      canary:
        steps:
          - weight: 30
          - pause: {}`,
      haproxy: true,
    });

  before(async () => {
    await p.start();
    await write('v1');
    await p.ok(['up', '--env', 'production']);
  });
  after(() => p.stop());

  it('holds the step weight through HAProxy, and abort puts every host back on the previous release with zero failed requests', async () => {
    await write('v2');
    const load = startLoad(p.url, { concurrency: 4, maxMs: 120_000 });
    const deploying = p.cli(['deploy', 'web', '--env', 'production', '--wait'], { timeoutMs: 120_000 });
    await p.waitingForPromotion(2);
    const before = load.snapshot();
    const answered = (s: ReturnType<typeof load.snapshot>, body: string) => s.bodies.get(body) ?? 0;
    await waitFor('600 more answers through HAProxy', () => load.snapshot().ok > before.ok + 600, 60_000);
    const now = load.snapshot();
    const v1 = answered(now, 'v1 release=1') - answered(before, 'v1 release=1');
    const v2 = answered(now, 'v2 release=2') - answered(before, 'v2 release=2');
    const share = v2 / (v1 + v2);
    assert.ok(share > 0.2 && share < 0.4, `release 2 got ${(share * 100).toFixed(1)}% of ${v1 + v2} answers at weight 30`);

    assert.equal((await p.cli(['abort', 'web', '--env', 'production'])).code, 0);
    const res = await deploying;
    const totals = await load.stop();
    assert.equal(res.code, 1, res.stdout + res.stderr);
    assert.match(res.stderr, /rolled back \(Aborted\)/);
    assert.deepEqual(totals.failures, []);
    for (let i = 0; i < 20; i++) assert.match((await get(p.url)).body, /^v1 release=1 /);
    const s = await p.web();
    assert.equal(s.currentRelease, 1);
    assert.deepEqual(
      s.hosts?.map((h) => [h.release, h.serving, h.health]),
      p.fleet.hosts.map(() => [1, 2, 'healthy']),
    );
  });
});
