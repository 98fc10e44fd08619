/**
 * Installing Slipway's host agent (ADR 0026) on hosts that do not see this checkout, as real
 * servers: `hosts check` and `hosts setup` say what to do when the host has no Node; `hosts setup`
 * ships the agent's bundle content-addressed (a host that has it gets nothing) and the agent, its
 * router and log writers run from the host's `releases/<digest>/`, never from this machine's
 * paths; an agent of another version is replaced by `hosts setup`, and by the first deploy, with
 * the same instance and router processes and no failed request under load.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cp, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../../src/artifact/artifact-testing.js';
import { projectPaths } from '../../src/controller/paths.js';
import { waitFor } from '../../src/core/wait-for.js';
import { AgentClient } from '../../src/fleet/agent/agent-client.js';
import { AGENT_BUNDLE_DIR, agentBundle } from '../../src/fleet/agent/agent-bundle.js';
import { SshPool } from '../../src/ssh/pool.js';
import { Ssh2Transport } from '../../src/ssh/ssh2-host.js';
import { FleetProject } from '../support/fleet/fleet-project.js';
import { startLoad } from '../support/load.js';

const ROOT = '/var/lib/slipway';

describe('installing the host agent on hosts without this checkout', { skip: FleetProject.skipReason() }, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  const p = new FleetProject({ hosts: 2, checkout: false });
  const pool = new SshPool(new Ssh2Transport());
  const url = () => p.urls()[0]!;
  const onHost = (argv: string[]) => p.fleet.inHost(0, argv);
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
    const { address: host } = p.fleet.hosts[0]!;
    const target = { host, port: 22, user: 'root', identityFile: p.fleet.keyFile, knownHosts: join(p.dir, 'known_hosts') };
    const client = new AgentClient(() => pool.get(target), ROOT, { bundle: () => agentBundle(join(work.dir, 'store'), dir) });
    const state = (await client.ensureCurrent())!;
    return state.installed.agent;
  }

  before(async () => {
    await p.start();
    work = await tempDir('slipway-agent-install-');
    await p.writeConfig({ env: { VERSION: 'v1' } });
  });
  after(async () => {
    await pool.closeAll();
    await p.stop();
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
    await p.ok(['hosts', 'setup', '--env', 'production']);
    const installed = await installJson();
    assert.equal(installed.mode, 'plain');
    assert.equal(installed.entry, `${ROOT}/releases/${installed.agent.slice(7)}/agent-main.js`);
    assert.deepEqual((await cmdline(await agentPid())).slice(1), [installed.entry, '--root', ROOT]);

    await p.ok(['up', '--env', 'production']);
    assert.equal(await p.answer(0), 'v1 release=1');
    // The router daemon, too, is the installed one.
    assert.equal((await cmdline(await routerPid()))[1], `${ROOT}/releases/${installed.agent.slice(7)}/main.js`);

    const pid = await agentPid();
    const again = await p.ok(['hosts', 'setup', '--env', 'production', '--json']);
    const agent = (JSON.parse(again.stdout) as { hosts: { checks: { name: string; detail: string }[] }[] }).hosts[0]!.checks.find(
      (c) => c.name === 'agent',
    )!;
    assert.match(agent.detail, new RegExp(`running \\(pid ${pid}\\)`));
    assert.equal(await agentPid(), pid);
  });

  it('a deploy to hosts whose agent is current asks the agent alone (its hello), running none of the install commands', async () => {
    // Every remote command is in the controller's log, with its host (ssh2-host.ts); the install reads install.json.
    const log = projectPaths(p.dir).controllerLog;
    const installCommands = (from: number) =>
      readFileSync(log, 'utf8')
        .slice(from)
        .split('\n')
        .filter((l) => /ssh \S+ exit=/.test(l) && l.includes(`${ROOT}/agent/install.json`));
    const start = readFileSync(log, 'utf8').length;
    const pid = await agentPid();
    await p.writeConfig({ env: { VERSION: 'v1', AGAIN: '1' } });
    await p.ok(['deploy', 'web', '--env', 'production', '--wait']);
    assert.deepEqual(installCommands(start), [], 'no install command');
    assert.equal(await agentPid(), pid, 'the same agent');
    assert.equal(await p.answer(0), 'v1 release=2');
  });

  it('hosts setup replaces an agent of another version: same instances and router, no failed request', async () => {
    const current = (await installJson()).agent;
    const other = await installOtherVersion();
    assert.notEqual(other, current);
    assert.equal((await installJson()).agent, other);
    const before = (await p.web()).instances.map((i) => [i.id, i.pid, i.restarts]);
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
      const w = await p.web();
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
    await p.writeConfig({ env: { VERSION: 'v2' } });
    const load = startLoad(url(), { concurrency: 2, maxMs: 60_000 });
    const deploy = await p.cli(['deploy', 'web', '--env', 'production', '--wait']);
    const result = await load.stop();
    assert.equal(deploy.code, 0, deploy.stderr + deploy.stdout);
    assert.deepEqual(result.failures, []);
    assert.equal((await installJson()).agent, current);
    assert.notEqual(await agentPid(), oldAgent);
    assert.equal(await p.answer(0), 'v2 release=3');
  });
});
