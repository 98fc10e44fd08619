/**
 * The docker path on a host: a host with docker and no podman runs an image release's containers
 * with the docker client. There is no Docker engine on these machines, only the `docker` client;
 * the host's engine is podman's Docker-compatible API service (`fleet.dockerOnly`), so this is a
 * real docker CLI against a real Docker API, with podman hidden from the agent. Beside it, a host
 * with both podman and docker runs podman (the preferred one). An image release is pulled by
 * digest on both and rolled under load with zero failed requests; status names each runtime.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StatusResponse } from '../../src/api/types.js';
import { waitFor } from '../../src/core/wait-for.js';
import { Fleet } from '../support/fleet/fleet.js';
import { startLoad } from '../support/load.js';
import { podmanScratch, podmanSkipReason, type PodmanScratch } from '../support/podman-scratch.js';
import { freePort, get, TestProject } from '../support/project.js';
import { FIXTURE } from '../containers/image-project.js';

const skip =
  Fleet.skipReason() ??
  podmanSkipReason() ??
  (existsSync('/usr/bin/docker-registry') ? undefined : 'needs docker-registry (scripts/install-system-deps.sh)') ??
  (hasDocker() ? undefined : 'needs the docker client (scripts/install-system-deps.sh)');

describe('a docker host (docker CLI against a Docker-compatible API service) runs image releases', { skip }, () => {
  let fleet: Fleet;
  let scratch: PodmanScratch;
  let registry: ChildProcess | undefined;
  let regUrl: string;
  const p = new TestProject();
  const cli = (args: string[]) => p.cli(args, { env: scratch.env, timeoutMs: 180_000 });
  const urls = () => fleet.hosts.map((h) => `http://${h.address}:${p.port}/`);
  const status = async () =>
    (JSON.parse((await cli(['status', '--env', 'production', '--json'])).stdout) as StatusResponse).services.find(
      (s) => s.service === 'web',
    )!;
  const write = (version: string, registryLine = `registry: { url: "${regUrl}", insecure: true }`) =>
    writeFileSync(
      join(p.dir, 'slipway.yaml'),
      `app: test
services:
  web:
    image: { build: ./web }
    instances: 2
    port: ${p.port}
    env:
      VERSION: "${version}"
    health: { path: /healthz, interval: 200ms, timeout: 1s, healthyAfter: 1, unhealthyAfter: 2 }
    stopTimeout: 5s
${registryLine}
environments:
  production:
${fleet.sshTargetYaml()}`,
    );

  before(async () => {
    fleet = await Fleet.start({ hosts: 2, containers: true });
    await fleet.dockerOnly(0);
    await fleet.dockerEngine(1); // podman and a working docker: the agent prefers podman
    scratch = podmanScratch();
    writeFileSync(join(p.dir, 'known_hosts'), fleet.knownHosts());
    const regDir = join(scratch.dir, 'registry');
    mkdirSync(join(regDir, 'data'), { recursive: true });
    regUrl = `${fleet.gateway}:${await freePort()}`;
    writeFileSync(
      join(regDir, 'config.yml'),
      `version: 0.1\nlog: {level: warn}\nstorage: {filesystem: {rootdirectory: ${regDir}/data}}\nhttp: {addr: "${regUrl}", secret: test-only}\n`,
    );
    registry = spawn('docker-registry', ['serve', join(regDir, 'config.yml')], { stdio: 'ignore' });
    await waitFor('the registry', async () => (await get(`http://${regUrl}/v2/`)).status === 200, 10_000);
    p.port = await freePort();
    scratch.writeContext(join(p.dir, 'web'), { '/app/server.js': readFileSync(FIXTURE, 'utf8') });
    write('v1');
  });
  after(async () => {
    await p.cleanup();
    await fleet?.stop();
    if (registry?.pid) registry.kill('SIGTERM');
    scratch?.teardown();
  });

  it('pulls the digest with docker, serves it, rolls a new image under load with zero failed requests; status says docker', async () => {
    const up = await cli(['up', '--env', 'production']);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    for (const u of urls()) assert.match((await get(u)).body, /^v1 release=1 /);
    write('v2');
    writeFileSync(join(p.dir, 'web/rootfs/app/VERSION'), 'v2\n');
    const loads = urls().map((u) => startLoad(u, { concurrency: 2, maxMs: 120_000 }));
    const deploy = await cli(['deploy', 'web', '--env', 'production', '--wait']);
    const results = await Promise.all(loads.map((l) => l.stop()));
    assert.equal(deploy.code, 0, deploy.stderr + deploy.stdout);
    results.forEach((r, i) => {
      assert.deepEqual(r.failures, [], fleet.hosts[i]!.name);
      assert.ok(r.bodies.has('v1 release=1') && r.bodies.has('v2 release=2'), `both releases answered on ${fleet.hosts[i]!.name}`);
    });
    const web = await status();
    assert.deepEqual(
      web.hosts?.map((h) => [h.release, h.serving, h.health, h.runtime]),
      [
        [2, 2, 'healthy', 'docker'],
        [2, 2, 'healthy', 'podman'],
      ],
    );
    // The containers are the engine's, started by the docker client, of the release's digest; their output reaches the logs.
    const ref = web.runtime!.image!;
    const ps = await fleet.inHost(0, ['docker', 'ps', '--format', '{{.Image}}', '--filter', 'label=io.slipway.release=2']);
    assert.deepEqual(ps.trim().split('\n'), [ref.split('@')[0], ref.split('@')[0]]);
    const pulled = await fleet.inHost(0, ['docker', 'images', '--digests', '--format', '{{.Repository}}@{{.Digest}}']);
    assert.ok(pulled.split('\n').includes(ref), `docker on ${fleet.hosts[0]!.name} has ${ref}: ${pulled}`);
    // The docker host's instances' output reached their log files through `docker logs -f`.
    for (const i of web.instances.filter((x) => x.host === fleet.hosts[0]!.address)) {
      const log = await fleet.inHost(0, ['cat', `/var/lib/slipway/agent/driver/containers/logs/${i.id}.out.log`]);
      assert.match(log, /listening on \d+ as v2/, i.id);
    }
  });

  it('an image only this machine has (no registry declared) is refused at once with FLEET_UNSUPPORTED; the hosts keep serving', async () => {
    write('v3', '');
    const deploy = await cli(['deploy', 'web', '--env', 'production', '--wait']);
    assert.equal(deploy.code, 1, deploy.stdout + deploy.stderr);
    assert.match(deploy.stdout + deploy.stderr, /release 3 of web is an image only this machine has .*: hosts pull images from a registry/);
    assert.match(deploy.stdout + deploy.stderr, /Declare a registry for the environment/);
    const events = JSON.parse((await cli(['events', 'web', '--env', 'production', '--json'])).stdout) as {
      events: { type: string; data?: { code?: string } }[];
    };
    assert.equal(events.events.filter((e) => e.type === 'rollout.failed').at(-1)?.data?.code, 'FLEET_UNSUPPORTED');
    for (const u of urls()) assert.match((await get(u)).body, /^v2 release=2 /);
  });
});

function hasDocker(): boolean {
  return ['/usr/bin/docker', '/usr/local/bin/docker'].some((b) => existsSync(b));
}
