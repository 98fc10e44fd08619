/**
 * The route table the controller gives the router, and the counts the router gives back.
 * These types are shared by the router daemon (src/router/) and its client in the controller.
 */

/** One upstream instance. */
export interface Backend {
  /** Instance id (matches InstanceSpec.id). */
  id: string;
  host: string;
  port: number;
}

/** The instances of one release that serve together. */
export interface Pool {
  /** Release number; metrics are counted per pool under this label. */
  release: number;
  /**
   * Relative share of traffic for this pool among the service's pools (any non-negative numbers;
   * 0 means no new requests). Within a pool, requests go to the backend with the fewest in flight.
   */
  weight: number;
  backends: Backend[];
}

export interface ServiceRoute {
  service: string;
  listen: { host: string; port: number };
  pools: Pool[];
}

/** Latency histogram bucket upper bounds in milliseconds (the last bucket is +Inf). */
export const LATENCY_BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] as const;

/** Cumulative counts for one release of one service since the router process started. */
export interface PoolStats {
  release: number;
  requests: number;
  /** Responses by status class: "2xx", "3xx", "4xx", "5xx", plus "error" for proxy failures answered 502/504. */
  byClass: Record<'1xx' | '2xx' | '3xx' | '4xx' | '5xx', number>;
  /** Count per LATENCY_BUCKETS_MS bucket (length = buckets + 1, last is +Inf), time to response headers. */
  latencyBuckets: number[];
  latencySumMs: number;
  inFlight: number;
}

export interface ServiceStats {
  service: string;
  pools: PoolStats[];
  /** In-flight requests per backend id, including draining backends. */
  inFlightByBackend: Record<string, number>;
  /** Requests answered 503 because no pool had a backend; attributed to no release. (Added by the router; optional for other implementations.) */
  unrouted?: number;
}

export interface RouterStats {
  /** Random id of the router process: counts restart from zero when it changes. */
  bootId: string;
  services: ServiceStats[];
}

export interface DrainResult {
  /** Requests that finished during the drain. */
  completed: number;
  /** Requests still in flight at the deadline, answered 504 by the router. */
  aborted: number;
}
