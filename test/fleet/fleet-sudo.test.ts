/**
 * A fleet logged into as a user other than root (docs/servers.md, "The SSH user"), on 2 real sshd
 * hosts: `deploy` with passwordless sudo (setup creates /var/lib/slipway for it through `sudo -n`;
 * the agent, its router and the instances run as deploy) deploys and rolls a release under load;
 * `plain`, without sudo, is refused the default root with the fix named, and runs everything below
 * a root in its home; `asker`, whose sudo wants a password, gets HOST_ACCESS_DENIED from setup and a
 * failed `user` check saying what to do, and nothing is left half made on the host.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StatusResponse } from '../../src/api/types.js';
import { Fleet } from '../support/fleet/fleet.js';
import { startLoad } from '../support/load.js';
import { get, TestProject } from '../support/project.js';

interface Check {
  name: string;
  status: string;
  detail: string;
  hint?: string;
}
interface HostsJson {
  ok: boolean;
  hosts: { host: string; ok: boolean; error?: { code: string; message: string; hint?: string }; checks: Check[] }[];
}

const skip =
  Fleet.skipReason() ?? (existsSync('/usr/bin/sudo') ? undefined : 'needs sudo on this machine (scripts/install-system-deps.sh sudo)');

describe('a fleet whose SSH user is not root', { skip }, () => {
  let fleet: Fleet;
  const deploy = new TestProject();
  const plain = new TestProject();
  const asker = new TestProject();
  const PLAIN_ROOT = '/home/plain/.slipway';
  const write = (p: TestProject, version: string, ssh: { user?: string; root?: string } = {}) =>
    p.writeConfig({ env: { VERSION: version }, tail: `environments:\n  production:\n${fleet.sshTargetYaml(ssh)}` });
  const answers = async (p: TestProject) =>
    Promise.all(fleet.hosts.map(async (h) => (await get(`http://${h.address}:${p.port}/`)).body.split(' ').slice(0, 2).join(' ')));
  const json = (stdout: string) => JSON.parse(stdout) as HostsJson;
  const check = (body: HostsJson, host: number, name: string) => body.hosts[host]!.checks.find((c) => c.name === name)!;
  /** The user a process on host `h` runs as. */
  const owner = async (h: number, pid: number | string) => (await fleet.inHost(h, ['ps', '-o', 'user=', '-p', String(pid)])).trim();
  const agentPid = async (h: number, root: string) => (await fleet.inHost(h, ['cat', `${root}/run/agent.pid`])).split(' ')[0]!;
  const routerPid = async (h: number, root: string) =>
    (JSON.parse(await fleet.inHost(h, ['cat', `${root}/agent/router/router.json`])) as { pid: number }).pid;

  before(async () => {
    fleet = await Fleet.start({ hosts: 2, user: 'deploy' });
    await fleet.addUser('plain', { sudo: false });
    await fleet.addUser('asker', { sudo: 'password' });
    for (const p of [deploy, plain, asker]) writeFileSync(join(p.dir, 'known_hosts'), fleet.knownHosts());
    await write(deploy, 'v1');
    await write(asker, 'v1', { user: 'asker' });
  });
  after(async () => {
    for (const p of [deploy, plain, asker]) await p.cleanup();
    await fleet?.stop();
  });

  it('deploy, with passwordless sudo: setup makes the root its own, the agent runs as deploy, and a release rolls with no failed request', async () => {
    const checked = await deploy.cli(['hosts', 'check', '--env', 'production', '--json']);
    assert.equal(checked.code, 0, checked.stdout + checked.stderr);
    for (const h of [0, 1]) {
      assert.equal(check(json(checked.stdout), h, 'user').status, 'ok');
      assert.match(
        check(json(checked.stdout), h, 'user').detail,
        /^deploy with passwordless sudo: setup creates \/var\/lib\/slipway for deploy/,
      );
      assert.equal(check(json(checked.stdout), h, 'layout').status, 'warn');
    }
    // Containers as deploy are rootless podman: reported as a runtime only when `podman info` runs for deploy on the host.
    const rootless = (
      await fleet.inHost(0, ['su', '-l', '-s', '/bin/sh', '-c', 'timeout 8 podman info >/dev/null 2>&1 && echo yes || echo no', 'deploy'])
    ).trim();
    const runtime = check(json(checked.stdout), 0, 'runtime').detail;
    if (rootless === 'yes') assert.match(runtime, /, podman [^,;(]+[,;]/);
    else assert.match(runtime, /podman CLI that does not run for deploy \(podman info: .+\)/);
    const setup = await deploy.cli(['hosts', 'setup', '--env', 'production']);
    assert.equal(setup.code, 0, setup.stdout + setup.stderr);
    const up = await deploy.cli(['up', '--env', 'production']);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.deepEqual(await answers(deploy), ['v1 release=1', 'v1 release=1']);
    for (const h of [0, 1]) {
      // The root is deploy's; nothing of Slipway runs as root.
      assert.equal((await fleet.inHost(h, ['stat', '-c', '%U %a', '/var/lib/slipway'])).trim(), 'deploy 755');
      assert.equal(await owner(h, await agentPid(h, '/var/lib/slipway')), 'deploy');
      assert.equal(await owner(h, await routerPid(h, '/var/lib/slipway')), 'deploy');
    }

    await write(deploy, 'v2');
    const loads = fleet.hosts.map((h) => startLoad(`http://${h.address}:${deploy.port}/`, { concurrency: 2, maxMs: 60_000 }));
    const rolled = await deploy.cli(['deploy', 'web', '--env', 'production', '--wait']);
    const results = await Promise.all(loads.map((l) => l.stop()));
    assert.equal(rolled.code, 0, rolled.stdout + rolled.stderr);
    results.forEach((r, i) => {
      assert.deepEqual(r.failures, [], `host ${fleet.hosts[i]!.address}`);
      assert.ok(r.ok > 20, `only ${r.ok} requests to ${fleet.hosts[i]!.address} succeeded`);
    });
    assert.deepEqual(await answers(deploy), ['v2 release=2', 'v2 release=2']);
    const status = JSON.parse((await deploy.cli(['status', '--env', 'production', '--json'])).stdout) as StatusResponse;
    const instances = status.services.find((s) => s.service === 'web')!.instances;
    assert.equal(instances.length, 4);
    for (const i of instances)
      assert.equal(
        await owner(
          fleet.hosts.findIndex((h) => h.address === i.host),
          i.pid!,
        ),
        'deploy',
      );
  });

  it('plain, without sudo: the default root (deploy’s here) is refused with the fix named; below its home it sets up, deploys and rolls', async () => {
    await write(plain, 'v1', { user: 'plain' });
    const checked = await plain.cli(['hosts', 'check', '--env', 'production', '--json']);
    assert.equal(checked.code, 1, checked.stdout + checked.stderr);
    const user = check(json(checked.stdout), 0, 'user');
    assert.equal(user.status, 'fail');
    assert.match(
      user.detail,
      /^plain cannot write \/var\/lib\/slipway \(owned by deploy\) and has no passwordless sudo \(sudo -n: a password is required\)$/,
    );
    assert.match(user.hint!, /set target\.ssh\.root to a directory plain owns \(e\.g\. \/home\/plain\/\.slipway\)/);
    const text = await plain.cli(['hosts', 'check', '--env', 'production']);
    assert.match(text.stderr, /user: plain cannot write \/var\/lib\/slipway/);
    assert.match(text.stderr, /hint: Give plain passwordless sudo .*\/home\/plain\/\.slipway/);
    const refused = await plain.cli(['hosts', 'setup', '--env', 'production', '--json']);
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.equal(json(refused.stdout).hosts[0]!.error?.code, 'HOST_ACCESS_DENIED');
    assert.match(
      json(refused.stdout).hosts[0]!.error!.message,
      /^plain@[\d.]+:22: plain cannot write \/var\/lib\/slipway \(owned by deploy\)$/,
    );

    await write(plain, 'v1', { user: 'plain', root: PLAIN_ROOT });
    const ok = await plain.cli(['hosts', 'check', '--env', 'production', '--json']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(
      check(json(ok.stdout), 0, 'user').detail,
      /^plain without passwordless sudo .*: \/home\/plain\/\.slipway can be created by plain; the agent runs as plain/,
    );
    const setup = await plain.cli(['hosts', 'setup', '--env', 'production']);
    assert.equal(setup.code, 0, setup.stdout + setup.stderr);
    const up = await plain.cli(['up', '--env', 'production']);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.deepEqual(await answers(plain), ['v1 release=1', 'v1 release=1']);
    await write(plain, 'v2', { user: 'plain', root: PLAIN_ROOT });
    const rolled = await plain.cli(['deploy', 'web', '--env', 'production', '--wait']);
    assert.equal(rolled.code, 0, rolled.stdout + rolled.stderr);
    assert.deepEqual(await answers(plain), ['v2 release=2', 'v2 release=2']);
    for (const h of [0, 1]) {
      assert.equal(await owner(h, await agentPid(h, PLAIN_ROOT)), 'plain');
      assert.equal(await owner(h, await routerPid(h, PLAIN_ROOT)), 'plain');
    }
    // deploy's fleet, beside it on the same hosts, was not touched.
    assert.deepEqual(await answers(deploy), ['v2 release=2', 'v2 release=2']);
  });

  it('asker, whose sudo wants a password: hosts check and hosts setup say so and what to do; nothing is made', async () => {
    await asker.writeConfig({
      env: { VERSION: 'v1' },
      tail: `environments:\n  production:\n${fleet.sshTargetYaml({ user: 'asker', root: '/srv/asker' })}`,
    });
    const checked = await asker.cli(['hosts', 'check', '--env', 'production', '--json']);
    assert.equal(checked.code, 1, checked.stdout + checked.stderr);
    for (const h of [0, 1]) {
      const user = check(json(checked.stdout), h, 'user');
      assert.equal(user.status, 'fail');
      assert.match(user.detail, /^asker cannot create \/srv\/asker .*\(sudo -n: a password is required\)$/);
      assert.match(
        user.hint!,
        /^Give asker passwordless sudo \(the line "asker ALL=\(ALL\) NOPASSWD: ALL" in \/etc\/sudoers\.d\/slipway\)/,
      );
      assert.equal(check(json(checked.stdout), h, 'layout').status, 'fail');
    }
    const setup = await asker.cli(['hosts', 'setup', '--env', 'production']);
    assert.equal(setup.code, 1, setup.stdout + setup.stderr);
    assert.match(
      setup.stderr,
      /HOST_ACCESS_DENIED: asker@[\d.]+:22: asker cannot create \/srv\/asker, and has no passwordless sudo to create it \(sudo -n refused: sudo: a password is required\)/,
    );
    assert.match(
      setup.stderr,
      /hint: Give asker passwordless sudo .* or as root create \/srv\/asker and chown it to asker, or set target\.ssh\.root to a directory asker owns \(e\.g\. \/home\/asker\/\.slipway\)/,
    );
    assert.match(setup.stderr, /2 of 2 host\(s\) failed setup/);
    for (const h of [0, 1]) assert.equal((await fleet.inHost(h, ['sh', '-c', 'test -e /srv/asker && echo yes || echo no'])).trim(), 'no');
  });
  it('a service port below 1024 fails the ports check for deploy (the agent and router run as deploy), with what to do', async () => {
    const low = new TestProject();
    try {
      low.port = 80;
      writeFileSync(join(low.dir, 'known_hosts'), fleet.knownHosts());
      await write(low, 'v1');
      const checked = await low.cli(['hosts', 'check', '--env', 'production']);
      assert.equal(checked.code, 1, checked.stdout + checked.stderr);
      assert.match(checked.stderr, /ports: port 80 \(service web\) is below 1024: the agent runs as deploy, who may not listen on it/);
      assert.match(checked.stderr, /hint: Give the service a port of 1024 or above .*sysctl net\.ipv4\.ip_unprivileged_port_start=80/);
    } finally {
      await low.cleanup();
    }
  });
});
