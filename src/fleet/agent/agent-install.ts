/**
 * Installing the host agent on a host (ADR 0026), the host's side: the bundle shipped as a release
 * of its own (ship.ts: a host that has it gets nothing), `agent/install.json` naming it, and on a
 * host where systemd runs a system unit for it. The agent then runs from `releases/<digest>/` with
 * the host's own Node, never from paths of the machine that runs Slipway.
 *
 *   agent/install.json   {"agent":"sha256:…","node":"/usr/bin/node","entry":"<root>/releases/<hex>/agent-main.js",
 *                         "mode":"systemd"|"plain","unit":"slipway-agent-var-lib-slipway.service",…}
 */
import { posix } from 'node:path';
import { SlipwayError } from '../../core/errors.js';
import { shellScript } from '../../ssh/quote.js';
import type { RemoteHost } from '../../ssh/transport.js';
import type { HostLayout } from '../host-layout.js';
import { shipRelease } from '../ship.js';
import { AGENT_ENTRY, type AgentBundle } from './agent-bundle.js';
import { agentPaths } from './agent-paths.js';

/** The oldest Node the agent runs on (the bundle targets node20). */
export const MIN_NODE_MAJOR = 20;

export interface InstalledAgent {
  /** The bundle's digest: the agent's version. */
  agent: string;
  node: string;
  nodeVersion: string;
  entry: string;
  /** `systemd`: a system unit runs the agent (Restart=always, enabled); `plain`: started detached by Slipway. */
  mode: 'systemd' | 'plain';
  unit?: string;
  /** Unit commands go through `sudo -n` (the SSH user is not root). */
  sudo?: boolean;
  /** Why a host with systemd still runs the agent plain (no root, no passwordless sudo). */
  note?: string;
}

/** What the host has for the agent: Node (path, version), systemd, the user's rights, the current install.json. */
const FACTS = `node=$(command -v node 2>/dev/null) || node=
for n in /usr/local/bin/node /usr/bin/node; do [ -n "$node" ] || { [ -x "$n" ] && node=$n; }; done
echo "node=$node"
[ -n "$node" ] && echo "nodeVersion=$("$node" -p 'process.versions.node' 2>/dev/null)"
[ -d /run/systemd/system ] && echo "systemd=yes" || echo "systemd=no"
if [ "$(id -u)" = 0 ]; then echo "rights=root"; elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then echo "rights=sudo"; else echo "rights=none"; fi
echo "user=$(id -un)"
[ -f "$1" ] && echo "install=$(head -c 4000 "$1" | tr -d '\\n')"
exit 0`;

const WRITE = `printf '%s\\n' "$2" > "$1.tmp" && mv -f "$1.tmp" "$1"`;

/** Writes the unit when it changed (then reloads systemd) and enables it; run as root (or through sudo -n). */
const UNIT = `f=/etc/systemd/system/$1
if [ "$(cat "$f" 2>/dev/null)" != "$2" ]; then printf '%s\\n' "$2" > "$f.tmp" && mv -f "$f.tmp" "$f" && systemctl daemon-reload || exit 3; fi
systemctl enable --quiet "$1"`;

/** The unit's name for a layout root: `slipway-agent-var-lib-slipway.service` (one agent per root). */
export function agentUnitName(root: string): string {
  const name = root
    .replace(/^\/+|\/+$/g, '')
    .replace(/\/+/g, '-')
    .replace(/[^A-Za-z0-9_.-]/g, '_');
  return `slipway-agent-${name || 'root'}.service`;
}

/**
 * The agent's system unit. `KillMode=process`: stopping or restarting the unit (an upgrade) ends
 * the agent alone; its instances and router are in the unit's cgroup but outlive it, as they
 * outlive the agent on a plain host. `Restart=always`, enabled for multi-user.target: after a boot
 * the agent starts, restarts the instances it recorded and the router from its saved routes.
 */
export function agentUnit(install: Pick<InstalledAgent, 'node' | 'entry'>, root: string, user: string): string {
  const q = (s: string) => `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  return [
    '[Unit]',
    `Description=Slipway host agent (${root})`,
    'After=network.target',
    '',
    '[Service]',
    `User=${user}`,
    `WorkingDirectory=${root}`,
    `ExecStart=${q(install.node)} ${q(install.entry)} --root ${q(root)}`,
    'Restart=always',
    'RestartSec=1',
    'KillMode=process',
    'StandardOutput=append:' + agentPaths(root).log,
    'StandardError=append:' + agentPaths(root).log,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ].join('\n');
}

/** argv as root: through `sudo -n --` when the SSH user is not root (-n: a sudo that wants a password fails at once, never prompts). */
export const asRoot = (install: InstalledAgent, argv: string[]): string[] => (install.sudo ? ['sudo', '-n', '--', ...argv] : argv);

/**
 * Ships the bundle (nothing when the host has it), finds Node >= 20, writes `agent/install.json`
 * when it changed, and on a host where systemd runs (and the user is root or has passwordless
 * sudo) writes and enables the agent's unit. Does not start or stop the agent.
 * @throws SlipwayError AGENT_UNAVAILABLE when the host has no Node >= 20
 */
export async function installAgent(host: RemoteHost, layout: HostLayout, bundle: AgentBundle): Promise<InstalledAgent> {
  const paths = agentPaths(layout.root);
  const made = await host.run(['mkdir', '-p', ...layout.directories, paths.dir, paths.run, posix.dirname(paths.log)], { check: false });
  if (made.code !== 0)
    throw SlipwayError.of(
      'AGENT_UNAVAILABLE',
      `cannot create the host layout below ${layout.root} on ${host.name}: ${made.stderr.trim()}`,
      {
        hint: 'Run slipway hosts setup for this environment (it creates the layout, with sudo when it may).',
        details: { host: host.name },
      },
    );
  await shipRelease(host, layout, bundle.plan);
  const installFile = paths.install;
  const facts = new Map<string, string>();
  for (const line of (await host.run(shellScript(FACTS, [installFile]))).stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) facts.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  const node = facts.get('node') ?? '';
  const nodeVersion = facts.get('nodeVersion') ?? '';
  const major = Number(nodeVersion.split('.')[0]);
  if (!node || !(major >= MIN_NODE_MAJOR))
    throw SlipwayError.of(
      'AGENT_UNAVAILABLE',
      node
        ? `${host.name} has Node ${nodeVersion || '(does not run)'} at ${node}; the Slipway agent needs Node ${MIN_NODE_MAJOR} or later`
        : `${host.name} has no Node; the Slipway agent needs Node ${MIN_NODE_MAJOR} or later`,
      {
        hint: `Install Node.js ${MIN_NODE_MAJOR} or later on the host so that \`node\` is on the SSH user's PATH or at /usr/bin/node (Debian 13: apt-get install nodejs; else NodeSource's packages), then run slipway hosts setup. Nothing else is needed on the host.`,
        details: { host: host.name, node, nodeVersion },
      },
    );
  const rights = facts.get('rights') ?? 'none';
  const systemd = facts.get('systemd') === 'yes';
  const user = facts.get('user') || 'root';
  const hex = bundle.digest.replace(/^sha256:/, '');
  const entry = posix.join(layout.release(bundle.digest), AGENT_ENTRY);
  if (!entry.includes(hex)) throw new Error(`unexpected release path ${entry}`);
  const unit = agentUnitName(layout.root);
  const install: InstalledAgent =
    systemd && rights !== 'none'
      ? { agent: bundle.digest, node, nodeVersion, entry, mode: 'systemd', unit, ...(rights === 'sudo' ? { sudo: true } : {}) }
      : {
          agent: bundle.digest,
          node,
          nodeVersion,
          entry,
          mode: 'plain',
          ...(systemd ? { note: `systemd runs, but ${user} is not root and has no passwordless sudo to install a unit` } : {}),
        };
  if (install.mode === 'systemd')
    await host.run(asRoot(install, shellScript(UNIT, [unit, agentUnit(install, layout.root, user)])), { timeoutMs: 30_000 });
  const text = JSON.stringify({ ...install, slipway: 'agent', installedBy: user });
  const current = facts.get('install');
  if (!current || !sameInstall(current, install)) await host.run(shellScript(WRITE, [installFile, text]));
  return install;
}

function sameInstall(text: string, want: InstalledAgent): boolean {
  try {
    const got = JSON.parse(text) as Partial<InstalledAgent>;
    return got.agent === want.agent && got.node === want.node && got.entry === want.entry && got.mode === want.mode;
  } catch {
    return false;
  }
}
