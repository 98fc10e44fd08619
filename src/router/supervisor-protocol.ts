/**
 * The messages between the router's supervisor (owns the listening sockets) and its proxy worker
 * (serves them), over the IPC channel of `child_process.fork`. Listening sockets travel as
 * handles beside a message (SCM_RIGHTS), never as data.
 */

/** What the supervisor tells a new worker about itself (shown by GET /v1/health). */
export interface SupervisorInfo {
  pid: number;
  startedAt: string;
  /** Random per supervisor process; router.json carries the same value. */
  bootId: string;
  /** Workers replaced since the supervisor started. */
  workerRestarts: number;
  /** Why the last worker was replaced, with when; null if none was. */
  lastProblem: string | null;
}

export type ToSupervisor =
  /** Open (or hand over again, if already held) a listening socket for host:port (0: any free port). */
  | { t: 'listen'; id: number; host: string; port: number }
  /** The worker listens on exactly these keys: the supervisor closes every other socket it holds, then answers `retained`. */
  | { t: 'retain'; id: number; keys: string[] }
  /** The worker restored the routes and serves the admin API. */
  | { t: 'ready'; bootId: string; pid: number }
  /** The worker is shutting the router down (POST /v1/shutdown, or a signal sent to it). */
  | { t: 'stopping'; reason: string };

export type ToWorker =
  /** Sent first, with the admin API's listening socket as the handle. */
  | { t: 'hello'; supervisor: SupervisorInfo }
  /** Answer to `listen`, with the listening socket as the handle. */
  | { t: 'listened'; id: number; port: number }
  /** Answer to `listen` when the socket could not be opened (`code`: EACCES, EADDRNOTAVAIL, ...). */
  | { t: 'listen-failed'; id: number; code: string }
  /** Answer to `retain`: the sockets not listed are closed (they refuse connections now). */
  | { t: 'retained'; id: number }
  /** Stop the router: finish requests in flight, then exit. */
  | { t: 'shutdown'; reason: string };

/** How both sides name a listening socket. */
export function listenerKey(host: string, port: number): string {
  return `${host}|${port}`;
}
