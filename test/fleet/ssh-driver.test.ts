/**
 * The SshDriver passes the RuntimeDriver conformance suite against a real fleet host: instances
 * run under the host agent (ADR 0026) in the host's own PID and network namespaces; the suite
 * reaches them over the host's SSH connection (their ports are the host's loopback).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeDriverContract } from '../../src/drivers/driver-contract.js';
import { SshDriver } from '../../src/drivers/ssh/ssh-driver.js';
import { AgentClient } from '../../src/fleet/agent/agent-client.js';
import { SshPool } from '../../src/ssh/pool.js';
import { Ssh2Transport } from '../../src/ssh/ssh2-host.js';
import type { SshTarget } from '../../src/ssh/transport.js';
import { Fleet } from '../support/fleet/fleet.js';
import { remoteHooks } from '../support/fleet/remote.js';

let fleet: Fleet | undefined;
const pool = new SshPool(new Ssh2Transport());
let target: SshTarget;
const host = () => pool.get(target);
/** One agent per test: its layout root is the test's state directory, in the host's directory (the host sees it at the same path). */
const agents = new Map<string, AgentClient>();
const agentOf = (stateDir: string) => {
  let a = agents.get(stateDir);
  if (!a) agents.set(stateDir, (a = new AgentClient(host, stateDir)));
  return a;
};

describeDriverContract('ssh (host agent)', (stateDir) => new SshDriver([{ name: fleet!.hosts[0]!.address, agent: agentOf(stateDir) }]), {
  skip: Fleet.skipReason(),
  before: async () => {
    fleet = await Fleet.start({ hosts: 1 });
    const known = join(fleet.dir, 'known_hosts');
    writeFileSync(known, fleet.knownHosts());
    target = { host: fleet.hosts[0]!.address, port: 22, user: 'root', identityFile: fleet.keyFile, knownHosts: known };
  },
  cleanup: async (stateDir) => {
    await agents.get(stateDir)?.call({ op: 'shutdown', stopAll: true });
    agents.delete(stateDir);
  },
  after: async () => {
    await pool.closeAll();
    await fleet?.stop();
  },
  adapt: (spec) => {
    // The test process's pid means nothing in the host's PID namespace; the fleet's teardown ends what is left.
    const { TEST_OWNER_PID: _owner, ...env } = spec.env;
    return { ...spec, env };
  },
  remote: remoteHooks(host, () => fleet!.hosts[0]!.dir),
});
