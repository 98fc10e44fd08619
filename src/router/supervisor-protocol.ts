/**
 * The messages between the router's supervisor (owns the listening sockets) and its proxy workers
 * (serve them), over the IPC channels of `child_process.fork`. Listening sockets travel as
 * handles beside a message (SCM_RIGHTS), never as data.
 *
 * With several workers (ADR 0014), one of them, the **admin worker**, serves the admin API, owns
 * routes.json and drives every change: it applies a change itself, then has the supervisor fan it
 * out to the other workers (`fanout` → `peer` → `peer-done` → `fanout-done`) and answers only once
 * every worker applied it. Counters are summed by the supervisor (`stats`), which outlives the
 * workers and so keeps the sums from going backwards when one is replaced.
 */
import type { DrainResult, RouterStats, ServiceRoute } from './types.js';

/** What the supervisor tells its workers about itself (shown by GET /v1/health). */
export interface SupervisorInfo {
  pid: number;
  startedAt: string;
  /** Random per supervisor process; router.json and RouterStats carry the same value. */
  bootId: string;
  /** Workers replaced since the supervisor started. */
  workerRestarts: number;
  /** Why the last worker was replaced, with when; null if none was. */
  lastProblem: string | null;
  /** The pids of the workers serving now (the admin worker first). */
  workerPids: number[];
}

/** A change or a question the admin worker sends to every other worker. */
export type PeerOp =
  /** Install exactly this table (the one just saved to routes.json). Result: null. */
  | { t: 'table'; routes: ServiceRoute[] }
  /** Drain these backends with this deadline. Result: DrainResult. */
  | { t: 'drain'; service: string; backendIds: string[]; timeoutMs: number }
  /** This worker's own counters. Result: RouterStats. */
  | { t: 'stats' };

export type PeerResult = null | DrainResult | RouterStats;

export type ToSupervisor =
  /** Open (or hand over again, if already held) a listening socket for host:port (0: any free port). */
  | { t: 'listen'; id: number; host: string; port: number }
  /**
   * The worker listens on exactly these keys: the supervisor closes every other socket it holds,
   * then answers `retained`. Only the admin worker's list counts (the others are answered at once).
   */
  | { t: 'retain'; id: number; keys: string[] }
  /** The worker restored the routes (and, for the admin worker, serves the admin API). */
  | { t: 'ready'; bootId: string; pid: number }
  /** The worker is shutting the router down (POST /v1/shutdown, or a signal sent to it). */
  | { t: 'stopping'; reason: string }
  /** Admin worker: send `op` to every other worker; answer `fanout-done` once all answered (or died). */
  | { t: 'fanout'; id: number; op: PeerOp }
  /** Another worker's answer to `peer`. */
  | { t: 'peer-done'; id: number; result: PeerResult }
  /** Admin worker: the counters summed over every worker, `own` being its own. Answered with `stats-sum`. */
  | { t: 'stats'; id: number; own: RouterStats };

export type ToWorker =
  /**
   * Sent first. The admin worker (`admin: true`) gets the admin API's listening socket as the
   * handle; the others get none.
   */
  | { t: 'hello'; supervisor: SupervisorInfo; admin: boolean }
  /** The supervisor's state changed (a worker replaced): for /v1/health. */
  | { t: 'info'; supervisor: SupervisorInfo }
  /** Answer to `listen`, with the listening socket as the handle. */
  | { t: 'listened'; id: number; port: number }
  /** Answer to `listen` when the socket could not be opened (`code`: EACCES, EADDRNOTAVAIL, ...). */
  | { t: 'listen-failed'; id: number; code: string }
  /** Answer to `retain`: the sockets not listed are closed (they refuse connections now). */
  | { t: 'retained'; id: number }
  /** Stop the router: finish requests in flight, then exit. */
  | { t: 'shutdown'; reason: string }
  /** To a worker other than the admin worker: apply or answer `op`, then send `peer-done` with the same id. */
  | { t: 'peer'; id: number; op: PeerOp }
  /** To the admin worker: every other worker's result (a worker that died meanwhile is left out). */
  | { t: 'fanout-done'; id: number; results: PeerResult[] }
  /** To the admin worker: the counters of every worker, summed. */
  | { t: 'stats-sum'; id: number; stats: RouterStats };

/** How both sides name a listening socket. */
export function listenerKey(host: string, port: number): string {
  return `${host}|${port}`;
}
