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
import type { RemoteHost } from '../ssh/transport.js';
import { shellScript } from '../ssh/quote.js';
import { Ssh2Transport } from '../ssh/ssh2-host.js';
import { eachHost, fleetOf, type FleetHost, type FleetOptions } from './fleet-target.js';
import { probeHost, REQUIRED_TOOLS, type HostFacts } from './host-probe.js';
import { projectPaths } from '../controller/paths.js';
import { AgentClient, type AgentState } from './agent/agent-client.js';
import { agentBundle } from './agent/agent-bundle.js';
import { MIN_NODE_MAJOR } from './agent/agent-install.js';
import { HostLayout, LAYOUT_VERSION } from './host-layout.js';

/** Less free disk than this below the layout root fails the check. */
export const MIN_FREE_BYTES = 1024 ** 3;

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface HostCheck {
  name: 'ssh' | 'user' | 'tools' | 'runtime' | 'disk' | 'ports' | 'layout' | 'setup' | 'agent';
  status: CheckStatus;
  detail: string;
  /** What to do about a failed check. */
  hint?: string;
}

export interface HostReport {
  host: string;
  labels: Record<string, string>;
  reachable: boolean;
  ok: boolean;
  hostname?: string;
  /**
   * Runtimes found: node, and podman and docker (with versions) only when they answer (`info`
   * succeeds as the SSH user), and whether systemd runs. `unanswered` names a container CLI that
   * is there but does not answer (a docker client without an engine), with its error.
   */
  runtime?: {
    node?: string;
    podman?: string;
    docker?: string;
    systemd: boolean;
    containers?: 'podman' | 'docker';
    unanswered?: { podman?: string; docker?: string };
  };
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
  const answered = e.code === 'SSH_COMMAND_FAILED' || e.code === 'SSH_COMMAND_TIMEOUT' || e.code === 'HOST_ACCESS_DENIED';
  return {
    host: h.name,
    labels: h.labels,
    reachable: answered,
    ok: false,
    error: { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) },
    checks: [{ name: answered ? step : 'ssh', status: 'fail', detail: `${e.code}: ${e.message}` }],
  };
}

/** A container runtime counts when its CLI is there and answers `info` as the SSH user (host-probe.ts). */
const answering = (facts: HostFacts, r: 'podman' | 'docker') => Boolean(facts.tools[r]) && facts.answers[r]?.ok === true;

function base(h: FleetHost, facts: HostFacts): HostReport {
  const unanswered = Object.fromEntries(
    (['podman', 'docker'] as const)
      .filter((r) => facts.tools[r] && !answering(facts, r))
      .map((r) => [r, facts.answers[r]?.error ?? 'no answer']),
  );
  return {
    host: h.name,
    labels: h.labels,
    reachable: true,
    ok: true,
    hostname: facts.hostname,
    runtime: {
      ...(facts.tools.node ? { node: facts.versions.node ?? 'yes' } : {}),
      ...(answering(facts, 'podman') ? { podman: facts.versions.podman ?? 'yes' } : {}),
      ...(answering(facts, 'docker') ? { docker: facts.versions.docker ?? 'yes' } : {}),
      systemd: facts.systemd,
      // What the agent runs an image release's containers with (agent-runtimes.ts: podman when both answer).
      ...(answering(facts, 'podman')
        ? { containers: 'podman' as const }
        : answering(facts, 'docker')
          ? { containers: 'docker' as const }
          : {}),
      ...(Object.keys(unanswered).length ? { unanswered } : {}),
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
  const who = facts.user || user;
  const checks: HostCheck[] = [{ name: 'ssh', status: 'ok', detail: `connected as ${who}, host key verified` }];
  const access = userCheck(facts, layout, who);
  checks.push(access);
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
  checks.push(runtimeCheck(facts, who));
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
  checks.push(portsCheck(facts, ports, who));
  if (facts.layout?.layout === LAYOUT_VERSION)
    checks.push({ name: 'layout', status: 'ok', detail: `${layout.root} (layout ${LAYOUT_VERSION})` });
  else if (facts.layout !== undefined)
    checks.push({
      name: 'layout',
      status: 'fail',
      detail: `${layout.root} has layout ${facts.layout.layout ?? 'unknown'}, not ${LAYOUT_VERSION}: run slipway hosts setup`,
    });
  else
    checks.push(
      access.status === 'fail'
        ? { name: 'layout', status: 'fail', detail: `${layout.root} is not set up, and ${who} cannot set it up (see the user check)` }
        : { name: 'layout', status: 'warn', detail: `${layout.root} not set up yet: run slipway hosts setup` },
    );
  return checks;
}

/**
 * What the SSH user may do (docs/servers.md, "The SSH user"): root; a user with passwordless sudo
 * (setup creates the root for it and installs the agent's unit through `sudo -n`; the agent runs
 * as the user); or a user without it, which works when the layout root is (or can be created)
 * writable by it: the agent then runs as that user, without a systemd unit.
 */
function userCheck(facts: HostFacts, layout: HostLayout, who: string): HostCheck {
  const sudo = facts.sudo;
  if (sudo.kind === 'root') return { name: 'user', status: 'ok', detail: 'root' };
  if (sudo.kind === 'sudo')
    return {
      name: 'user',
      status: 'ok',
      detail: `${who} with passwordless sudo: setup creates ${layout.root} for ${who}${facts.systemd ? " and installs the agent's systemd unit" : ''} through sudo -n; the agent runs as ${who}`,
    };
  const why = sudo.kind === 'absent' ? 'no sudo on the host' : `sudo -n: ${sudo.reason}`;
  const exists = facts.rootOwner !== undefined || facts.layout !== undefined;
  if (facts.writable)
    return {
      name: 'user',
      // No unit without root: after a boot the agent waits for the controller's next question.
      status: facts.systemd ? 'warn' : 'ok',
      detail: `${who} without passwordless sudo (${why}): ${layout.root} ${exists ? 'is writable by' : 'can be created by'} ${who}; the agent runs as ${who}${facts.systemd ? ', without a systemd unit (started by Slipway, also after a boot)' : ''}`,
    };
  const home = facts.home && facts.home !== '/' ? `${facts.home}/.slipway` : `/home/${who}/.slipway`;
  return {
    name: 'user',
    status: 'fail',
    detail: `${who} cannot ${exists ? 'write' : 'create'} ${layout.root} (${exists ? `owned by ${facts.rootOwner ?? 'another user'}` : `${facts.disk.path} is not writable by ${who}`}) and has no passwordless sudo (${why})`,
    hint: `Give ${who} passwordless sudo (the line "${who} ALL=(ALL) NOPASSWD: ALL" in /etc/sudoers.d/slipway), or as root create ${layout.root} and chown it to ${who}, or set target.ssh.root to a directory ${who} owns (e.g. ${home}); then run slipway hosts setup.`,
  };
}

/** Node >= 20 is the one thing the host agent needs (ADR 0026); a container CLI counts only when it answers. */
function runtimeCheck(facts: HostFacts, who: string): HostCheck {
  const found = [
    ...(facts.tools.node ? [`node ${facts.versions.node ?? ''}`.trim()] : []),
    ...(['podman', 'docker'] as const).flatMap((r) => {
      if (!facts.tools[r]) return [];
      if (facts.answers[r]?.ok) return [`${r} ${facts.versions[r] ?? ''}`.trim()];
      const error = facts.answers[r]?.error ?? 'no answer';
      return [
        r === 'docker'
          ? `docker CLI without an engine (docker info: ${error})`
          : `podman CLI that does not run for ${who} (podman info: ${error})`,
      ];
    }),
  ];
  const systemd = `systemd ${facts.systemd ? 'running' : 'not running'}`;
  const nodeMajor = Number(/^v?(\d+)\./.exec(facts.versions.node ?? '')?.[1]);
  return !facts.tools.node || !(nodeMajor >= MIN_NODE_MAJOR)
    ? {
        name: 'runtime',
        status: 'fail',
        detail: `${facts.tools.node ? `Node ${facts.versions.node ?? '(does not run)'}` : 'no Node'}: the Slipway agent needs Node ${MIN_NODE_MAJOR} or later on the host (install Node.js ${MIN_NODE_MAJOR}+ so that node is on the SSH user's PATH); found ${found.join(', ') || 'no runtime'}; ${systemd}`,
      }
    : { name: 'runtime', status: 'ok', detail: `${found.join(', ')}; ${systemd}` };
}

function portsCheck(facts: HostFacts, ports: { name: string; port: number }[], who: string): HostCheck {
  // A port the host's own router serves (an upgrade, a second setup) is Slipway's, not a conflict.
  const busy = ports.filter((p) => facts.listening.has(p.port) && !facts.ownPorts.has(p.port));
  if (busy.length)
    return { name: 'ports', status: 'fail', detail: busy.map((p) => `port ${p.port} (service ${p.name}) is in use`).join('; ') };
  // The agent, and the router it starts, run as the SSH user: below this port only root may listen.
  const floor = facts.unprivilegedPortStart ?? 1024;
  const privileged = facts.sudo.kind === 'root' ? [] : ports.filter((p) => p.port < floor && !facts.ownPorts.has(p.port));
  if (privileged.length)
    return {
      name: 'ports',
      status: 'fail',
      detail: `${privileged.map((p) => `port ${p.port} (service ${p.name})`).join(', ')} is below ${floor}: the agent runs as ${who}, who may not listen on it`,
      hint: `Give the service a port of ${floor} or above (a load balancer may still listen on a low port), or on the host let users listen from that port on (sysctl net.ipv4.ip_unprivileged_port_start=${Math.min(...privileged.map((p) => p.port))}).`,
    };
  return { name: 'ports', status: 'ok', detail: ports.length ? `free: ${ports.map((p) => p.port).join(', ')}` : 'no ports to check' };
}

/**
 * Creates the layout as the SSH user; when it may not, with passwordless sudo only the root
 * directory is made and given to the user. Exit 3: neither works (stderr says why, stdout the
 * user's home for the hint). Arguments, never interpolated: root, layout.json text, directories.
 */
const SETUP = `root=$1; shift
layout=$1; shift
echo "home=$HOME"
make() { mkdir -p -m 0755 "$root" && mkdir -p -m 0755 "$@"; }
if ! make "$@" 2>/dev/null; then
  if [ "$(id -u)" = 0 ]; then make "$@"; exit 4
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null </dev/null; then
    sudo -n -- install -d -o "$(id -u)" -g "$(id -g)" -m 0755 "$root" </dev/null && make "$@" || exit 3
  else
    if ! command -v sudo >/dev/null 2>&1; then why="there is no sudo on the host"
    else why="sudo -n refused: $(sudo -n true 2>&1 </dev/null | tail -n 1)"; fi
    [ -d "$root" ] && what=write || what=create
    echo "$(id -un) cannot $what $root, and has no passwordless sudo to create it ($why)" >&2
    exit 3
  fi
fi
# Never taken over with sudo once it exists: it may be another user's (one project per root).
[ -w "$root" ] || { echo "$(id -un) cannot write $root (owned by $(stat -c %U "$root"))" >&2; exit 3; }
: > "$root/.lock"
printf '%s\\n' "$layout" > "$root/layout.json.tmp" && mv -f "$root/layout.json.tmp" "$root/layout.json"`;

/** Runs SETUP; a user that may not create or write the root gets HOST_ACCESS_DENIED saying what to do. */
async function setupLayout(host: RemoteHost, layout: HostLayout, marker: string, user: string): Promise<void> {
  const r = await host.run(shellScript(SETUP, [layout.root, marker, ...layout.directories]), { timeoutMs: 30_000, check: false });
  if (r.code === 0) return;
  const home = /^home=(.*)$/m.exec(r.stdout)?.[1]?.trim();
  const why = r.stderr.trim().split('\n').slice(-3).join('; ') || `exit ${r.code}`;
  if (r.code !== 3)
    throw SlipwayError.of('SSH_COMMAND_FAILED', `setting up ${layout.root} on ${host.name} failed: ${why}`, {
      hint: 'The command ran on the host and failed; its output is in the message.',
      details: { host: host.name, code: r.code, stderr: r.stderr.slice(-4000) },
    });
  throw SlipwayError.of('HOST_ACCESS_DENIED', `${host.name}: ${why}`, {
    hint: `Give ${user} passwordless sudo (the line "${user} ALL=(ALL) NOPASSWD: ALL" in /etc/sudoers.d/slipway), or as root create ${layout.root} and chown it to ${user}, or set target.ssh.root to a directory ${user} owns (e.g. ${home && home !== '/' ? home : `/home/${user}`}/.slipway); then run slipway hosts setup again. slipway hosts check says which applies.`,
    details: { host: host.name, user, root: layout.root },
  });
}

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
    await setupLayout(host, layout, marker, h.target.user);
    // The host agent (ADR 0026): this Slipway's bundle installed (nothing sent when the host has
    // it), an agent of another version replaced, and the agent answering before setup passes.
    const bundle = () => agentBundle(projectPaths(projectDir).artifacts);
    return (await new AgentClient(() => pool.get(h.target), layout.root, { bundle }).ensureCurrent({ reinstall: true }))!;
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
