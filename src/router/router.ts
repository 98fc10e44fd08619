import type { DrainResult, RouterHealth, RouterStats, ServiceRoute } from './types.js';

/** What ensureRunning did. */
export interface RouterStart {
  /** A new router process was started (false: the running one was adopted). */
  started: boolean;
  pid: number;
  /** The pid of a router that had died (its router.json was left behind), replaced by this start. */
  replaced: number | null;
}

/**
 * The controller's view of the data plane's traffic router. The built-in implementation
 * (`LocalRouter` in local-router.ts) talks to the router daemon over its admin API; a Kubernetes
 * one would set Gateway API route weights instead.
 */
export interface TrafficRouter {
  /** Starts the router if it is not running, or adopts the running one. Its routes survive restarts. */
  ensureRunning(): Promise<RouterStart>;
  /** Whether the router process is alive (cheap: asked every reconcile tick). */
  alive(): boolean;
  /** The router's processes and their last problem. */
  health(): Promise<RouterHealth>;
  /** Replaces the service's route table. Backends no longer in any pool start draining (no new requests). */
  setRoute(route: ServiceRoute): Promise<void>;
  /** Stops listening for the service (after the caller drained it). */
  removeRoute(service: string): Promise<void>;
  /** The current table, as the router holds it. */
  routes(): Promise<ServiceRoute[]>;
  /**
   * Waits until the listed backends (already removed from the route) have no request in flight,
   * or until `timeoutMs`; requests still running then are answered 504 by the router.
   */
  drain(service: string, backendIds: string[], timeoutMs: number): Promise<DrainResult>;
  /** Cumulative per-release counts. */
  stats(): Promise<RouterStats>;
  /** Stops the router process (used by `slipway down`). */
  shutdown(): Promise<void>;
}
