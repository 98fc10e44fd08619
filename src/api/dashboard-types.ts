/** Answers of the two reads the web dashboard added (dashboard-routes.ts); the page imports these types. */
import type { Role } from '../store/access-types.js';

/** `GET /v1/whoami`: the token that asks, and the environments it may see. */
export interface WhoAmIResponse {
  name: string;
  role: Role;
  /** The environments the token may act on; null: all of them. */
  environments: string[] | null;
  /** Every environment of the project this token may see, sorted. */
  visibleEnvironments: string[];
  /** The environment a request without `?env=` acts on; null when the config names several and no default. */
  defaultEnvironment: string | null;
}

/** One release's counts since the router started (they only grow while `bootId` stays the same). */
export interface TrafficPool {
  release: number;
  requests: number;
  errors5xx: number;
  /** Count per bucket of `bucketsMs` (time to response headers), the last one past the largest bound. */
  latencyBuckets: number[];
  latencySumMs: number;
}

/** `GET /v1/services/NAME/traffic`: what the router counted per release, for rates between two reads. */
export interface TrafficResponse {
  service: string;
  environment: string;
  at: number;
  /** The router's id: counts restart from zero when it changes. null: the router does not answer. */
  bootId: string | null;
  bucketsMs: number[];
  pools: TrafficPool[];
}
