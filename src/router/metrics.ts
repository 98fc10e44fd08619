import { LATENCY_BUCKETS_MS, type PoolStats, type ServiceStats } from './types.js';

const BUCKETS = LATENCY_BUCKETS_MS as readonly number[];

/**
 * Cumulative counters for one release of one service. Mutated on the hot path, so it is a plain
 * class with numeric fields and no allocation per observation.
 */
export class PoolCounters {
  /** Requests that ended: those answered (counted in a class) plus those the client gave up on first. */
  requests = 0;
  c1 = 0;
  c2 = 0;
  c3 = 0;
  c4 = 0;
  c5 = 0;
  readonly buckets: number[] = new Array<number>(BUCKETS.length + 1).fill(0);
  latencySumMs = 0;
  inFlight = 0;

  constructor(readonly release: number) {}

  /** Records the status and time to response headers of one response. */
  observe(status: number, latencyMs: number): void {
    if (status >= 500) this.c5++;
    else if (status >= 400) this.c4++;
    else if (status >= 300) this.c3++;
    else if (status >= 200) this.c2++;
    else this.c1++;
    let i = 0;
    while (i < BUCKETS.length && latencyMs > BUCKETS[i]!) i++;
    this.buckets[i]!++;
    this.latencySumMs += latencyMs;
  }

  snapshot(): PoolStats {
    return {
      release: this.release,
      requests: this.requests,
      byClass: { '1xx': this.c1, '2xx': this.c2, '3xx': this.c3, '4xx': this.c4, '5xx': this.c5 },
      latencyBuckets: this.buckets.slice(),
      latencySumMs: Math.round(this.latencySumMs * 1000) / 1000,
      inFlight: this.inFlight,
    };
  }
}

/** Counters per release of one service, kept for the life of the process (cumulative since boot). */
export class ServiceCounters {
  private readonly pools = new Map<number, PoolCounters>();
  /** Preview-listener traffic, kept apart so that analysis of user traffic does not see it. */
  private readonly previews = new Map<number, PoolCounters>();
  /** Requests answered 503 because no pool had a backend: attributed to no release. */
  unrouted = 0;
  /** Preview requests answered 503 because the preview release had no backends. */
  previewUnrouted = 0;

  /** Counters holding a stats reading (counters summed over several workers, for the Prometheus exposition). */
  static fromStats(s: ServiceStats): ServiceCounters {
    const c = new ServiceCounters();
    for (const p of s.pools) fill(c.forRelease(p.release), p);
    for (const p of s.preview ?? []) fill(c.forPreview(p.release), p);
    c.unrouted = s.unrouted ?? 0;
    c.previewUnrouted = s.previewUnrouted ?? 0;
    return c;
  }

  /** The counters for `release`, created on first use. */
  forRelease(release: number): PoolCounters {
    return counters(this.pools, release);
  }

  /** The counters for preview traffic to `release`, created on first use. */
  forPreview(release: number): PoolCounters {
    return counters(this.previews, release);
  }

  /** The counters objects themselves (for the Prometheus exposition), by release. */
  releases(): PoolCounters[] {
    return sorted(this.pools);
  }
  previewReleases(): PoolCounters[] {
    return sorted(this.previews);
  }

  snapshot(): PoolStats[] {
    return sorted(this.pools).map((c) => c.snapshot());
  }

  previewSnapshot(): PoolStats[] {
    return sorted(this.previews).map((c) => c.snapshot());
  }
}

function counters(map: Map<number, PoolCounters>, release: number): PoolCounters {
  let c = map.get(release);
  if (c === undefined) {
    c = new PoolCounters(release);
    map.set(release, c);
  }
  return c;
}

function sorted(map: Map<number, PoolCounters>): PoolCounters[] {
  return [...map.values()].sort((a, b) => a.release - b.release);
}

function fill(c: PoolCounters, p: PoolStats): void {
  c.requests = p.requests;
  c.c1 = p.byClass['1xx'];
  c.c2 = p.byClass['2xx'];
  c.c3 = p.byClass['3xx'];
  c.c4 = p.byClass['4xx'];
  c.c5 = p.byClass['5xx'];
  for (let i = 0; i < c.buckets.length; i++) c.buckets[i] = p.latencyBuckets[i] ?? 0;
  c.latencySumMs = p.latencySumMs;
  c.inFlight = p.inFlight;
}
