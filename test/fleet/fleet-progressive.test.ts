/**
 * Canary and blue-green across a fleet of three real sshd hosts (network namespaces), with no load
 * balancer: each host's router splits traffic by the step's weight (controller/fleet-progressive.ts).
 * Under steady load on every host's router: a canary step's weight holds across the fleet
 * (responses counted per release), `slipway promote` takes it to 100% with no failed request; a
 * canary answering 500s is rolled back by its analysis (every host's counters summed) with the
 * previous release serving in full; a blue-green release is checked on each host's preview port,
 * promoted in one switch per host, and switched back to the warm old release, with no failed request;
 * a controller killed mid-canary leaves the hosts serving their split and the next one resumes it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/core/wait-for.js';
import { FleetProject } from '../support/fleet/fleet-project.js';
import { startLoad, type Load } from '../support/load.js';
import { freePort, get } from '../support/project.js';

const CANARY = `    strategy:
      canary:
        steps:
          - weight: 30
          - analysis: [errors]
          - pause: {}
        analysis: [guard]`;

describe('canary and blue-green across a fleet of SSH hosts', { skip: FleetProject.skipReason() }, () => {
  let previewPort = 0;
  const p = new FleetProject({ hosts: 3 });
  const analysis = `analysis:
  guard: { metric: error_rate, max: 0.05, interval: 1s, minRequests: 20 }
  errors: { metric: error_rate, max: 0.01, interval: 1s, minRequests: 20, count: 2, inconclusiveLimit: 3 }
  smoke: { http: { path: /healthz, expect: 200 }, count: 3, interval: 200ms }`;
  const blueGreen = () => `    strategy:
      blueGreen:
        previewPort: ${previewPort}
        prePromotionAnalysis: [smoke]
        autoPromote: false
        scaleDownDelay: 60s`;
  const write = (env: Record<string, string>, strategy = CANARY) => p.writeConfig({ env, extra: strategy, tail: analysis });
  const loadAll = () => p.urls().map((u) => startLoad(u, { concurrency: 2, maxMs: 120_000 }));
  const stopAll = async (loads: Load[]) => {
    const rs = await Promise.all(loads.map((l) => l.stop()));
    return {
      ok: rs.reduce((n, r) => n + r.ok, 0),
      failures: rs.flatMap((r) => r.failures),
      bodies: (body: string) => rs.reduce((n, r) => n + (r.bodies.get(body) ?? 0), 0),
    };
  };
  const counts = (loads: Load[]) => {
    const snaps = loads.map((l) => l.snapshot());
    return (body: string) => snaps.reduce((n, s) => n + (s.bodies.get(body) ?? 0), 0);
  };

  before(async () => {
    await p.start();
    previewPort = await freePort();
    await write({ VERSION: 'v1' });
    await p.ok(['hosts', 'setup', '--env', 'production']);
    await p.ok(['up', '--env', 'production']);
  });
  after(() => p.stop());

  it('a canary step holds its weight across the fleet; promoted to 100% with zero failed requests', async () => {
    await write({ VERSION: 'v2' });
    const loads = loadAll();
    const deploying = p.cli(['deploy', 'web', '--env', 'production', '--wait'], { timeoutMs: 120_000 });
    const paused = await p.waitingForPromotion(2);
    assert.equal(paused.rollout!.weight, 30);
    assert.equal(paused.rollout!.analysis.find((a) => a.key === 'step1:errors')?.phase, 'Successful');
    // Every host runs both releases at full size; every host's router splits 70/30.
    assert.deepEqual(
      paused.instances.map((i) => [i.host, i.release]).sort(),
      p.fleet.hosts
        .flatMap((h) => [
          [h.address, 1],
          [h.address, 1],
          [h.address, 2],
          [h.address, 2],
        ])
        .sort(),
    );
    const before = counts(loads);
    await waitFor(
      '600 more answers at 30%',
      () => counts(loads)('v1 release=1') + counts(loads)('v2 release=2') > before('v1 release=1') + before('v2 release=2') + 600,
      60_000,
    );
    const now = counts(loads);
    const v1 = now('v1 release=1') - before('v1 release=1');
    const v2 = now('v2 release=2') - before('v2 release=2');
    const share = v2 / (v1 + v2);
    assert.ok(share > 0.2 && share < 0.4, `release 2 got ${(share * 100).toFixed(1)}% of ${v1 + v2} answers at weight 30`);

    assert.equal((await p.cli(['promote', 'web', '--env', 'production'])).code, 0);
    const res = await deploying;
    const totals = await stopAll(loads);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.deepEqual(totals.failures, []);
    assert.deepEqual(await p.answers(), ['v2 release=2', 'v2 release=2', 'v2 release=2']);
    const s = await p.web();
    assert.equal(s.currentRelease, 2);
    assert.deepEqual(
      s.hosts?.map((h) => [h.release, h.serving, h.health]),
      p.fleet.hosts.map(() => [2, 2, 'healthy']),
    );
  });

  it('a canary answering 500s is rolled back by analysis over every host; the previous release serves in full', async () => {
    await write({ VERSION: 'v3', FAIL_RATE: '1' });
    const loads = loadAll();
    const res = await p.cli(['deploy', 'web', '--env', 'production', '--wait'], { timeoutMs: 120_000 });
    const totals = await stopAll(loads);
    assert.equal(res.code, 1, res.stdout + res.stderr);
    assert.match(res.stderr, /rolled back \(AnalysisFailed\)/);
    assert.match(res.stderr, /analysis "guard" failed/);
    assert.ok(
      totals.failures.every((f) => f.startsWith('HTTP 500: v3 failed')),
      `failures not from the canary: ${totals.failures.slice(0, 5).join('; ')}`,
    );
    assert.deepEqual(await p.answers(), ['v2 release=2', 'v2 release=2', 'v2 release=2']);
    await p.rolledBackTo(2);
    // How long from the decision to roll back until no host sent the canary traffic (docs/servers.md).
    const events = JSON.parse((await p.cli(['events', 'web', '--env', 'production', '--json'])).stdout) as {
      events: { type: string; data: { step?: string; ms?: number } }[];
    };
    const undone = events.events.find((e) => e.type === 'fleet.progress' && e.data.step === 'undone');
    assert.ok(undone, 'the rollback says when every host was back');
    console.log(
      `# fleet canary: traffic back on release 2 on 3 hosts ${undone.data.ms} ms after the rollback was decided; ${totals.failures.length} canary 500s of ${totals.ok + totals.failures.length} requests`,
    );
  });

  it('blue-green: checked on every host preview port, promoted and switched back with zero failed requests', async () => {
    await write({ VERSION: 'v4' }, blueGreen());
    const loads = loadAll();
    const deploying = p.cli(['deploy', 'web', '--env', 'production', '--wait'], { timeoutMs: 120_000 });
    const waiting = await p.waitingForPromotion(4);
    assert.equal(waiting.rollout!.analysis.find((a) => a.key === 'pre:smoke')?.phase, 'Successful');
    for (const h of p.fleet.hosts) {
      assert.match((await get(`http://${h.address}:${previewPort}/`)).body, /^v4 release=4 /, `preview on ${h.address}`);
    }
    assert.deepEqual(await p.answers(), ['v2 release=2', 'v2 release=2', 'v2 release=2'], 'users still get release 2');
    const oldPids = waiting.instances
      .filter((i) => i.release === 2)
      .map((i) => i.pid)
      .sort();

    assert.equal((await p.cli(['promote', 'web', '--env', 'production'])).code, 0);
    await waitFor('every host to serve release 4', async () => (await p.answers()).every((a) => a === 'v4 release=4'), 30_000, 50);
    await p.ok(['rollback', 'web', '--env', 'production']);
    const res = await deploying;
    const totals = await stopAll(loads);
    assert.equal(res.code, 1, res.stdout + res.stderr);
    assert.match(res.stderr, /rolled back \(SwitchedBack\)/);
    assert.deepEqual(totals.failures, []);
    assert.ok(totals.bodies('v4 release=4') > 20, 'release 4 served users after the switch');
    assert.deepEqual(await p.answers(), ['v2 release=2', 'v2 release=2', 'v2 release=2']);
    const s = await p.web();
    assert.deepEqual(s.instances.map((i) => i.pid).sort(), oldPids, 'the warm instances of release 2 serve again');
  });
  it('a controller killed mid-canary leaves every host serving its split; the next one resumes the canary where it was', async () => {
    await write({ VERSION: 'v5' });
    // Traffic from the start: the canary's analysis step needs requests to pass.
    const loads = loadAll();
    await p.ok(['deploy', 'web', '--env', 'production']);
    const paused = await p.waitingForPromotion(5);
    process.kill(p.controllerPid(), 'SIGKILL');
    const atKill = counts(loads);
    await waitFor(
      'answers from both releases with no controller',
      () => {
        const c = counts(loads);
        return c('v2 release=2') > atKill('v2 release=2') + 50 && c('v5 release=5') > atKill('v5 release=5') + 10;
      },
      30_000,
    );
    await p.ok(['up', '--env', 'production']);
    const resumed = await p.web();
    assert.equal(resumed.rollout?.id, paused.rollout!.id);
    assert.equal(resumed.rollout?.weight, 30);
    assert.deepEqual(
      resumed.instances.map((i) => [i.id, i.pid]).sort(),
      paused.instances.map((i) => [i.id, i.pid]).sort(),
      'no instance was replaced',
    );
    assert.equal((await p.cli(['promote', 'web', '--env', 'production', '--wait'])).code, 0);
    const totals = await stopAll(loads);
    assert.deepEqual(totals.failures, []);
    assert.deepEqual(await p.answers(), ['v5 release=5', 'v5 release=5', 'v5 release=5']);
  });
});
