/**
 * The docker path on a host: a host with docker and no podman runs an image release's containers
 * with the docker client. There is no Docker engine on these machines, only the `docker` client;
 * the host's engine is podman's Docker-compatible API service (`fleet.dockerOnly`), so this is a
 * real docker CLI against a real Docker API, with podman hidden from the agent. Beside it, a host
 * with both podman and docker runs podman (the preferred one). An image release is pulled by
 * digest on both and rolled under load with zero failed requests; status names each runtime.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FleetProject } from '../support/fleet/fleet-project.js';
import { startLoad } from '../support/load.js';
import { get } from '../support/project.js';

const skip =
  FleetProject.skipReason({ images: {} }) ?? (hasDocker() ? undefined : 'needs the docker client (scripts/install-system-deps.sh)');

describe('a docker host (docker CLI against a Docker-compatible API service) runs image releases', { skip }, () => {
  const p = new FleetProject({ hosts: 2, images: {} });

  before(async () => {
    await p.start();
    await p.fleet.dockerOnly(0);
    await p.fleet.dockerEngine(1); // podman and a working docker: the agent prefers podman
    p.writeImageConfig('v1');
  });
  after(() => p.stop());

  it('pulls the digest with docker, serves it, rolls a new image under load with zero failed requests; status says docker', async () => {
    await p.ok(['up', '--env', 'production']);
    for (const u of p.urls()) assert.match((await get(u)).body, /^v1 release=1 /);
    p.writeImageConfig('v2');
    writeFileSync(join(p.dir, 'web/rootfs/app/VERSION'), 'v2\n');
    const loads = p.urls().map((u) => startLoad(u, { concurrency: 2, maxMs: 120_000 }));
    const deploy = await p.cli(['deploy', 'web', '--env', 'production', '--wait']);
    const results = await Promise.all(loads.map((l) => l.stop()));
    assert.equal(deploy.code, 0, deploy.stderr + deploy.stdout);
    results.forEach((r, i) => {
      assert.deepEqual(r.failures, [], p.fleet.hosts[i]!.name);
      assert.ok(r.bodies.has('v1 release=1') && r.bodies.has('v2 release=2'), `both releases answered on ${p.fleet.hosts[i]!.name}`);
    });
    const web = await p.web();
    assert.deepEqual(
      web.hosts?.map((h) => [h.release, h.serving, h.health, h.runtime]),
      [
        [2, 2, 'healthy', 'docker'],
        [2, 2, 'healthy', 'podman'],
      ],
    );
    // The containers are the engine's, started by the docker client, of the release's digest; their output reaches the logs.
    const ref = web.runtime!.image!;
    const ps = await p.fleet.inHost(0, ['docker', 'ps', '--format', '{{.Image}}', '--filter', 'label=io.slipway.release=2']);
    assert.deepEqual(ps.trim().split('\n'), [ref.split('@')[0], ref.split('@')[0]]);
    const pulled = await p.fleet.inHost(0, ['docker', 'images', '--digests', '--format', '{{.Repository}}@{{.Digest}}']);
    assert.ok(pulled.split('\n').includes(ref), `docker on ${p.fleet.hosts[0]!.name} has ${ref}: ${pulled}`);
    // The docker host's instances' output reached their log files through `docker logs -f`.
    for (const i of web.instances.filter((x) => x.host === p.fleet.hosts[0]!.address)) {
      const log = await p.fleet.inHost(0, ['cat', `/var/lib/slipway/agent/driver/containers/logs/${i.id}.out.log`]);
      assert.match(log, /listening on \d+ as v2/, i.id);
    }
  });

  it('an image only this machine has (no registry declared) is refused at once with FLEET_UNSUPPORTED; the hosts keep serving', async () => {
    p.writeImageConfig('v3', { registry: false });
    const deploy = await p.cli(['deploy', 'web', '--env', 'production', '--wait']);
    assert.equal(deploy.code, 1, deploy.stdout + deploy.stderr);
    assert.match(deploy.stdout + deploy.stderr, /release 3 of web is an image only this machine has .*: hosts pull images from a registry/);
    assert.match(deploy.stdout + deploy.stderr, /Declare a registry for the environment/);
    const events = JSON.parse((await p.cli(['events', 'web', '--env', 'production', '--json'])).stdout) as {
      events: { type: string; data?: { code?: string } }[];
    };
    assert.equal(events.events.filter((e) => e.type === 'rollout.failed').at(-1)?.data?.code, 'FLEET_UNSUPPORTED');
    for (const u of p.urls()) assert.match((await get(u)).body, /^v2 release=2 /);
  });
});

function hasDocker(): boolean {
  return ['/usr/bin/docker', '/usr/local/bin/docker'].some((b) => existsSync(b));
}
