/**
 * The host agent as a systemd unit (ADR 0026) on hosts where systemd is PID 1 (the harness's
 * systemd mode) and that do not see this checkout: `hosts setup` installs and enables the unit;
 * after a host crashes and boots with no controller running, the unit starts the agent, which
 * restarts the instances it recorded and the router from its saved routes, so the host serves its
 * last release again, checked over HTTP to the host.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cp, appendFile } from 'node:fs/promises';
import { tempDir } from '../../src/artifact/artifact-testing.js';
import { pidAlive } from '../../src/core/process.js';
import { AgentClient } from '../../src/fleet/agent/agent-client.js';
import { AGENT_BUNDLE_DIR, agentBundle } from '../../src/fleet/agent/agent-bundle.js';
import { SshPool } from '../../src/ssh/pool.js';
import { Ssh2Transport } from '../../src/ssh/ssh2-host.js';
import { waitFor } from '../../src/core/wait-for.js';
import { FleetProject } from '../support/fleet/fleet-project.js';
import { get } from '../support/project.js';

const ROOT = '/var/lib/slipway';
const UNIT = 'slipway-agent-var-lib-slipway.service';

describe('the host agent as a systemd unit', { skip: FleetProject.skipReason({ init: 'systemd' }) }, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  const p = new FleetProject({ hosts: 2, init: 'systemd', checkout: false });
  const pool = new SshPool(new Ssh2Transport());
  const unit = async (i: number, prop: string) => (await p.fleet.inHost(i, ['systemctl', 'show', '-p', prop, '--value', UNIT])).trim();

  before(async () => {
    await p.start();
    work = await tempDir('slipway-agent-systemd-');
    await p.writeConfig({ env: { VERSION: 'v1' } });
  });
  after(async () => {
    await pool.closeAll();
    await p.stop();
    await work?.cleanup();
  });

  it('hosts setup installs the agent as an enabled unit with Restart=always; a deploy serves through it', async () => {
    const setup = await p.cli(['hosts', 'setup', '--env', 'production', '--json']);
    assert.equal(setup.code, 0, setup.stderr + setup.stdout);
    const agent = (JSON.parse(setup.stdout) as { hosts: { checks: { name: string; detail: string }[] }[] }).hosts[0]!.checks.find(
      (c) => c.name === 'agent',
    )!;
    assert.match(agent.detail, new RegExp(`systemd unit ${UNIT.replaceAll('.', '\\.')}: started`));
    for (const i of [0, 1]) {
      assert.equal((await p.fleet.inHost(i, ['systemctl', 'is-enabled', UNIT])).trim(), 'enabled');
      assert.equal(await unit(i, 'Restart'), 'always');
      const install = JSON.parse(await p.fleet.inHost(i, ['cat', `${ROOT}/agent/install.json`])) as { mode: string; entry: string };
      assert.equal(install.mode, 'systemd');
      const main = Number(await unit(i, 'MainPID'));
      assert.deepEqual((await p.fleet.inHost(i, ['cat', `/proc/${main}/cmdline`])).split('\0').filter(Boolean).slice(1), [
        install.entry,
        '--root',
        ROOT,
      ]);
    }
    await p.ok(['up', '--env', 'production']);
    assert.deepEqual(await p.answers(), ['v1 release=1', 'v1 release=1']);
  });

  it('hosts setup upgrades an agent of another version through its unit: same instances and router', async () => {
    // Another version: this bundle with one byte more, installed and started as `hosts setup` would.
    const dir = join(work.dir, 'other-agent');
    await cp(AGENT_BUNDLE_DIR, dir, { recursive: true, force: true });
    await appendFile(join(dir, 'agent-main.js'), '\n// another version\n');
    const target = {
      host: p.fleet.hosts[0]!.address,
      port: 22,
      user: 'root',
      identityFile: p.fleet.keyFile,
      knownHosts: join(p.dir, 'known_hosts'),
    };
    const other = await new AgentClient(() => pool.get(target), ROOT, {
      bundle: () => agentBundle(join(work.dir, 'store'), dir),
    }).ensureCurrent();
    assert.equal(other!.outcome, 'upgraded');
    assert.equal(Number(await unit(0, 'MainPID')), other!.hello.pid);
    const instances = async () =>
      (await p.fleet.inHost(0, ['sh', '-c', `cat ${ROOT}/agent/driver/instances.json`])).match(/"pid":\s*\d+/g)!.sort();
    const before = await instances();
    const router = await p.fleet.inHost(0, ['cat', `${ROOT}/agent/router/router.json`]);

    const setup = await p.cli(['hosts', 'setup', '--env', 'production', '--json']);
    assert.equal(setup.code, 0, setup.stderr + setup.stdout);
    const agent = (JSON.parse(setup.stdout) as { hosts: { checks: { name: string; detail: string }[] }[] }).hosts[0]!.checks.find(
      (c) => c.name === 'agent',
    )!;
    const main = Number(await unit(0, 'MainPID'));
    assert.match(agent.detail, new RegExp(`upgraded \\(agent pid ${other!.hello.pid} replaced by ${main}\\)`));
    assert.notEqual(
      other!.installed.entry,
      (JSON.parse(await p.fleet.inHost(0, ['cat', `${ROOT}/agent/install.json`])) as { entry: string }).entry,
    );
    assert.deepEqual(await instances(), before);
    assert.equal(JSON.parse(await p.fleet.inHost(0, ['cat', `${ROOT}/agent/router/router.json`])).pid, JSON.parse(router).pid);
    assert.equal(await p.answer(0), 'v1 release=1');
  });

  it('after a crash and boot with no controller running, the host serves its last release again', async () => {
    const controller = p.controllerPid();
    process.kill(controller, 'SIGTERM');
    await waitFor('the controller to exit', () => !pidAlive(controller), 20_000, 50);
    const before = (await p.fleet.inHost(0, ['cat', `${ROOT}/agent/driver/instances.json`])).length;
    assert.ok(before > 0);

    await p.fleet.crash(0);
    await assert.rejects(get(p.urls()[0]!), 'the host is down');
    await p.fleet.boot(0);
    // Nothing of Slipway runs on this machine now: only the host's systemd can bring the agent back.
    assert.equal(pidAlive(controller), false);
    const served = await waitFor(
      'host 1 to serve release 1 after its boot',
      async () => {
        const a = await p.answer(0).catch(() => undefined);
        return a === 'v1 release=1' && a;
      },
      30_000,
      100,
    );
    assert.equal(served, 'v1 release=1');
    assert.equal(await unit(0, 'ActiveState'), 'active');
    assert.equal(await p.answer(1), 'v1 release=1', 'the other host never stopped serving');
  });
});
