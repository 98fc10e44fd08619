import { InFlightList, type Listed } from './in-flight-list.js';
import type { PoolCounters, ServiceCounters } from './metrics.js';
import type { Pool } from './types.js';
import { UpstreamPool } from './upstream-connection.js';

/**
 * Something in flight on a backend (an HTTP exchange or a WebSocket tunnel) that a drain deadline
 * or a shutdown can cut short.
 */
export interface InFlight extends Listed {
  /** The backend it is counted on (set by ServiceProxy.attach). */
  backend: BackendState | null;
  /** The release counters it is counted in (set by ServiceProxy.attach). */
  counters: PoolCounters | null;
  /** True once it ended, normally or not. */
  done: boolean;
  /** True when the router cut it short (drain deadline, upstream timeout, shutdown). */
  abortedByRouter: boolean;
  /** True for preview-listener traffic: counted in the release's preview counters. */
  readonly preview: boolean;
  /** performance.now() when it began. */
  readonly start: number;
  /** Cuts it short when a wait has gone on past `limits` (see Timeouts); called about once a second. */
  expire(now: number, limits: Timeouts): void;
  /** Ends it now: `status` when no response has started, otherwise the response is ended. */
  abort(status: number): void;
}

/** How long the router waits before it gives up on an exchange (docs/router.md, "Timeouts"). */
export interface Timeouts {
  /** From the last byte of the request sent upstream to the response head. @default 60000 */
  upstreamMs: number;
  /** Longest pause inside a request or response body (either side stalling). @default 60000 */
  bodyIdleMs: number;
}

/** The live state of one upstream instance. Kept while it is in the table or has requests in flight. */
export class BackendState {
  inFlight = 0;
  /** False once the backend left the table: it gets no new requests and is forgotten when idle. */
  inTable = true;
  /** What is in flight on it, for drain deadlines, timeouts and shutdown (not a Set: see InFlightList). */
  readonly active = new InFlightList<InFlight>();
  /** Keep-alive connections to this backend. */
  pool: UpstreamPool;
  /** `host:port` (IPv6 in brackets): the Host sent upstream for a client that sent none. */
  authority: string;

  constructor(
    readonly id: string,
    public host: string,
    public port: number,
    /** Counters of the release this backend serves. */
    public counters: PoolCounters,
    /** Counters of the same release for preview-listener traffic. */
    public previewCounters: PoolCounters,
  ) {
    this.pool = new UpstreamPool(host, port);
    this.authority = authority(host, port);
  }

  /** Points the backend at a new address; connections to the old one close once idle. */
  moveTo(host: string, port: number): void {
    if (host === this.host && port === this.port) return;
    this.pool.close();
    this.host = host;
    this.port = port;
    this.authority = authority(host, port);
    this.pool = new UpstreamPool(host, port);
  }
}

class PoolState {
  /** Where the next least-loaded scan starts, so ties rotate. */
  rr = 0;
  constructor(
    readonly release: number,
    readonly weight: number,
    readonly backends: BackendState[],
  ) {}
}

/**
 * One service's pools and the choice of a backend for each request: a pool by weight (weighted
 * random over pools with weight > 0 and at least one backend), then the backend of that pool with
 * the fewest requests in flight, ties broken round-robin.
 */
export class Balancer {
  /** Every backend we still track, by id: those in the table and those draining. */
  readonly backends = new Map<string, BackendState>();
  private pools: PoolState[] = [];
  /** Pools that can take new traffic, and their total weight. */
  private live: PoolState[] = [];
  private totalWeight = 0;
  private byRelease = new Map<number, PoolState>();

  constructor(
    private readonly counters: ServiceCounters,
    /** Source of uniform numbers in [0, 1) for the weighted choice (injected by tests). */
    private readonly random: () => number = Math.random,
  ) {}

  /** Installs a new table. Backends that left it keep their in-flight count until they finish. */
  setPools(pools: Pool[]): void {
    const seen = new Set<string>();
    this.pools = pools.map((p) => {
      const counters = this.counters.forRelease(p.release);
      const previewCounters = this.counters.forPreview(p.release);
      const states = p.backends.map((b) => {
        seen.add(b.id);
        let s = this.backends.get(b.id);
        if (s === undefined) {
          s = new BackendState(b.id, b.host, b.port, counters, previewCounters);
          this.backends.set(b.id, s);
        } else {
          s.moveTo(b.host, b.port);
          s.counters = counters;
          s.previewCounters = previewCounters;
          s.inTable = true;
        }
        return s;
      });
      return new PoolState(p.release, p.weight, states);
    });
    for (const [id, s] of this.backends) {
      if (seen.has(id)) continue;
      s.inTable = false;
      if (s.inFlight === 0) this.forget(s);
    }
    this.live = this.pools.filter((p) => p.weight > 0 && p.backends.length > 0);
    this.totalWeight = this.live.reduce((sum, p) => sum + p.weight, 0);
    this.byRelease = new Map(this.pools.map((p) => [p.release, p]));
  }

  /**
   * True when `release` has a pool with backends (and, with `weighted`, a weight above 0): the
   * condition for header rules (unweighted) and sticky cookies (weighted) to apply.
   */
  canServe(release: number, weighted: boolean): boolean {
    const p = this.byRelease.get(release);
    return p !== undefined && p.backends.length > 0 && (!weighted || p.weight > 0);
  }

  /** The least-loaded backend of `release`'s pool not in `tried`, whatever its weight; undefined if none. */
  pickIn(release: number, tried: BackendState[] | null): BackendState | undefined {
    const p = this.byRelease.get(release);
    return p === undefined ? undefined : leastLoaded(p, tried);
  }

  /** Called when a request on a backend ends, so backends that left the table are forgotten once idle. */
  released(b: BackendState): void {
    if (!b.inTable && b.inFlight === 0 && this.backends.get(b.id) === b) this.forget(b);
  }

  /** Closes every idle upstream connection (shutdown). */
  closeConnections(): void {
    for (const b of this.backends.values()) b.pool.close();
  }

  private forget(b: BackendState): void {
    this.backends.delete(b.id);
    b.pool.close();
  }

  /**
   * The backend for a new request, or undefined when no pool can take it. `tried` lists backends
   * that already refused this request: a retry prefers another backend of a weighted pool, then
   * of any pool in the table.
   */
  pick(tried: BackendState[] | null): BackendState | undefined {
    if (tried === null) {
      const live = this.live;
      if (live.length === 0) return undefined;
      if (live.length === 1) return leastLoaded(live[0]!, null);
      let r = this.random() * this.totalWeight;
      for (let i = 0; i < live.length; i++) {
        const p = live[i]!;
        r -= p.weight;
        if (r < 0) return leastLoaded(p, null);
      }
      return leastLoaded(live[live.length - 1]!, null);
    }
    const untried = (p: PoolState) => p.backends.some((b) => !tried.includes(b));
    const weighted = this.live.filter(untried);
    if (weighted.length > 0) {
      let r = this.random() * weighted.reduce((sum, p) => sum + p.weight, 0);
      for (const p of weighted) {
        r -= p.weight;
        if (r < 0) return leastLoaded(p, tried);
      }
      return leastLoaded(weighted[weighted.length - 1]!, tried);
    }
    const rest = this.pools.find(untried);
    return rest === undefined ? undefined : leastLoaded(rest, tried);
  }
}

function leastLoaded(p: PoolState, tried: BackendState[] | null): BackendState | undefined {
  const list = p.backends;
  const n = list.length;
  let best: BackendState | undefined;
  let bestAt = 0;
  for (let k = 0; k < n; k++) {
    const at = (p.rr + k) % n;
    const b = list[at]!;
    if (tried !== null && tried.includes(b)) continue;
    if (best === undefined || b.inFlight < best.inFlight) {
      best = b;
      bestAt = at;
    }
  }
  if (best !== undefined) p.rr = (bestAt + 1) % n;
  return best;
}

function authority(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
