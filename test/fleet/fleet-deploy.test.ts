/**
 * `slipway deploy` to an environment whose target is ssh, end to end on a fleet of three real
 * sshd hosts (network namespaces): `hosts setup` installs the host agent; a deploy ships the
 * release and rolls the hosts one by one, each health-gated behind its own router; under steady
 * load on every host's router a rolling deploy drops no request; a host that crashes mid-rollout
 * stops it with an error naming the host while the other hosts serve the previous release at full
 * capacity; once the host is booted again (its agent restarted by the controller, adopting what it
 * had) a later deploy completes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/core/wait-for.js';
import { FleetProject } from '../support/fleet/fleet-project.js';
import { startLoad } from '../support/load.js';
import { get } from '../support/project.js';

describe('deploying to a fleet of SSH hosts', { skip: FleetProject.skipReason() }, () => {
  const p = new FleetProject({ hosts: 3 });

  before(async () => {
    await p.start();
    await p.writeConfig({ env: { VERSION: 'v1' } });
  });
  after(() => p.stop());

  it('hosts setup installs and starts the agent; a first deploy serves the release on every host', async () => {
    await p.ok(['hosts', 'setup', '--env', 'production']);
    await p.ok(['up', '--env', 'production']);
    assert.deepEqual(await p.answers(), ['v1 release=1', 'v1 release=1', 'v1 release=1']);
  });

  it('rolls a new release across the hosts with zero failed requests on any host; status shows each host', async () => {
    await p.writeConfig({ env: { VERSION: 'v2' } });
    const loads = p.urls().map((u) => startLoad(u, { concurrency: 2, maxMs: 60_000 }));
    const deploy = await p.cli(['deploy', 'web', '--env', 'production', '--wait']);
    const results = await Promise.all(loads.map((l) => l.stop()));
    assert.equal(deploy.code, 0, deploy.stderr + deploy.stdout);
    results.forEach((r, i) => {
      assert.deepEqual(r.failures, [], `host ${p.fleet.hosts[i]!.address}`);
      assert.ok(r.ok > 20, `only ${r.ok} requests to ${p.fleet.hosts[i]!.address} succeeded`);
      assert.ok(r.bodies.has('v1 release=1') && r.bodies.has('v2 release=2'), `both releases answered on ${p.fleet.hosts[i]!.address}`);
    });
    assert.deepEqual(await p.answers(), ['v2 release=2', 'v2 release=2', 'v2 release=2']);
    const web = await p.web();
    assert.equal(web.health, 'Healthy');
    assert.deepEqual(
      web.hosts?.map((h) => [h.host, h.reachable, h.release, h.serving, h.health]),
      p.fleet.hosts.map((h) => [h.address, true, 2, 2, 'healthy']),
    );
    assert.deepEqual(
      web.instances.map((i) => [i.host, i.release, i.state]),
      p.fleet.hosts.flatMap((h) => [
        [h.address, 2, 'running'],
        [h.address, 2, 'running'],
      ]),
    );
    assert.ok(
      web.instances.every((i) => i.id.endsWith(`-on-${i.host}`)),
      'instance ids name their host',
    );
  });

  it('an agent killed on a host leaves its instances serving; the controller starts it again and it adopts them', async () => {
    const before = (await p.web()).instances.filter((i) => i.host === p.fleet.hosts[2]!.address);
    const agentPid = (await p.fleet.inHost(2, ['cat', '/var/lib/slipway/run/agent.pid'])).split(' ')[0]!;
    await p.fleet.inHost(2, ['kill', '-KILL', agentPid]);
    const load = startLoad(p.urls()[2]!, { concurrency: 2, maxMs: 10_000, maxRequests: 200 });
    const result = await load.stop();
    assert.deepEqual(result.failures, [], 'the host serves with its agent gone');
    // The next question to the host finds no agent, starts one, and it adopts the same processes.
    const after = await waitFor('the host to be followed again', async () => {
      const web = await p.web();
      const mine = web.instances.filter((i) => i.host === p.fleet.hosts[2]!.address);
      return web.hosts?.[2]?.reachable === true && mine.length === 2 && mine;
    });
    assert.deepEqual(
      after.map((i) => [i.id, i.pid, i.restarts]),
      before.map((i) => [i.id, i.pid, 0]),
    );
    assert.notEqual((await p.fleet.inHost(2, ['cat', '/var/lib/slipway/run/agent.pid'])).split(' ')[0], agentPid);
  });

  it('a host that crashes mid-rollout stops it, naming the host; the others serve the previous release in full', async () => {
    // A slow start makes each host's roll take a while, so the crash lands during the second host's.
    await p.writeConfig({ env: { VERSION: 'v3', STARTUP_MS: '1500' } });
    const deploy = p.cli(['deploy', 'web', '--env', 'production', '--wait']);
    await waitFor('the first host to serve release 3', async () => (await get(p.urls()[0]!)).body.startsWith('v3 release=3'), 30_000, 50);
    await p.fleet.crash(1);
    const res = await deploy;
    assert.equal(res.code, 1, res.stdout + res.stderr);
    const victim = p.fleet.hosts[1]!.address;
    assert.match(res.stdout + res.stderr, new RegExp(`host ${victim.replaceAll('.', '\\.')} failed while rolling it to release 3`));
    // Host 1 was rolled back; host 3 never left release 2: both serve it with every instance.
    assert.equal((await get(p.urls()[0]!)).body.split(' ')[0], 'v2');
    assert.equal((await get(p.urls()[2]!)).body.split(' ')[0], 'v2');
    const web = await p.web();
    assert.deepEqual(
      web.hosts?.map((h) => [h.host, h.reachable, h.release, h.serving]),
      [
        [p.fleet.hosts[0]!.address, true, 2, 2],
        [victim, false, null, 0],
        [p.fleet.hosts[2]!.address, true, 2, 2],
      ],
    );
    assert.equal(web.currentRelease, 2);
  });

  it('once the host is back, its agent is restarted and adopts what it ran, and a later deploy completes', async () => {
    await p.fleet.boot(1);
    await p.ok(['deploy', 'web', '--env', 'production', '--wait']);
    assert.deepEqual(await p.answers(), ['v3 release=4', 'v3 release=4', 'v3 release=4']);
    const web = await p.web();
    assert.deepEqual(
      web.hosts?.map((h) => [h.release, h.serving, h.health]),
      p.fleet.hosts.map(() => [4, 2, 'healthy']),
    );
  });
});
