/**
 * `slipway hosts`, `hosts check` and `hosts setup` (docs/servers.md). They run in the CLI process,
 * straight over SSH, without the controller (ADR 0020): each host is worked on by itself, at most
 * `parallel` at once, and one host's failure never hides another's result.
 */
import { configForEnvironment } from '../config/environments.js';
import type { SlipwayConfig } from '../config/schema.js';
import { SlipwayError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { SshPool } from '../ssh/pool.js';
import { shellScript } from '../ssh/quote.js';
import { Ssh2Transport } from '../ssh/ssh2-host.js';
import { eachHost, fleetOf, type FleetHost, type FleetOptions } from './fleet-target.js';
import { probeHost, REQUIRED_TOOLS, RUNTIMES, type HostFacts } from './host-probe.js';
import { projectPaths } from '../controller/paths.js';
import { AgentClient, type AgentState } from './agent/agent-client.js';
import { agentBundle } from './agent/agent-bundle.js';
import { MIN_NODE_MAJOR } from './agent/agent-install.js';
import { HostLayout, LAYOUT_VERSION } from './host-layout.js';

/** Less free disk than this below the layout root fails the check. */
export const MIN_FREE_BYTES = 1024 ** 3;

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface HostCheck {
  name: 'ssh' | 'tools' | 'runtime' | 'disk' | 'ports' | 'layout' | 'setup' | 'agent';
  status: CheckStatus;
  detail: string;
}

export interface HostReport {
  host: string;
  labels: Record<string, string>;
  reachable: boolean;
  ok: boolean;
  hostname?: string;
  /** Runtimes found: node, podman, docker (with versions), and whether systemd runs. */
  runtime?: { node?: string; podman?: string; docker?: string; systemd: boolean; containers?: 'podman' | 'docker' };
  layout?: number;
  releases?: string[];
  /** Error code and message when SSH failed. */
  error?: { code: string; message: string; hint?: string };
  checks: HostCheck[];
}

export interface HostsOptions extends FleetOptions {
  logger?: Logger;
}

async function withFleet<T>(
  config: SlipwayConfig,
  projectDir: string,
  environment: string,
  opts: HostsOptions,
  fn: (pool: SshPool, host: FleetHost, layout: HostLayout) => Promise<T>,
): Promise<{ hosts: FleetHost[]; results: PromiseSettledResult<T>[] }> {
  const fleet = fleetOf(config, projectDir, environment, opts);
  const pool = new SshPool(new Ssh2Transport(opts.logger ?? silentLogger));
  try {
    const layout = new HostLayout(fleet.ssh.root);
    return { hosts: fleet.hosts, results: await eachHost(fleet.hosts, fleet.ssh.parallel, (h) => fn(pool, h, layout)) };
  } finally {
    await pool.closeAll();
  }
}

/** One report per host: what `fn` gave, or why the host could not be reached. */
function reportsOf({ hosts, results }: { hosts: FleetHost[]; results: PromiseSettledResult<HostReport>[] }): HostReport[] {
  return results.map((r, i) => (r.status === 'fulfilled' ? r.value : unreachable(hosts[i]!, r.reason)));
}

/** The report of a host whose SSH connection or remote command failed. */
function unreachable(h: FleetHost, err: unknown, step: 'ssh' | 'setup' = 'ssh'): HostReport {
  const e = SlipwayError.from(err);
  // A command that ran and failed (or hung) means the host itself answered.
  const answered = e.code === 'SSH_COMMAND_FAILED' || e.code === 'SSH_COMMAND_TIMEOUT';
  return {
    host: h.name,
    labels: h.labels,
    reachable: answered,
    ok: false,
    error: { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) },
    checks: [{ name: answered ? step : 'ssh', status: 'fail', detail: `${e.code}: ${e.message}` }],
  };
}

function base(h: FleetHost, facts: HostFacts): HostReport {
  return {
    host: h.name,
    labels: h.labels,
    reachable: true,
    ok: true,
    hostname: facts.hostname,
    runtime: {
      ...(facts.tools.node ? { node: facts.versions.node ?? 'yes' } : {}),
      ...(facts.tools.podman ? { podman: facts.versions.podman ?? 'yes' } : {}),
      ...(facts.tools.docker ? { docker: facts.versions.docker ?? 'yes' } : {}),
      systemd: facts.systemd,
      // What the agent runs an image release's containers with (agent-runtimes.ts: podman when it has both).
      ...(facts.tools.podman ? { containers: 'podman' as const } : facts.tools.docker ? { containers: 'docker' as const } : {}),
    },
    ...(facts.layout?.layout !== undefined ? { layout: facts.layout.layout } : {}),
    releases: facts.releases,
    checks: [],
  };
}

/** `slipway hosts`: each host with its reachability, runtime, layout and releases. */
export async function listHosts(
  config: SlipwayConfig,
  projectDir: string,
  environment: string,
  opts: HostsOptions = {},
): Promise<HostReport[]> {
  return reportsOf(
    await withFleet(config, projectDir, environment, opts, async (pool, h, layout) =>
      base(h, await probeHost(await pool.get(h.target), layout.root)),
    ),
  );
}

/** `slipway hosts check`: SSH and host key, tools, runtime, disk, the environment's ports, layout. */
export async function checkHosts(
  config: SlipwayConfig,
  projectDir: string,
  environment: string,
  opts: HostsOptions = {},
): Promise<HostReport[]> {
  const services = configForEnvironment(config, environment).services;
  const ports = Object.entries(services).map(([name, s]) => ({ name, port: s.port }));
  return reportsOf(
    await withFleet(config, projectDir, environment, opts, async (pool, h, layout) => {
      const host = await pool.get(h.target);
      const facts = await probeHost(host, layout.root);
      const report = base(h, facts);
      report.checks = judge(facts, ports, layout, h.target.user);
      report.ok = report.checks.every((c) => c.status !== 'fail');
      return report;
    }),
  );
}

function judge(facts: HostFacts, ports: { name: string; port: number }[], layout: HostLayout, user: string): HostCheck[] {
  const checks: HostCheck[] = [{ name: 'ssh', status: 'ok', detail: `connected as ${facts.user || user}, host key verified` }];
  const missing = REQUIRED_TOOLS.filter((t) => !facts.tools[t]);
  checks.push(
    missing.length
      ? {
          name: 'tools',
          status: 'fail',
          detail: `missing ${missing.join(', ')} (needed to ship releases; install coreutils, tar, findutils, util-linux)`,
        }
      : { name: 'tools', status: 'ok', detail: REQUIRED_TOOLS.join(', ') },
  );
  const runtimes = RUNTIMES.filter((r) => facts.tools[r]).map((r) => `${r} ${facts.versions[r] ?? ''}`.trim());
  const systemd = `systemd ${facts.systemd ? 'running' : 'not running'}`;
  // Node >= 20 is the one thing the host agent needs (ADR 0026), whatever runs the instances.
  const nodeMajor = Number(/^v?(\d+)\./.exec(facts.versions.node ?? '')?.[1]);
  checks.push(
    !facts.tools.node || !(nodeMajor >= MIN_NODE_MAJOR)
      ? {
          name: 'runtime',
          status: 'fail',
          detail: `${facts.tools.node ? `Node ${facts.versions.node ?? '(does not run)'}` : 'no Node'}: the Slipway agent needs Node ${MIN_NODE_MAJOR} or later on the host (install Node.js ${MIN_NODE_MAJOR}+ so that node is on the SSH user's PATH); found ${runtimes.join(', ') || 'no runtime'}; ${systemd}`,
        }
      : { name: 'runtime', status: 'ok', detail: `${runtimes.join(', ')}; ${systemd}` },
  );
  const free = facts.disk.freeBytes;
  checks.push(
    free === undefined
      ? { name: 'disk', status: 'fail', detail: `could not read free space at ${facts.disk.path}` }
      : {
          name: 'disk',
          status: free < MIN_FREE_BYTES ? 'fail' : 'ok',
          detail: `${(free / 1024 ** 3).toFixed(1)} GiB free at ${facts.disk.path}${free < MIN_FREE_BYTES ? ' (need 1 GiB)' : ''}`,
        },
  );
  // A port the host's own router serves (an upgrade, a second setup) is Slipway's, not a conflict.
  const busy = ports.filter((p) => facts.listening.has(p.port) && !facts.ownPorts.has(p.port));
  checks.push(
    busy.length
      ? { name: 'ports', status: 'fail', detail: busy.map((p) => `port ${p.port} (service ${p.name}) is in use`).join('; ') }
      : { name: 'ports', status: 'ok', detail: ports.length ? `free: ${ports.map((p) => p.port).join(', ')}` : 'no ports to check' },
  );
  if (facts.layout?.layout === LAYOUT_VERSION)
    checks.push({ name: 'layout', status: 'ok', detail: `${layout.root} (layout ${LAYOUT_VERSION})` });
  else if (facts.layout !== undefined)
    checks.push({
      name: 'layout',
      status: 'fail',
      detail: `${layout.root} has layout ${facts.layout.layout ?? 'unknown'}, not ${LAYOUT_VERSION}: run slipway hosts setup`,
    });
  else
    checks.push({
      name: 'layout',
      status: facts.writable || facts.tools.sudo ? 'warn' : 'fail',
      detail:
        facts.writable || facts.tools.sudo
          ? `${layout.root} not set up yet: run slipway hosts setup`
          : `${layout.root} is missing and ${facts.disk.path} is not writable by ${facts.user}`,
    });
  return checks;
}

const SETUP = `root=$1; shift
layout=$1; shift
make() { mkdir -p -m 0755 "$root" && mkdir -p -m 0755 "$@"; }
if ! make "$@" 2>/dev/null; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n install -d -o "$(id -u)" -g "$(id -g)" -m 0755 "$root" && make "$@" || exit 3
  else
    echo "cannot create $root as $(id -un): create it as root and chown it to $(id -un), or give $(id -un) passwordless sudo" >&2
    exit 3
  fi
fi
[ -w "$root" ] || { echo "$root is not writable by $(id -un): chown it to $(id -un)" >&2; exit 3; }
: > "$root/.lock"
printf '%s\\n' "$layout" > "$root/layout.json.tmp" && mv -f "$root/layout.json.tmp" "$root/layout.json"`;

/** `slipway hosts setup`: creates the host layout (idempotent), then checks each host as `hosts check` does. */
export async function setupHosts(
  config: SlipwayConfig,
  projectDir: string,
  environment: string,
  opts: HostsOptions = {},
): Promise<HostReport[]> {
  const marker = JSON.stringify({ layout: LAYOUT_VERSION, by: 'slipway' });
  const { hosts, results } = await withFleet(config, projectDir, environment, opts, async (pool, h, layout) => {
    const host = await pool.get(h.target);
    await host.run(shellScript(SETUP, [layout.root, marker, ...layout.directories]), { timeoutMs: 30_000 });
    // The host agent (ADR 0026): this Slipway's bundle installed (nothing sent when the host has
    // it), an agent of another version replaced, and the agent answering before setup passes.
    const bundle = () => agentBundle(projectPaths(projectDir).artifacts);
    return (await new AgentClient(() => pool.get(h.target), layout.root, { bundle }).ensureCurrent())!;
  });
  const failed = new Map(results.flatMap((r, i) => (r.status === 'rejected' ? [[i, r.reason as unknown]] : [])));
  const checked = failed.size === hosts.length ? [] : await checkHosts(config, projectDir, environment, opts);
  return hosts.map((h, i) => {
    const r = results[i]!;
    if (r.status === 'rejected') return unreachable(h, r.reason, 'setup');
    const report = checked.find((c) => c.host === h.name)!;
    report.checks.push(agentCheck(r.value));
    return report;
  });
}

/** What `hosts setup` did about the agent: its version, how it runs, whether it replaced another. */
function agentCheck(s: AgentState): HostCheck {
  const how = s.installed.mode === 'systemd' ? `systemd unit ${s.installed.unit}` : 'started detached (no systemd unit)';
  const what =
    s.outcome === 'upgraded'
      ? `upgraded (agent pid ${s.replaced} replaced by ${s.hello.pid})`
      : s.outcome === 'started'
        ? `started (pid ${s.hello.pid})`
        : `running (pid ${s.hello.pid})`;
  return {
    name: 'agent',
    status: s.installed.note ? 'warn' : 'ok',
    detail: `${s.installed.agent.slice(7, 19)} on Node ${s.installed.nodeVersion}, ${how}: ${what}${s.installed.note ? `; ${s.installed.note}` : ''}`,
  };
}
