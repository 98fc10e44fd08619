/**
 * One round trip that tells what a host has: its name and user, the tools shipping needs, the
 * runtimes (node, podman, docker, systemd), free disk below the layout root, the layout version,
 * and the TCP ports something listens on. A constant script; the root is its only argument.
 */
import { shellScript } from '../ssh/quote.js';
import type { RemoteHost } from '../ssh/transport.js';

/** Tools shipping a release uses on the host (all in Debian's base system). */
export const REQUIRED_TOOLS = ['tar', 'gzip', 'sha256sum', 'find', 'xargs', 'flock', 'df'] as const;
export const RUNTIMES = ['node', 'podman', 'docker'] as const;

const PROBE = `root=$1
echo "hostname=$(hostname)"
echo "user=$(id -un)"
for t in ${[...REQUIRED_TOOLS, ...RUNTIMES, 'systemctl', 'sudo'].join(' ')}; do echo "have.$t=$(command -v "$t" 2>/dev/null)"; done
command -v node >/dev/null 2>&1 && echo "version.node=$(node --version 2>/dev/null)"
command -v podman >/dev/null 2>&1 && echo "version.podman=$(podman --version 2>/dev/null)"
command -v docker >/dev/null 2>&1 && echo "version.docker=$(docker --version 2>/dev/null)"
[ -d /run/systemd/system ] && echo "systemd=running" || echo "systemd=absent"
d=$root; while [ ! -d "$d" ]; do d=$(dirname "$d"); done
echo "disk.path=$d"
df -Pk "$d" 2>/dev/null | awk 'NR==2 {print "disk.freeKb=" $4}'
[ -w "$d" ] && echo "writable=yes" || echo "writable=no"
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
  layout: { layout?: number } | undefined;
  releases: string[];
  listening: Set<number>;
  /** Ports the host agent's own router listens on for its services (routes.json): in use by Slipway, not by something else. */
  ownPorts: Set<number>;
}

export async function probeHost(host: RemoteHost, root: string): Promise<HostFacts> {
  const { stdout } = await host.run(shellScript(PROBE, [root]), { timeoutMs: 20_000 });
  const facts: HostFacts = {
    hostname: '',
    user: '',
    tools: {},
    versions: {},
    systemd: false,
    disk: { path: root, freeBytes: undefined },
    writable: false,
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
    else if (key === 'layout') facts.layout = parseLayout(value);
    else if (key === 'releases') facts.releases = value.split(' ').filter(Boolean);
    else if (key === 'listen') facts.listening.add(Number.parseInt(value, 16));
    else if (key === 'routes') facts.ownPorts = routePorts(value);
  }
  return facts;
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
