/**
 * The store's garbage collection on a host (docs/servers.md: the host layout). `releases/` keeps
 * every release a process on the host runs from (an instance's working directory is its release; the
 * agent, router and log writers run files of the agent's bundle, named on their command lines), the
 * agent bundle named by `agent/install.json`, every release the controller still holds (passed as `keep`: its retention's releases), and the
 * `keepRecent` releases most recently shipped or deployed (a ship touches the one it finds); the
 * others are removed. Then `files/` drops every content no release links to any more (link count
 * 1: only the store's own name).
 *
 * It runs under the host's `.lock` (flock), which a ship takes to register its work directory
 * (ship.ts): a GC never starts while a ship is between asking what the store has and linking to
 * it, and while any ship is in flight the store is not swept (its release goes to `releases/`
 * only at the end). A ship directory older than an hour is one whose controller died: removed.
 */
import type { SlipwayConfig } from '../config/schema.js';
import { SlipwayError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { SshPool } from '../ssh/pool.js';
import { shellScript } from '../ssh/quote.js';
import { Ssh2Transport } from '../ssh/ssh2-host.js';
import type { RemoteHost } from '../ssh/transport.js';
import { eachHost, fleetOf, type FleetOptions } from './fleet-target.js';
import { HostLayout } from './host-layout.js';

/** Releases kept besides those in use when nothing says otherwise (the services' `keepReleases` default). */
export const DEFAULT_KEEP_RECENT = 10;

const GC = `root=$1; keepn=$2; shift 2
cd "$root" 2>/dev/null || { echo "nolayout"; exit 0; }
exec 9>>.lock && flock -w 120 9 || { echo "locked"; exit 3; }
inuse=" "
for p in /proc/[0-9]*/cwd; do
  d=$(readlink "$p" 2>/dev/null) || continue
  case "$d" in "$root"/releases/*) h=\${d#"$root"/releases/}; inuse="$inuse\${h%%/*} ";; esac
done
for p in /proc/[0-9]*/cmdline; do
  set -f
  for a in $(tr '\\0' ' ' < "$p" 2>/dev/null); do
    case "$a" in "$root"/releases/*) h=\${a#"$root"/releases/}; inuse="$inuse\${h%%/*} ";; esac
  done
  set +f
done
agent=$(sed -n 's/.*"agent": *"sha256:\\([0-9a-f]*\\)".*/\\1/p' agent/install.json 2>/dev/null)
[ -n "$agent" ] && inuse="$inuse$agent "
n=0
for h in $(ls -1tc releases 2>/dev/null); do
  case "$h" in *[!0-9a-f]*) continue;; esac
  [ \${#h} -eq 64 ] || continue
  n=$((n + 1))
  keep=no
  [ "$n" -le "$keepn" ] && keep=yes
  case "$inuse" in *" $h "*) keep=inuse;; esac
  for k in "$@"; do [ "$k" = "$h" ] && [ "$keep" = no ] && keep=yes; done
  if [ "$keep" = no ]; then
    mv "releases/$h" "tmp/gc-$h" && rm -rf "tmp/gc-$h" && echo "removed $h"
  else echo "kept $h $keep"; fi
done
find tmp -mindepth 1 -maxdepth 1 -name 'ship-*' -mmin +60 -exec rm -rf {} + 2>/dev/null
if [ -n "$(find tmp -mindepth 1 -maxdepth 1 -name 'ship-*' 2>/dev/null)" ]; then echo "sweep skipped"
else echo "swept $(find files -type f -links 1 -print -delete 2>/dev/null | wc -l)"; fi`;

export interface HostGcResult {
  host: string;
  /** Digests (hex) removed from `releases/`. */
  removed: string[];
  /** Digests kept, and whether because a process runs from them. */
  kept: { digest: string; inUse: boolean }[];
  /** Contents removed from `files/`; null when a ship in flight put the sweep off. */
  filesRemoved: number | null;
}

export async function gcHost(
  host: RemoteHost,
  layout: HostLayout,
  opts: { keepRecent?: number; keep?: Iterable<string> } = {},
): Promise<HostGcResult> {
  const keep = [...(opts.keep ?? [])].map((d) => d.replace(/^sha256:/, ''));
  const keepRecent = Math.max(1, opts.keepRecent ?? DEFAULT_KEEP_RECENT);
  const { stdout } = await host.run(shellScript(GC, [layout.root, String(keepRecent), ...keep]), { timeoutMs: 300_000 });
  const result: HostGcResult = { host: host.name, removed: [], kept: [], filesRemoved: null };
  for (const line of stdout.split('\n')) {
    const [what, a, b] = line.trim().split(' ');
    if (what === 'locked')
      throw SlipwayError.of('SSH_COMMAND_TIMEOUT', `${host.name}: the host's lock (${layout.lock}) stayed taken for 120 s`, {
        hint: 'A ship or another GC holds it; run slipway hosts gc again later.',
      });
    if (what === 'removed' && a) result.removed.push(a);
    else if (what === 'kept' && a) result.kept.push({ digest: a, inUse: b === 'inuse' });
    else if (what === 'swept') result.filesRemoved = Number(a);
  }
  return result;
}

/**
 * `slipway hosts gc --env`: from the CLI, without the controller's records, each host keeps what
 * runs there and the most recent `keepReleases` (the largest of the services'). Every host by
 * itself: one unreachable host is reported, the others are collected.
 */
export async function gcHosts(
  config: SlipwayConfig,
  projectDir: string,
  environment: string,
  opts: FleetOptions & { logger?: Logger } = {},
): Promise<{ host: string; result?: HostGcResult; error?: { code: string; message: string; hint?: string } }[]> {
  const fleet = fleetOf(config, projectDir, environment, opts);
  const services = Object.values(config.services);
  const keepRecent = services.length ? Math.max(...services.map((s) => s.keepReleases)) : DEFAULT_KEEP_RECENT;
  const layout = new HostLayout(fleet.ssh.root);
  const pool = new SshPool(new Ssh2Transport(opts.logger ?? silentLogger));
  try {
    const results = await eachHost(fleet.hosts, fleet.ssh.parallel, async (h) => gcHost(await pool.get(h.target), layout, { keepRecent }));
    return results.map((r, i) => {
      const host = fleet.hosts[i]!.name;
      if (r.status === 'fulfilled') return { host, result: r.value };
      const e = SlipwayError.from(r.reason);
      return { host, error: { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) } };
    });
  } finally {
    await pool.closeAll();
  }
}
