/**
 * A fleet service's router counters: every host's router counts the requests it proxied per
 * release (read through its agent's `stats`), and analysis judges their sum, as if one router
 * served the whole fleet. A host whose counters cannot be read fails the reading (a provider
 * error, which never counts as a pass): a canary must not pass on the hosts that happened to answer.
 */
import { ProviderError } from '../analysis/provider.js';
import { SlipwayError } from '../core/errors.js';
import type { PoolStats, RouterStats, ServiceStats } from '../router/types.js';
import type { FleetMember } from './fleet-runtime.js';

/** How long one host's counters may take to read. */
const HOST_STATS_TIMEOUT_MS = 3000;

export async function fleetStats(members: FleetMember[], unit: string): Promise<RouterStats> {
  const read = await Promise.allSettled(members.map((m) => m.agent.call({ op: 'stats' }, HOST_STATS_TIMEOUT_MS)));
  const failed = read.flatMap((r, i) => (r.status === 'rejected' ? [{ host: members[i]!.name, err: SlipwayError.from(r.reason) }] : []));
  if (failed.length)
    throw new ProviderError(
      'router',
      `cannot read the router counters of ${failed.map((f) => `${f.host} (${f.err.code}: ${f.err.message.split('\n')[0]})`).join(', ')}; the fleet's counters are incomplete`,
    );
  const hosts = read.map((r) => (r as PromiseFulfilledResult<RouterStats>).value);
  const pools = new Map<number, PoolStats>();
  const preview = new Map<number, PoolStats>();
  const inFlightByBackend: Record<string, number> = {};
  let unrouted = 0;
  for (const s of hosts.flatMap((h) => h.services.filter((x) => x.service === unit))) {
    for (const p of s.pools) add(pools, p);
    for (const p of s.preview ?? []) add(preview, p);
    Object.assign(inFlightByBackend, s.inFlightByBackend);
    unrouted += s.unrouted ?? 0;
  }
  const service: ServiceStats = { service: unit, pools: [...pools.values()], inFlightByBackend, unrouted, preview: [...preview.values()] };
  // Any host's router restarting restarts the sum: the id changes with any of theirs.
  return { bootId: hosts.map((h, i) => `${members[i]!.name}=${h.bootId}`).join(','), services: [service] };
}

function add(into: Map<number, PoolStats>, p: PoolStats): void {
  const sum = into.get(p.release);
  if (!sum || sum.latencyBuckets.length !== p.latencyBuckets.length) {
    into.set(p.release, { ...p, byClass: { ...p.byClass }, latencyBuckets: [...p.latencyBuckets] });
    return;
  }
  sum.requests += p.requests;
  for (const k of Object.keys(sum.byClass) as (keyof PoolStats['byClass'])[]) sum.byClass[k] += p.byClass[k] ?? 0;
  sum.latencyBuckets = sum.latencyBuckets.map((n, i) => n + (p.latencyBuckets[i] ?? 0));
  sum.latencySumMs += p.latencySumMs;
  sum.inFlight += p.inFlight;
}
