/**
 * HAProxy in front of a fleet (`loadBalancer: { haproxy }` on an ssh environment): each host's
 * router is one HAProxy server, in the pool of the release it serves; a host is drained out of
 * HAProxy before its roll and put back after it. Under steady load through HAProxy, a rolling
 * deploy across two real sshd hosts fails no request, and HAProxy ends up sending every request to
 * the new release on both hosts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FleetProject } from '../support/fleet/fleet-project.js';
import { startLoad } from '../support/load.js';
import { get } from '../support/project.js';

const skip = FleetProject.skipReason({ haproxy: true });

describe('HAProxy in front of a fleet of SSH hosts', { skip }, () => {
  const p = new FleetProject({ hosts: 2 });
  const write = (version: string) => p.writeConfig({ env: { VERSION: version }, haproxy: true });

  before(async () => {
    await p.start();
    await write('v1');
    await p.ok(['up', '--env', 'production']);
  });
  after(() => p.stop());

  it('rolls the hosts behind HAProxy with zero failed requests; HAProxy then sends everything to the new release', async () => {
    assert.match((await get(p.url)).body, /^v1 release=1 /);
    await write('v2');
    const load = startLoad(p.url, { concurrency: 2, maxMs: 60_000 });
    const deploy = await p.cli(['deploy', 'web', '--env', 'production', '--wait']);
    const result = await load.stop();
    assert.equal(deploy.code, 0, deploy.stderr + deploy.stdout);
    assert.deepEqual(result.failures, []);
    assert.ok(result.ok > 20, `only ${result.ok} requests succeeded`);
    assert.ok(result.bodies.has('v1 release=1') && result.bodies.has('v2 release=2'), 'both releases answered during the roll');
    const web = await p.web();
    assert.deepEqual(
      web.traffic.filter((t) => t.backends > 0).map((t) => [t.release, t.backends, t.share]),
      [[2, 2, 1]],
      'both hosts are HAProxy servers of release 2',
    );
    assert.deepEqual(
      web.hosts?.map((h) => [h.release, h.health]),
      [
        [2, 'healthy'],
        [2, 'healthy'],
      ],
    );
  });

  it("each host's roll event says where its time went (pull, start, health, switch, drain), within the roll's time", async () => {
    const events = JSON.parse((await p.cli(['events', 'web', '--env', 'production', '--json', '-n', '1000'])).stdout) as {
      events: { type: string; data?: { step?: string; host?: string; ms?: number; phases?: Record<string, number> } }[];
    };
    const rolls = events.events.filter((e) => e.type === 'fleet.progress' && e.data?.step === 'roll').slice(-p.fleet.hosts.length);
    assert.deepEqual(
      rolls.map((e) => e.data!.host),
      p.fleet.hosts.map((h) => h.address),
    );
    for (const { data } of rolls) {
      const phases = data!.phases!;
      assert.deepEqual(Object.keys(phases).sort(), ['drainMs', 'healthMs', 'pullMs', 'startMs', 'switchMs'], data!.host);
      const sum = Object.values(phases).reduce((a, b) => a + b, 0);
      assert.ok(sum > 0 && sum <= data!.ms!, `${data!.host}: phases ${JSON.stringify(phases)} against ${data!.ms} ms`);
    }
  });
});
