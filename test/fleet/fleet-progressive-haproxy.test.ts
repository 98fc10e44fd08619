/**
 * A canary across three real sshd hosts behind HAProxy (`loadBalancer: { haproxy }`): HAProxy
 * spreads requests over every host's router and each host splits them by the step's weight, so
 * the weight holds for traffic through the load balancer; `slipway abort` sends the whole fleet
 * back to the previous release at once, with no failed request through HAProxy.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StatusResponse } from '../../src/api/types.js';
import { waitFor } from '../../src/core/wait-for.js';
import { Fleet } from '../support/fleet/fleet.js';
import { startLoad } from '../support/load.js';
import { get, TestProject } from '../support/project.js';

const skip = Fleet.skipReason() ?? (existsSync('/usr/sbin/haproxy') ? undefined : 'needs haproxy (scripts/install-system-deps.sh)');

describe('a canary across a fleet behind HAProxy', { skip }, () => {
  let fleet: Fleet;
  const p = new TestProject();
  const write = (version: string) =>
    p.writeConfig({
      env: { VERSION: version },
      extra: `    strategy:
      canary:
        steps:
          - weight: 30
          - pause: {}`,
      tail: `environments:
  production:
    loadBalancer:
      haproxy: { healthPath: /healthz, checkInterval: 200ms }
${fleet.sshTargetYaml()}`,
    });
  const web = async () =>
    (JSON.parse((await p.cli(['status', '--env', 'production', '--json'])).stdout) as StatusResponse).services.find(
      (s) => s.service === 'web',
    )!;

  before(async () => {
    fleet = await Fleet.start({ hosts: 3 });
    writeFileSync(join(p.dir, 'known_hosts'), fleet.knownHosts());
    await write('v1');
    const up = await p.cli(['up', '--env', 'production']);
    assert.equal(up.code, 0, up.stderr + up.stdout);
  });
  after(async () => {
    await p.cleanup();
    await fleet?.stop();
  });

  it('holds the step weight through HAProxy, and abort puts every host back on the previous release with zero failed requests', async () => {
    await write('v2');
    const load = startLoad(p.url, { concurrency: 4, maxMs: 120_000 });
    const deploying = p.cli(['deploy', 'web', '--env', 'production', '--wait'], { timeoutMs: 120_000 });
    await waitFor(
      'the canary to wait for promotion at 30%',
      async () => {
        const s = await web();
        return s.rollout?.toRelease === 2 && s.rollout.reason === 'WaitingForPromotion';
      },
      60_000,
      100,
    );
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
    const s = await web();
    assert.equal(s.currentRelease, 1);
    assert.deepEqual(
      s.hosts?.map((h) => [h.release, h.serving, h.health]),
      fleet.hosts.map(() => [1, 2, 'healthy']),
    );
  });
});
