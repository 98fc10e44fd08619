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

/**
 * Sends requests whose headers match to one release, whatever its weight (e.g. `X-Canary: 1` to
 * the canary). Applies only while that release's pool has backends; otherwise the request is
 * balanced normally.
 */
export interface HeaderRule {
  /** Every listed header must be present; names are case-insensitive, values must match exactly. */
  match: { header: Record<string, string> };
  /** The release whose pool receives matching requests. */
  release: number;
}

/** A second listener that serves one release only (for testing it before it gets user traffic). */
export interface PreviewListener {
  host: string;
  /** 0 asks for a free port; the installed route holds the real one (kept by later updates with 0). */
  port: number;
  /** Every request goes to this release's pool, even at weight 0; 503 when it has no backends. */
  release: number;
}

export interface ServiceRoute {
  service: string;
  listen: { host: string; port: number };
  pools: Pool[];
  /** Header rules, tried in order before cookies and weights; the first that matches wins. @default [] */
  rules?: HeaderRule[];
  /**
   * `cookie`: every proxied response sets `slipway_<service>=<release>` (Path=/, HttpOnly,
   * SameSite=Lax) for the release that served it, and a request carrying it goes back to that
   * release while its pool has backends and weight > 0 (else it is balanced normally and the
   * cookie rewritten). Header rules win over the cookie. @default 'none'
   */
  stickiness?: 'cookie' | 'none';
  /** A preview listener; its traffic is counted apart (`ServiceStats.preview`). @default none */
  preview?: PreviewListener;
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
  /**
   * Requests that came through the preview listener, per release, counted here and NOT in `pools`
   * (so analysis of user traffic ignores them). Their in-flight counts do appear in
   * `inFlightByBackend`, since drains wait for them. (Router only; optional.)
   */
  preview?: PoolStats[];
  /** Preview requests answered 503 because the preview release had no backends. (Router only; optional.) */
  previewUnrouted?: number;
}

export interface RouterStats {
  /**
   * Random id of the router (its supervisor): counts restart from zero when it changes. Counts of
   * several proxy workers are summed, and stay monotonic when one is replaced (ADR 0014).
   */
  bootId: string;
  services: ServiceStats[];
}

export interface DrainResult {
  /** Requests that finished during the drain. */
  completed: number;
  /** Requests still in flight at the deadline, answered 504 by the router. */
  aborted: number;
}

/** `GET /v1/health`: the router's processes and what went wrong last. */
export interface RouterHealth {
  ok: boolean;
  /** The supervisor's pid (router.json's): it owns the listening sockets. */
  pid: number;
  /** The admin worker's pid (the process answering). */
  workerPid: number;
  /** Every proxy worker's pid, the admin worker first (ADR 0014). */
  workerPids: number[];
  /** = RouterStats.bootId: the supervisor's; counters restart only when it changes. */
  bootId: string;
  /** When the supervisor started (ISO). */
  startedAt: string;
  /** When this worker started (ISO). */
  workerStartedAt: string;
  routes: number;
  /** Restored routes whose listener could not be opened. */
  problems: string[];
  /** Workers the supervisor replaced since it started. */
  workerRestarts: number;
  /** Why the last worker was replaced, with when; null if none was. */
  lastProblem: string | null;
}
