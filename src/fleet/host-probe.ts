/**
 * One round trip that tells what a host has: its name and user, the tools shipping needs, the
 * runtimes (node, podman, docker, systemd) and whether each container runtime answers, the SSH
 * user's rights (root, passwordless sudo, or why `sudo -n` refused), free disk below the layout
 * root, the layout version, and the TCP ports something listens on. A constant script; the root
 * is its only argument.
 */
import { shellScript } from '../ssh/quote.js';
import type { RemoteHost } from '../ssh/transport.js';

/** Tools shipping a release uses on the host (all in Debian's base system). */
export const REQUIRED_TOOLS = ['tar', 'gzip', 'sha256sum', 'find', 'xargs', 'flock', 'df'] as const;
export const RUNTIMES = ['node', 'podman', 'docker'] as const;
/** How long `podman info` / `docker info` may take before the runtime counts as not answering. */
export const INFO_TIMEOUT_S = 8;

/**
 * What the SSH user may do as root: it is root; `sudo -n` works (passwordless); or it does not
 * (`absent`: no sudo command; `refused`: sudo said why, e.g. "a password is required").
 */
export type SudoFacts = { kind: 'root' } | { kind: 'sudo' } | { kind: 'absent' } | { kind: 'refused'; reason: string };

const PROBE = `root=$1
echo "hostname=$(hostname)"
echo "user=$(id -un)"
for t in ${[...REQUIRED_TOOLS, ...RUNTIMES, 'systemctl', 'sudo'].join(' ')}; do echo "have.$t=$(command -v "$t" 2>/dev/null)"; done
command -v node >/dev/null 2>&1 && echo "version.node=$(node --version 2>/dev/null)"
command -v podman >/dev/null 2>&1 && echo "version.podman=$(podman --version 2>/dev/null)"
command -v docker >/dev/null 2>&1 && echo "version.docker=$(docker --version 2>/dev/null)"
# A container CLI counts only when it answers as this user (a docker client without an engine, or
# podman without rootless set-up, runs nothing): "info", bounded by timeout(1) where the host has it.
bound=; command -v timeout >/dev/null 2>&1 && bound="timeout ${INFO_TIMEOUT_S}"
for r in podman docker; do
  command -v "$r" >/dev/null 2>&1 || continue
  if out=$($bound "$r" info </dev/null 2>&1 >/dev/null); then echo "answers.$r=yes"
  else c=$?; [ "$c" = 124 ] && out="no answer within ${INFO_TIMEOUT_S}s"; echo "answers.$r=no $(printf '%s' "$out" | grep -v '^[[:space:]]*$' | tail -n 1 | cut -c1-300)"; fi
done
echo "uid=$(id -u)"
echo "home=$HOME"
if [ "$(id -u)" = 0 ]; then echo "sudo=root"
elif ! command -v sudo >/dev/null 2>&1; then echo "sudo=absent"
elif out=$(sudo -n true 2>&1 </dev/null); then echo "sudo=yes"
else echo "sudo=no $(printf '%s' "$out" | tail -n 1 | cut -c1-300)"; fi
[ -r /proc/sys/net/ipv4/ip_unprivileged_port_start ] && echo "unprivilegedPortStart=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)"
[ -d /run/systemd/system ] && echo "systemd=running" || echo "systemd=absent"
d=$root; while [ ! -d "$d" ]; do d=$(dirname "$d"); done
echo "disk.path=$d"
df -Pk "$d" 2>/dev/null | awk 'NR==2 {print "disk.freeKb=" $4}'
[ -w "$d" ] && echo "writable=yes" || echo "writable=no"
[ -d "$root" ] && echo "root.owner=$(stat -c %U "$root" 2>/dev/null)"
[ -f "$root/layout.json" ] && echo "layout=$(head -c 1000 "$root/layout.json" | tr -d '\\n')"
[ -d "$root/releases" ] && echo "releases=$(ls "$root/releases" 2>/dev/null | grep -E '^[0-9a-f]{64}$' | tr '\\n' ' ')"
[ -f "$root/agent/router/routes.json" ] && echo "routes=$(head -c 200000 "$root/agent/router/routes.json" | tr -d '\\n')"
cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk 'NR > 1 && $4 == "0A" { n = split($2, a, ":"); print "listen=" a[n] }'
exit 0`;

export interface HostFacts {
  hostname: string;
  user: string;
  tools: Record<string, string | undefined>;
  versions: Record<string, string>;
  systemd: boolean;
  disk: { path: string; freeBytes: number | undefined };
  writable: boolean;
  /** The owner of the layout root when it exists. */
  rootOwner: string | undefined;
  uid: number | undefined;
  home: string;
  sudo: SudoFacts;
  /** Container runtimes whose CLI is there, whether `info` succeeded (else its last line of error). */
  answers: Partial<Record<'podman' | 'docker', { ok: boolean; error?: string }>>;
  /** net.ipv4.ip_unprivileged_port_start: ports below it need root (or CAP_NET_BIND_SERVICE). */
  unprivilegedPortStart: number | undefined;
  layout: { layout?: number } | undefined;
  releases: string[];
  listening: Set<number>;
  /** Ports the host agent's own router listens on for its services (routes.json): in use by Slipway, not by something else. */
  ownPorts: Set<number>;
}

export async function probeHost(host: RemoteHost, root: string): Promise<HostFacts> {
  const { stdout } = await host.run(shellScript(PROBE, [root]), { timeoutMs: 30_000 });
  const facts: HostFacts = {
    hostname: '',
    user: '',
    tools: {},
    versions: {},
    systemd: false,
    disk: { path: root, freeBytes: undefined },
    writable: false,
    rootOwner: undefined,
    uid: undefined,
    home: '',
    sudo: { kind: 'absent' },
    answers: {},
    unprivilegedPortStart: undefined,
    layout: undefined,
    releases: [],
    listening: new Set(),
    ownPorts: new Set(),
  };
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1).trim();
    if (key === 'hostname') facts.hostname = value;
    else if (key === 'user') facts.user = value;
    else if (key.startsWith('have.')) facts.tools[key.slice(5)] = value || undefined;
    else if (key.startsWith('version.')) facts.versions[key.slice(8)] = value;
    else if (key === 'systemd') facts.systemd = value === 'running';
    else if (key === 'disk.path') facts.disk.path = value;
    else if (key === 'disk.freeKb') facts.disk.freeBytes = Number(value) * 1024;
    else if (key === 'writable') facts.writable = value === 'yes';
    else if (key === 'root.owner') facts.rootOwner = value || undefined;
    else if (key === 'uid') facts.uid = Number(value);
    else if (key === 'home') facts.home = value;
    else if (key === 'sudo') facts.sudo = sudoFacts(value);
    else if (key === 'answers.podman' || key === 'answers.docker')
      facts.answers[key.slice(8) as 'podman' | 'docker'] =
        value === 'yes' ? { ok: true } : { ok: false, error: value.replace(/^no\s*/, '') || 'failed' };
    else if (key === 'unprivilegedPortStart') facts.unprivilegedPortStart = Number(value) || undefined;
    else if (key === 'layout') facts.layout = parseLayout(value);
    else if (key === 'releases') facts.releases = value.split(' ').filter(Boolean);
    else if (key === 'listen') facts.listening.add(Number.parseInt(value, 16));
    else if (key === 'routes') facts.ownPorts = routePorts(value);
  }
  return facts;
}

function sudoFacts(value: string): SudoFacts {
  if (value === 'root') return { kind: 'root' };
  if (value === 'yes') return { kind: 'sudo' };
  if (value === 'absent') return { kind: 'absent' };
  return { kind: 'refused', reason: value.replace(/^no\s*/, '').replace(/^sudo:\s*/, '') || 'sudo -n failed' };
}

function parseLayout(text: string): { layout?: number } {
  try {
    const doc = JSON.parse(text) as { layout?: unknown };
    return typeof doc.layout === 'number' ? { layout: doc.layout } : {};
  } catch {
    return {};
  }
}

function routePorts(text: string): Set<number> {
  try {
    const doc = JSON.parse(text) as { routes?: { listen?: { port?: unknown } }[] };
    return new Set((doc.routes ?? []).flatMap((r) => (typeof r.listen?.port === 'number' ? [r.listen.port] : [])));
  } catch {
    return new Set();
  }
}
