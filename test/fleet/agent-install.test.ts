/**
 * Installing Slipway's host agent (ADR 0026) on hosts that do not see this checkout, as real
 * servers: `hosts check` and `hosts setup` say what to do when the host has no Node; `hosts setup`
 * ships the agent's bundle content-addressed (a host that has it gets nothing) and the agent, its
 * router and log writers run from the host's `releases/<digest>/`, never from this machine's
 * paths; an agent of another version is replaced by `hosts setup`, and by the first deploy, with
 * the same instance and router processes and no failed request under load.
 */
import assert from 'node:assert/strict';
import { cp, appendFile } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StatusResponse } from '../../src/api/types.js';
import { tempDir } from '../../src/artifact/artifact-testing.js';
import { waitFor } from '../../src/core/wait-for.js';
import { AgentClient } from '../../src/fleet/agent/agent-client.js';
import { AGENT_BUNDLE_DIR, agentBundle } from '../../src/fleet/agent/agent-bundle.js';
import { SshPool } from '../../src/ssh/pool.js';
import { Ssh2Transport } from '../../src/ssh/ssh2-host.js';
import { Fleet } from '../support/fleet/fleet.js';
import { startLoad } from '../support/load.js';
import { get, TestProject } from '../support/project.js';

const ROOT = '/var/lib/slipway';

describe('installing the host agent on hosts without this checkout', { skip: Fleet.skipReason() }, () => {
  let fleet: Fleet;
  let work: Awaited<ReturnType<typeof tempDir>>;
  const p = new TestProject();
  const pool = new SshPool(new Ssh2Transport());
  const url = () => `http://${fleet.hosts[0]!.address}:${p.port}/`;
  const status = async () => JSON.parse((await p.cli(['status', '--env', 'production', '--json'])).stdout) as StatusResponse;
  const web = async () => (await status()).services.find((s) => s.service === 'web')!;
  const onHost = (argv: string[]) => fleet.inHost(0, argv);
  const installJson = async () =>
    JSON.parse(await onHost(['cat', `${ROOT}/agent/install.json`])) as { agent: string; entry: string; mode: string };
  const agentPid = async () => Number((await onHost(['cat', `${ROOT}/run/agent.pid`])).split(' ')[0]);
  const routerPid = async () => (JSON.parse(await onHost(['cat', `${ROOT}/agent/router/router.json`])) as { pid: number }).pid;
  const cmdline = async (pid: number) => (await onHost(['cat', `/proc/${pid}/cmdline`])).split('\0').filter(Boolean);

  /** Puts an agent of another version on the host: this bundle with one byte more, installed and started as `hosts setup` would. */
  async function installOtherVersion(): Promise<string> {
    const dir = join(work.dir, 'other-agent');
    await cp(AGENT_BUNDLE_DIR, dir, { recursive: true, force: true });
    await appendFile(join(dir, 'agent-main.js'), `\n// another version ${Date.now()}\n`);
    const known = join(work.dir, 'known_hosts');
    writeFileSync(known, fleet.knownHosts());
    const target = { host: fleet.hosts[0]!.address, port: 22, user: 'root', identityFile: fleet.keyFile, knownHosts: known };
    const client = new AgentClient(() => pool.get(target), ROOT, { bundle: () => agentBundle(join(work.dir, 'store'), dir) });
    const state = (await client.ensureCurrent())!;
    return state.installed.agent;
  }

  before(async () => {
    fleet = await Fleet.start({ hosts: 2, checkout: false });
    work = await tempDir('slipway-agent-install-');
    writeFileSync(join(p.dir, 'known_hosts'), fleet.knownHosts());
    await p.writeConfig({ env: { VERSION: 'v1' }, tail: `environments:\n  production:\n${fleet.sshTargetYaml()}` });
  });
  after(async () => {
    await pool.closeAll();
    await p.cleanup();
    await fleet?.stop();
    await work?.cleanup();
  });

  it('without Node on the host, hosts check fails its runtime and hosts setup says to install Node 20+', async () => {
    // The host sees neither this checkout nor (once moved aside) the machine's Node.
    assert.equal((await onHost(['sh', '-c', `test -e ${JSON.stringify(AGENT_BUNDLE_DIR)} && echo yes || echo no`])).trim(), 'no');
    await onHost(['mv', '/usr/bin/node', '/usr/bin/node.away']);
    try {
      const check = await p.cli(['hosts', 'check', '--env', 'production', '--json']);
      assert.equal(check.code, 1, check.stdout + check.stderr);
      const runtime = (
        JSON.parse(check.stdout) as { hosts: { checks: { name: string; status: string; detail: string }[] }[] }
      ).hosts[0]!.checks.find((c) => c.name === 'runtime')!;
      assert.equal(runtime.status, 'fail');
      assert.match(runtime.detail, /needs Node 20 or later/);
      const setup = await p.cli(['hosts', 'setup', '--env', 'production']);
      assert.equal(setup.code, 1, setup.stdout + setup.stderr);
      assert.match(setup.stdout + setup.stderr, /AGENT_UNAVAILABLE/);
      assert.match(setup.stdout + setup.stderr, /has no Node/);
    } finally {
      await onHost(['mv', '/usr/bin/node.away', '/usr/bin/node']);
    }
  });

  it('hosts setup installs the agent from its bundle; the agent and a deploy run from the host’s releases/, and a second setup sends nothing', async () => {
    const setup = await p.cli(['hosts', 'setup', '--env', 'production']);
    assert.equal(setup.code, 0, setup.stderr + setup.stdout);
    const installed = await installJson();
    assert.equal(installed.mode, 'plain');
    assert.equal(installed.entry, `${ROOT}/releases/${installed.agent.slice(7)}/agent-main.js`);
    assert.deepEqual((await cmdline(await agentPid())).slice(1), [installed.entry, '--root', ROOT]);

    const up = await p.cli(['up', '--env', 'production']);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    assert.equal((await get(url())).body.split(' ').slice(0, 2).join(' '), 'v1 release=1');
    // The router daemon, too, is the installed one.
    assert.equal((await cmdline(await routerPid()))[1], `${ROOT}/releases/${installed.agent.slice(7)}/main.js`);

    const pid = await agentPid();
    const again = await p.cli(['hosts', 'setup', '--env', 'production', '--json']);
    assert.equal(again.code, 0, again.stderr + again.stdout);
    const agent = (JSON.parse(again.stdout) as { hosts: { checks: { name: string; detail: string }[] }[] }).hosts[0]!.checks.find(
      (c) => c.name === 'agent',
    )!;
    assert.match(agent.detail, new RegExp(`running \\(pid ${pid}\\)`));
    assert.equal(await agentPid(), pid);
  });

  it('hosts setup replaces an agent of another version: same instances and router, no failed request', async () => {
    const current = (await installJson()).agent;
    const other = await installOtherVersion();
    assert.notEqual(other, current);
    assert.equal((await installJson()).agent, other);
    const before = (await web()).instances.map((i) => [i.id, i.pid, i.restarts]);
    const router = await routerPid();
    const oldAgent = await agentPid();

    const load = startLoad(url(), { concurrency: 2, maxMs: 60_000 });
    const setup = await p.cli(['hosts', 'setup', '--env', 'production', '--json']);
    const result = await load.stop();
    assert.equal(setup.code, 0, setup.stderr + setup.stdout);
    const agent = (JSON.parse(setup.stdout) as { hosts: { checks: { name: string; detail: string }[] }[] }).hosts[0]!.checks.find(
      (c) => c.name === 'agent',
    )!;
    assert.match(agent.detail, new RegExp(`upgraded \\(agent pid ${oldAgent} replaced by ${await agentPid()}\\)`));
    assert.deepEqual(result.failures, []);
    assert.ok(result.ok > 20, `only ${result.ok} requests succeeded`);
    assert.equal((await installJson()).agent, current);
    assert.notEqual(await agentPid(), oldAgent);
    assert.equal(await routerPid(), router, 'the router was not restarted');
    const after = await waitFor('the host to be followed again', async () => {
      const w = await web();
      return w.hosts?.[0]?.reachable === true && w.instances.length === before.length && w.instances;
    });
    assert.deepEqual(
      after.map((i) => [i.id, i.pid, i.restarts]),
      before,
    );
  });

  it('the first deploy after that replaces an agent of another version before it rolls, with no failed request', async () => {
    const current = (await installJson()).agent;
    await installOtherVersion();
    const oldAgent = await agentPid();
    await p.writeConfig({ env: { VERSION: 'v2' }, tail: `environments:\n  production:\n${fleet.sshTargetYaml()}` });
    const load = startLoad(url(), { concurrency: 2, maxMs: 60_000 });
    const deploy = await p.cli(['deploy', 'web', '--env', 'production', '--wait']);
    const result = await load.stop();
    assert.equal(deploy.code, 0, deploy.stderr + deploy.stdout);
    assert.deepEqual(result.failures, []);
    assert.equal((await installJson()).agent, current);
    assert.notEqual(await agentPid(), oldAgent);
    assert.equal((await get(url())).body.split(' ').slice(0, 2).join(' '), 'v2 release=2');
  });
});
