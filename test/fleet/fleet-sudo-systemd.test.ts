/**
 * A non-root SSH user on a host where systemd is PID 1 (the harness's systemd mode, without this
 * checkout): `deploy`, with passwordless sudo, gets the agent's system unit installed through
 * `sudo -n` with `User=deploy`; after a crash and boot with no controller running, systemd starts
 * the agent as deploy and the host serves its last release. `plain`, without sudo, gets the agent
 * run without a unit, and setup says so (`warn`), below a root in its home.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pidAlive } from '../../src/core/process.js';
import { waitFor } from '../../src/core/wait-for.js';
import { Fleet } from '../support/fleet/fleet.js';
import { get, TestProject } from '../support/project.js';

const ROOT = '/var/lib/slipway';
const UNIT = 'slipway-agent-var-lib-slipway.service';
const skip =
  Fleet.skipReason({ init: 'systemd' }) ??
  (existsSync('/usr/bin/sudo') ? undefined : 'needs sudo on this machine (scripts/install-system-deps.sh sudo)');

interface HostsJson {
  hosts: { checks: { name: string; status: string; detail: string }[] }[];
}

describe('a non-root SSH user on a systemd host', { skip }, () => {
  let fleet: Fleet;
  const p = new TestProject();
  const q = new TestProject();
  const answer = async (t: TestProject) =>
    (await get(`http://${fleet.hosts[0]!.address}:${t.port}/`)).body.split(' ').slice(0, 2).join(' ');
  const unit = async (prop: string) => (await fleet.inHost(0, ['systemctl', 'show', '-p', prop, '--value', UNIT])).trim();
  const owner = async (pid: number | string) => (await fleet.inHost(0, ['ps', '-o', 'user=', '-p', String(pid)])).trim();

  before(async () => {
    fleet = await Fleet.start({ hosts: 1, init: 'systemd', checkout: false, user: 'deploy' });
    await fleet.addUser('plain', { sudo: false });
    for (const t of [p, q]) writeFileSync(join(t.dir, 'known_hosts'), fleet.knownHosts());
    await p.writeConfig({ env: { VERSION: 'v1' }, tail: `environments:\n  production:\n${fleet.sshTargetYaml()}` });
    await q.writeConfig({
      env: { VERSION: 'v1' },
      tail: `environments:\n  production:\n${fleet.sshTargetYaml({ user: 'plain', root: '/home/plain/.slipway' })}`,
    });
  });
  after(async () => {
    await p.cleanup();
    await q.cleanup();
    await fleet?.stop();
  });

  it('deploy with sudo: the unit runs the agent as deploy, and after a boot with no controller the host serves again', async () => {
    const setup = await p.cli(['hosts', 'setup', '--env', 'production', '--json']);
    assert.equal(setup.code, 0, setup.stderr + setup.stdout);
    const checks = (JSON.parse(setup.stdout) as HostsJson).hosts[0]!.checks;
    assert.match(
      checks.find((c) => c.name === 'user')!.detail,
      /^deploy with passwordless sudo: .* and installs the agent's systemd unit through sudo -n/,
    );
    assert.match(checks.find((c) => c.name === 'agent')!.detail, new RegExp(`systemd unit ${UNIT.replaceAll('.', '\\.')}: started`));
    const install = JSON.parse(await fleet.inHost(0, ['cat', `${ROOT}/agent/install.json`])) as { mode: string; sudo?: boolean };
    assert.deepEqual([install.mode, install.sudo], ['systemd', true]);
    assert.equal(await unit('User'), 'deploy');
    assert.equal(await owner(await unit('MainPID')), 'deploy');
    const up = await p.cli(['up', '--env', 'production']);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    assert.equal(await answer(p), 'v1 release=1');

    const controller = p.controllerPid();
    process.kill(controller, 'SIGTERM');
    await waitFor('the controller to exit', () => !pidAlive(controller), 20_000, 50);
    await fleet.crash(0);
    await fleet.boot(0);
    const served = await waitFor(
      'the host to serve release 1 after its boot',
      async () => {
        const a = await answer(p).catch(() => undefined);
        return a === 'v1 release=1' && a;
      },
      30_000,
      100,
    );
    assert.equal(served, 'v1 release=1');
    assert.equal(pidAlive(controller), false);
    assert.equal(await owner(await unit('MainPID')), 'deploy');
  });

  it('plain without sudo: the agent runs without a unit, as plain, and setup says so', async () => {
    const setup = await q.cli(['hosts', 'setup', '--env', 'production', '--json']);
    assert.equal(setup.code, 0, setup.stderr + setup.stdout);
    const checks = (JSON.parse(setup.stdout) as HostsJson).hosts[0]!.checks;
    const user = checks.find((c) => c.name === 'user')!;
    assert.equal(user.status, 'warn');
    assert.match(user.detail, /the agent runs as plain, without a systemd unit/);
    const agent = checks.find((c) => c.name === 'agent')!;
    assert.equal(agent.status, 'warn');
    assert.match(agent.detail, /started detached \(no systemd unit\).*systemd runs, but plain is not root and has no passwordless sudo/);
    const pid = (await fleet.inHost(0, ['cat', '/home/plain/.slipway/run/agent.pid'])).split(' ')[0]!;
    assert.equal(await owner(pid), 'plain');
    const up = await q.cli(['up', '--env', 'production']);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    assert.equal(await answer(q), 'v1 release=1');
  });
});
