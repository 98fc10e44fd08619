import type { PoolStats, ServiceStats } from './types.js';

/**
 * Sums the counters of several proxy workers (ADR 0014) so that readers see one router: per
 * service and release, every counter and histogram bucket added, in-flight gauges added too.
 * Pure; the supervisor's `CounterLedger` below keeps the sums from going backwards when a worker
 * is replaced.
 */
export function sumServiceStats(parts: readonly (readonly ServiceStats[])[]): ServiceStats[] {
  const byName = new Map<string, ServiceStats>();
  for (const part of parts) {
    for (const s of part) {
      const into = byName.get(s.service);
      if (into === undefined) byName.set(s.service, copyService(s));
      else addService(into, s);
    }
  }
  return [...byName.values()].sort((a, b) => a.service.localeCompare(b.service));
}

function copyService(s: ServiceStats): ServiceStats {
  const c: ServiceStats = {
    service: s.service,
    pools: s.pools.map(copyPool),
    inFlightByBackend: { ...s.inFlightByBackend },
  };
  if (s.unrouted !== undefined) c.unrouted = s.unrouted;
  if (s.preview !== undefined) c.preview = s.preview.map(copyPool);
  if (s.previewUnrouted !== undefined) c.previewUnrouted = s.previewUnrouted;
  return c;
}

function addService(into: ServiceStats, s: ServiceStats): void {
  into.pools = addPools(into.pools, s.pools);
  for (const [id, n] of Object.entries(s.inFlightByBackend)) into.inFlightByBackend[id] = (into.inFlightByBackend[id] ?? 0) + n;
  if (s.unrouted !== undefined) into.unrouted = (into.unrouted ?? 0) + s.unrouted;
  if (s.preview !== undefined) into.preview = addPools(into.preview ?? [], s.preview);
  if (s.previewUnrouted !== undefined) into.previewUnrouted = (into.previewUnrouted ?? 0) + s.previewUnrouted;
}

function addPools(a: PoolStats[], b: readonly PoolStats[]): PoolStats[] {
  const out = a.slice();
  for (const p of b) {
    const i = out.findIndex((x) => x.release === p.release);
    if (i < 0) out.push(copyPool(p));
    else out[i] = addPool(out[i]!, p);
  }
  return out.sort((x, y) => x.release - y.release);
}

function copyPool(p: PoolStats): PoolStats {
  return { ...p, byClass: { ...p.byClass }, latencyBuckets: p.latencyBuckets.slice() };
}

function addPool(a: PoolStats, b: PoolStats): PoolStats {
  const n = Math.max(a.latencyBuckets.length, b.latencyBuckets.length);
  return {
    release: a.release,
    requests: a.requests + b.requests,
    byClass: {
      '1xx': a.byClass['1xx'] + b.byClass['1xx'],
      '2xx': a.byClass['2xx'] + b.byClass['2xx'],
      '3xx': a.byClass['3xx'] + b.byClass['3xx'],
      '4xx': a.byClass['4xx'] + b.byClass['4xx'],
      '5xx': a.byClass['5xx'] + b.byClass['5xx'],
    },
    latencyBuckets: Array.from({ length: n }, (_, i) => (a.latencyBuckets[i] ?? 0) + (b.latencyBuckets[i] ?? 0)),
    latencySumMs: Math.round((a.latencySumMs + b.latencySumMs) * 1000) / 1000,
    inFlight: a.inFlight + b.inFlight,
  };
}

/** A worker's counters once it is gone: what it counted stays, nothing is in flight any more. */
function retiredCopy(services: readonly ServiceStats[]): ServiceStats[] {
  return services.map((s) => {
    const c = copyService(s);
    c.inFlightByBackend = {};
    for (const p of c.pools) p.inFlight = 0;
    for (const p of c.preview ?? []) p.inFlight = 0;
    return c;
  });
}

/**
 * The router's counters as one cumulative series for as long as the supervisor lives, whatever
 * happens to its workers: the sum of each live worker's latest reading plus the last reading of
 * every worker that is gone. A reader therefore never sees a sum go down when a worker is
 * replaced (what the dead worker counted after its last reading is lost, as a single worker's
 * counts were); `bootId` (the supervisor's) changes only when the supervisor does.
 */
export class CounterLedger {
  /** Latest reading per live worker, by the worker's boot id. */
  private readonly latest = new Map<string, ServiceStats[]>();
  private retired: ServiceStats[] = [];

  /** Records a worker's cumulative counters (its readings only ever grow). */
  record(worker: string, services: ServiceStats[]): void {
    this.latest.set(worker, services);
  }

  /** The worker is gone: its last reading is kept, without its in-flight gauges. */
  retire(worker: string): void {
    const last = this.latest.get(worker);
    if (last === undefined) return;
    this.latest.delete(worker);
    this.retired = sumServiceStats([this.retired, retiredCopy(last)]);
  }

  total(): ServiceStats[] {
    return sumServiceStats([this.retired, ...this.latest.values()]);
  }
}
