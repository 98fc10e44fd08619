/**
 * `slipway hosts` names a container runtime only when it answers: on 2 real sshd hosts, each with
 * a FAKE `docker` script first on PATH (a shell script, not Docker): on h1 its `info` fails as a
 * docker client without an engine does, on h2 it succeeds. h1 is listed and checked as "docker
 * CLI without an engine" with the client's error, and never as a host that runs containers with
 * docker; h2 as docker.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Fleet } from '../support/fleet/fleet.js';
import { TestProject } from '../support/project.js';

/** The fake docker: `--version` like the real client; `info` fails (no engine) unless FAKE_ENGINE is 1. */
const fakeDocker = (engine: boolean) => `#!/bin/sh
# FAKE docker for test/fleet/hosts-runtime.test.ts: not Docker.
case "$1" in
  --version) echo "Docker version 28.2.2, build fake"; exit 0 ;;
  info) ${engine ? 'echo "Server Version: 28.2.2"; exit 0' : 'echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1'} ;;
  *) exit 1 ;;
esac
`;

interface HostsJson {
  hosts: {
    runtime?: { docker?: string; podman?: string; containers?: string; unanswered?: { docker?: string; podman?: string } };
    checks: { name: string; status: string; detail: string }[];
  }[];
}

describe('slipway hosts reports a container runtime only when it answers', { skip: Fleet.skipReason() }, () => {
  let fleet: Fleet;
  const p = new TestProject();

  before(async () => {
    fleet = await Fleet.start({ hosts: 2 });
    for (const h of fleet.hosts) {
      const script = fakeDocker(h.index === 1);
      // Before the machine's /usr/bin and /usr/local/bin on every PATH (root's and a login's): /usr/local/bin, in the host's own root.
      await fleet.inHost(h, ['sh', '-c', 'printf "%s" "$1" > /usr/local/bin/docker && chmod 0755 /usr/local/bin/docker', 'fake', script]);
      // Podman hidden on both (a command that is not there), so only the fake docker is in question.
      await fleet.inHost(h, ['rm', '-f', '/usr/bin/podman']);
    }
    writeFileSync(join(p.dir, 'known_hosts'), fleet.knownHosts());
    await p.writeConfig({ tail: `environments:\n  production:\n${fleet.sshTargetYaml()}` });
  });
  after(async () => {
    await p.cleanup();
    await fleet?.stop();
  });

  it('a docker client without an engine is named so, with its error; one whose engine answers is docker', async () => {
    const list = await p.cli(['hosts', '--env', 'production', '--json']);
    assert.equal(list.code, 0, list.stdout + list.stderr);
    const [noEngine, withEngine] = (JSON.parse(list.stdout) as HostsJson).hosts;
    assert.equal(noEngine!.runtime?.docker, undefined);
    assert.equal(noEngine!.runtime?.containers, undefined);
    assert.match(noEngine!.runtime!.unanswered!.docker!, /^Cannot connect to the Docker daemon/);
    assert.equal(withEngine!.runtime?.docker, 'Docker version 28.2.2, build fake');
    assert.equal(withEngine!.runtime?.containers, 'docker');
    assert.equal(withEngine!.runtime?.unanswered, undefined);

    const text = await p.cli(['hosts', '--env', 'production']);
    const rows = text.stdout.split('\n');
    assert.match(
      rows.find((r) => r.includes(fleet.hosts[0]!.address))!,
      /node,docker CLI without an engine(\s|$)/,
    );
    assert.match(
      rows.find((r) => r.includes(fleet.hosts[1]!.address))!,
      /node,docker \(containers: docker\)/,
    );

    const check = await p.cli(['hosts', 'check', '--env', 'production', '--json']);
    const runtime = (JSON.parse(check.stdout) as HostsJson).hosts.map((h) => h.checks.find((c) => c.name === 'runtime')!);
    assert.equal(runtime[0]!.status, 'ok', 'Node is what the agent needs');
    assert.match(runtime[0]!.detail, /docker CLI without an engine \(docker info: Cannot connect to the Docker daemon/);
    assert.match(runtime[1]!.detail, /docker Docker version 28\.2\.2, build fake/);
  });
});
