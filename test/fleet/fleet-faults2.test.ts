/**
 * More of issue 8's Proof, on three real sshd hosts (network namespaces) behind HAProxy: a rolling
 * update of 3 hosts under steady load through HAProxy fails no request; a canary answering 500s is
 * rolled back by router analysis under load through HAProxy, the previous release at full capacity
 * afterwards; sshd stopped mid-rollout (the agent's stream runs over the connection sshd already
 * accepted, so the roll goes on; a restarted controller cannot connect, its rollout fails naming
 * the host and SSH); a host frozen mid-rollout fails the rollout naming the host and its unanswered
 * SSH keepalives (how soon is a diagnostic), and once thawed is reconciled and `slipway retry` completes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ControllerClient } from '../../src/client/client.js';
import { pidAlive } from '../../src/core/process.js';
import { waitFor } from '../../src/core/wait-for.js';
import { FleetProject } from '../support/fleet/fleet-project.js';
import { startLoad } from '../support/load.js';
import { get } from '../support/project.js';

const skip = FleetProject.skipReason({ haproxy: true });

const CANARY = `    strategy:
      canary:
        steps:
          - weight: 30
          - analysis: [errors]
        analysis: [guard]`;

describe('a fleet of 3 hosts behind HAProxy: rolls, canary rollback, sshd stopped and host frozen mid-rollout', { skip }, () => {
  const p = new FleetProject({ hosts: 3 });
  const write = (env: Record<string, string>, strategy = '') =>
    p.writeConfig({
      env,
      extra: strategy,
      haproxy: true,
      tail: `analysis:
  guard: { metric: error_rate, max: 0.05, interval: 1s, minRequests: 20 }
  errors: { metric: error_rate, max: 0.01, interval: 1s, minRequests: 20, count: 2, inconclusiveLimit: 3 }`,
    });
  const re = (s: string) => new RegExp(s.replaceAll('.', '\\.'));

  before(async () => {
    await p.start();
    await write({ VERSION: 'v1' });
    await p.ok(['up', '--env', 'production']);
  });
  after(() => p.stop());

  it('rolls 3 hosts behind HAProxy under steady load with zero failed requests', async () => {
    assert.match((await get(p.url)).body, /^v1 release=1 /);
    await write({ VERSION: 'v2' });
    const load = startLoad(p.url, { concurrency: 3, maxMs: 90_000 });
    const deploy = await p.cli(['deploy', 'web', '--env', 'production', '--wait'], { timeoutMs: 90_000 });
    const result = await load.stop();
    assert.equal(deploy.code, 0, deploy.stderr + deploy.stdout);
    assert.deepEqual(result.failures, []);
    assert.ok(result.ok > 30, `only ${result.ok} requests succeeded`);
    assert.ok(result.bodies.has('v1 release=1') && result.bodies.has('v2 release=2'), 'both releases answered during the roll');
    const s = await p.web();
    assert.deepEqual(
      s.traffic.filter((t) => t.backends > 0).map((t) => [t.release, t.backends, t.share]),
      [[2, 3, 1]],
      'the 3 hosts are HAProxy servers of release 2',
    );
    assert.deepEqual(
      s.hosts?.map((h) => [h.release, h.serving, h.health]),
      p.fleet.hosts.map(() => [2, 2, 'healthy']),
    );
  });

  it('a canary answering 500s is rolled back by analysis under load through HAProxy; release 2 then serves at full capacity', async () => {
    await write({ VERSION: 'v3', FAIL_RATE: '1' }, CANARY);
    const load = startLoad(p.url, { concurrency: 3, maxMs: 120_000 });
    const res = await p.cli(['deploy', 'web', '--env', 'production', '--wait'], { timeoutMs: 120_000 });
    const totals = await load.stop();
    assert.equal(res.code, 1, res.stdout + res.stderr);
    assert.match(res.stderr, /rolled back \(AnalysisFailed\)/);
    assert.ok(
      totals.failures.every((f) => f.startsWith('HTTP 500: v3 failed')),
      `failures not from the canary: ${totals.failures.slice(0, 5).join('; ')}`,
    );
    assert.ok(totals.failures.length > 0, 'the canary answered some requests through HAProxy');
    for (let i = 0; i < 20; i++) assert.match((await get(p.url)).body, /^v2 release=2 /);
    const s = await p.rolledBackTo(2);
    assert.deepEqual(
      s.traffic.filter((t) => t.backends > 0).map((t) => [t.release, t.backends, t.share]),
      [[2, 3, 1]],
    );
  });

  it('sshd stopped mid-rollout: the roll goes on over the open connection; a restarted controller then fails naming the host and SSH; retry completes once sshd is back', async () => {
    await write({ VERSION: 'v4', STARTUP_MS: '1500' });
    const load = startLoad(p.url, { concurrency: 2, maxMs: 120_000 });
    const deploy = p.cli(['deploy', 'web', '--env', 'production', '--wait'], { timeoutMs: 90_000 });
    await waitFor('the second host to start release 4', () => p.startedOn(1, 4), 30_000, 50);
    await p.fleet.sshdStop(1);
    const res = await deploy;
    // The pooled connection sshd accepted before it stopped carries the agent's stream: the host is
    // up and rolled, and saying it failed would be wrong.
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.deepEqual(await p.answers(), ['v4 release=4', 'v4 release=4', 'v4 release=4']);

    // A new connection cannot be made: a new controller (its pool empty) deploys release 5 with `up`.
    await write({ VERSION: 'v5' });
    const pid = ControllerClient.connect(p.dir, 'production').info.pid;
    process.kill(pid, 'SIGTERM');
    await waitFor('the controller to stop', () => !pidAlive(pid), 30_000);
    const failed = await p.cli(['up', '--env', 'production'], { timeoutMs: 90_000 });
    const victim = p.fleet.hosts[1]!.address;
    assert.equal(failed.code, 1, failed.stdout + failed.stderr);
    assert.match(failed.stdout + failed.stderr, re(`host ${victim} failed`));
    assert.match(failed.stdout + failed.stderr, /SSH_/);
    const ev = (await p.events()).findLast((e) => e.type === 'rollout.failed');
    assert.equal((ev?.data as { code?: string }).code, 'FLEET_HOST_FAILED');
    // The other hosts (and HAProxy) serve a full release meanwhile.
    const s = await p.web();
    assert.deepEqual(
      s.hosts?.filter((h) => h.host !== victim).map((h) => [h.reachable, h.serving, h.health]),
      [
        [true, 2, 'healthy'],
        [true, 2, 'healthy'],
      ],
    );

    await p.fleet.sshdStart(1);
    const retry = await p.cli(['retry', 'web', '--env', 'production', '--wait'], { timeoutMs: 90_000 });
    const totals = await load.stop();
    assert.equal(retry.code, 0, retry.stdout + retry.stderr);
    assert.deepEqual(await p.answers(), ['v5 release=5', 'v5 release=5', 'v5 release=5']);
    assert.deepEqual(totals.failures, [], 'HAProxy failed no request through it all');
  });

  it('a host frozen mid-rollout fails it naming the host and its unanswered keepalives; thawed, it is reconciled and retry completes', async (t) => {
    await write({ VERSION: 'v6', STARTUP_MS: '1500' });
    const deploy = p.cli(['deploy', 'web', '--env', 'production', '--wait'], { timeoutMs: 90_000 });
    await waitFor('the second host to start release 6', () => p.startedOn(1, 6), 30_000, 50);
    const frozenAt = Date.now();
    await p.fleet.freeze(1);
    let thawed = false;
    try {
      const res = await deploy;
      // Keepalives every second, three unanswered: the host is gone within seconds, not a TCP timeout (a number for the notes).
      t.diagnostic(`the rollout failed ${Date.now() - frozenAt} ms after the freeze`);
      const victim = p.fleet.hosts[1]!.address;
      assert.equal(res.code, 1, res.stdout + res.stderr);
      // It says what failed: the SSH connection, its keepalives unanswered (not that the agent hung up).
      assert.match(res.stdout + res.stderr, re(`host ${victim} failed while rolling it to release 6: SSH_CONNECTION_LOST: `));
      assert.match(res.stdout + res.stderr, /keepalives unanswered/);
      const failed = (await p.events()).findLast((e) => e.type === 'rollout.failed');
      assert.equal((failed?.data as { code?: string }).code, 'FLEET_HOST_FAILED');
      assert.equal((await p.answer(0)).split(' ')[1], 'release=5');
      assert.equal((await p.answer(2)).split(' ')[1], 'release=5');

      await p.fleet.thaw(1);
      thawed = true;
      await waitFor(
        'the controller to bring the thawed host back to release 5',
        async () => (await p.answer(1).catch(() => '')) === 'v5 release=5',
        30_000,
      );
      const retry = await p.cli(['retry', 'web', '--env', 'production', '--wait'], { timeoutMs: 90_000 });
      assert.equal(retry.code, 0, retry.stdout + retry.stderr);
      assert.deepEqual(await p.answers(), ['v6 release=6', 'v6 release=6', 'v6 release=6']);
    } finally {
      if (!thawed) await p.fleet.thaw(1);
    }
  });
});
