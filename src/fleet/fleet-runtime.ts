/**
 * An ssh environment's data plane as the controller holds it (ADR 0026): one pooled SSH
 * connection per host, the host's agent, and an SshDriver over all of them that follows every
 * agent's instances. Made from slipway.yaml's `target.ssh` and replaced when that changes.
 */
import { SshDriver } from '../drivers/ssh/ssh-driver.js';
import type { Logger } from '../core/logger.js';
import { SshPool } from '../ssh/pool.js';
import { Ssh2Transport } from '../ssh/ssh2-host.js';
import { AgentClient, type AgentSource } from './agent/agent-client.js';
import type { Fleet, FleetHost } from './fleet-target.js';
import { HostLayout } from './host-layout.js';
import type { RemoteHost } from '../ssh/transport.js';

export interface FleetMember {
  name: string;
  host: FleetHost;
  agent: AgentClient;
  remote: () => Promise<RemoteHost>;
}

export class FleetRuntime {
  readonly pool: SshPool;
  readonly layout: HostLayout;
  readonly members: FleetMember[];
  readonly driver: SshDriver;
  private initialised: Promise<void> | undefined;

  constructor(
    readonly fleet: Fleet,
    log: Logger,
    install?: AgentSource,
  ) {
    this.pool = new SshPool(new Ssh2Transport(log));
    this.layout = new HostLayout(fleet.ssh.root);
    this.members = fleet.hosts.map((h) => {
      const remote = () => this.pool.get(h.target);
      return { name: h.name, host: h, remote, agent: new AgentClient(remote, fleet.ssh.root, install) };
    });
    this.driver = new SshDriver(
      this.members.map((m) => ({ name: m.name, agent: m.agent })),
      { log },
    );
  }

  /** Follows every host's agent (starting agents that are not running); unreachable hosts are followed again later. */
  init(): Promise<void> {
    this.initialised ??= this.driver.init();
    return this.initialised;
  }

  async close(): Promise<void> {
    await this.driver.detach();
    await this.pool.closeAll();
  }
}
