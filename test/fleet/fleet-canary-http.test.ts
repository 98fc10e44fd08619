/**
 * A canary's `http:` analysis check across a fleet of three real sshd hosts (network namespaces):
 * the candidate's instances listen on each host's loopback, out of the controller's reach, so each
 * host's agent probes its own (agent `probe`) and the controller judges every answer together
 * (fleet/fleet-probe.ts). A candidate answering the check's path with 500 is rolled back by that
 * check alone (no traffic is sent, so no router check could decide), with the reason naming each
 * host's failing instances; a good one is promoted; a host that cannot be asked fails the
 * measurement, never passes it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/core/wait-for.js';
import { FleetProject } from '../support/fleet/fleet-project.js';

describe("a canary's http: checks across a fleet of SSH hosts", { skip: FleetProject.skipReason() }, () => {
  const p = new FleetProject({ hosts: 3 });
  // `/` answers 500 with FAIL_RATE=1 (the health check, /healthz, still passes: the canary starts).
  const write = (env: Record<string, string>, steps = '          - weight: 30\n          - analysis: [home]') =>
    p.writeConfig({
      env,
      extra: `    strategy:
      canary:
        steps:
${steps}`,
      tail: `analysis:
  home: { http: { path: /, expect: 200, timeout: 2s }, count: 3, interval: 300ms }`,
    });

  before(() => p.startServing(() => write({ VERSION: 'v1' })));
  after(() => p.stop());

  it('a canary answering its check path with 500 on every host is rolled back by the http: check', async () => {
    await write({ VERSION: 'v2', FAIL_RATE: '1' });
    const res = await p.cli(['deploy', 'web', '--env', 'production', '--wait'], { timeoutMs: 120_000 });
    assert.equal(res.code, 1, res.stdout + res.stderr);
    assert.match(res.stderr, /rolled back \(AnalysisFailed\)/);
    assert.match(res.stderr, /analysis "home" failed/);
    const s = await p.web();
    const run = s.rollout!.analysis.find((a) => a.check === 'home')!;
    // Every instance of the canary on every host was asked, each named with its host.
    const detail = JSON.stringify(run);
    assert.match(detail, /6 of 6 instances failed GET \//);
    for (const h of p.fleet.hosts) assert.ok(detail.includes(`${h.address} web.production-2-`), `${h.address} in ${detail}`);
    assert.match(detail, /answered 500 'v2 failed'/);
    await p.rolledBackTo(1);
    assert.deepEqual(await p.answers(), ['v1 release=1', 'v1 release=1', 'v1 release=1']);
  });

  it('a canary answering 200 passes its http: check on every host and is promoted', async () => {
    await write({ VERSION: 'v3' });
    const res = await p.cli(['deploy', 'web', '--env', 'production', '--wait'], { timeoutMs: 120_000 });
    assert.equal(res.code, 0, res.stdout + res.stderr);
    const s = await p.web();
    assert.equal(s.currentRelease, 3);
    const run = s.rollout!.analysis.find((a) => a.check === 'home')!;
    assert.equal(run.phase, 'Successful');
    assert.match(JSON.stringify(run), /6 of 6 instances answered GET \/ with 200/);
    assert.deepEqual(await p.answers(), ['v3 release=3', 'v3 release=3', 'v3 release=3']);
  });

  it('a host that cannot be asked fails the measurement: the check never passes without it', async () => {
    // A pause first, so the host is cut once the canary runs everywhere, before its check starts.
    await write({ VERSION: 'v4' }, '          - weight: 30\n          - pause: {}\n          - analysis: [home]');
    const deploying = p.cli(['deploy', 'web', '--env', 'production', '--wait'], { timeoutMs: 120_000 });
    await p.waitingForPromotion(4);
    await p.fleet.cut(2);
    try {
      assert.equal((await p.cli(['promote', 'web', '--env', 'production'])).code, 0);
      // Every measurement errs while the host is cut; at consecutiveErrorLimit (4) the check ends Error.
      const run = await waitFor(
        'the check to end Error, naming the host it could not ask',
        async () => {
          const r = (await p.web()).rollout?.analysis.find((a) => a.check === 'home');
          return r && r.phase !== 'Running' ? r : undefined;
        },
        90_000,
        200,
      );
      assert.equal(run.phase, 'Error', JSON.stringify(run));
      assert.equal(run.counts.passed, 0, JSON.stringify(run));
      assert.match(JSON.stringify(run), new RegExp(`${p.fleet.hosts[2]!.address.replaceAll('.', '\\.')} could not be asked`));
    } finally {
      await p.fleet.heal(2);
    }
    // Once the host answers again, the rollback reaches it too.
    const res = await deploying;
    assert.equal(res.code, 1, res.stdout + res.stderr);
    assert.match(res.stderr, /rolled back/);
    assert.equal((await p.web()).currentRelease, 3);
    assert.deepEqual(await p.answers(), ['v3 release=3', 'v3 release=3', 'v3 release=3']);
  });
});
