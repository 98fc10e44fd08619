/**
 * `slipway down --env <ssh environment>` on the hosts (docs/servers.md): every host's agent stops
 * its instances (each given 5 s after SIGTERM) and its router, then exits. The layout, the
 * releases and the agent's records stay, so `slipway up` brings the same release back (the
 * controller rolls each host that serves nothing to the current release: controller/fleet-heal.ts).
 * Run from the CLI straight over SSH, every host by itself: one unreachable host is named and the
 * others are still stopped.
 */
import type { SlipwayConfig } from '../config/schema.js';
import { SlipwayError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { SshPool } from '../ssh/pool.js';
import { Ssh2Transport } from '../ssh/ssh2-host.js';
import { AgentClient } from './agent/agent-client.js';
import { eachHost, fleetOf, type FleetOptions } from './fleet-target.js';

export interface HostStopped {
  host: string;
  ok: boolean;
  /** Instances the agent stopped (ids). */
  stopped: string[];
  error?: { code: string; message: string; hint?: string };
}

export async function stopHosts(
  config: SlipwayConfig,
  projectDir: string,
  environment: string,
  opts: FleetOptions & { logger?: Logger } = {},
): Promise<HostStopped[]> {
  const fleet = fleetOf(config, projectDir, environment, opts);
  const pool = new SshPool(new Ssh2Transport(opts.logger ?? silentLogger));
  try {
    const results = await eachHost(fleet.hosts, Math.max(fleet.ssh.parallel, fleet.hosts.length), async (h) => {
      const agent = new AgentClient(() => pool.get(h.target), fleet.ssh.root);
      // Every instance gets the agent's stop timeout (5 s each) and the router its shutdown.
      const { stopped } = await agent.call({ op: 'shutdown', stopAll: true }, 120_000);
      return stopped;
    });
    return results.map((r, i) => {
      const host = fleet.hosts[i]!.name;
      if (r.status === 'fulfilled') return { host, ok: true, stopped: r.value };
      const e = SlipwayError.from(r.reason);
      return { host, ok: false, stopped: [], error: { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) } };
    });
  } finally {
    await pool.closeAll();
  }
}
