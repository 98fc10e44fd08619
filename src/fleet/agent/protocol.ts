/**
 * What the controller and a host agent say to each other (ADR 0026). One request per stream: the
 * controller opens a stream to the agent's Unix socket through its SSH connection, writes one JSON
 * line and half-closes; the agent answers one JSON line and closes. `watch` is the exception: the
 * agent keeps the stream open and writes one line per instance change, each with a sequence
 * number that answers to `start` and `stop` also carry, so a client can wait until it has seen the
 * changes a call made before it reports the call done.
 */
import type { ErrorKind } from '../../core/errors.js';
import type { HealthCheck } from '../../health/health-check.js';
import type { InstanceSpec, InstanceStatus, LogRecord } from '../../drivers/driver.js';
import type { RouterHealth, RouterStats, ServiceRoute } from '../../router/types.js';
import type { LogPosition } from '../../drivers/local/log-after.js';
import type { InstalledAgent } from './agent-install.js';

/** Bumped when a request or answer changes shape; a controller upgrades an agent of another version. */
export const AGENT_PROTOCOL = 1;

/** One host's roll of one service to one release (the agent's part of a fleet rollout). */
export interface RollRequest {
  /** Unit name (environment-scope.ts): `web.production`. */
  service: string;
  release: number;
  instances: number;
  /** The spec of every new instance but its id (the agent names them). */
  spec: Omit<InstanceSpec, 'id'>;
  /** Where the host's router listens for the service. */
  listen: { host: string; port: number };
  health: { check: HealthCheck; intervalMs: number; healthyAfter: number };
  /** New instances must be healthy within this, or the roll fails and the host keeps what it ran. */
  deadlineMs: number;
  /** In-flight requests of a retired instance get this long, then the router answers 504. */
  stopTimeoutMs: number;
  /** Suffix of new instances' ids naming the host (`…-on-10.0.0.11`). */
  idSuffix: string;
  /** An image release: the image to pull by digest before anything starts (`spec.image` is it). */
  pull?: ImagePull;
  /**
   * The values of `spec.secrets`, decrypted by the controller: sent over the SSH stream only and
   * kept by the agent in a 0600 file for the release (agent-secrets.ts); never logged or answered.
   */
  secrets?: Record<string, string>;
}

/** An image to pull by digest on a host, with the registry's credentials for that pull only. */
export interface ImagePull {
  /** `registry/repo@sha256:…` */
  ref: string;
  /** Plain HTTP (registry.insecure). */
  insecure: boolean;
  auth?: { registry: string; username: string; password: string };
}

export interface RollResult {
  /** `already`: the release was serving with that many healthy instances; nothing changed. */
  outcome: 'rolled' | 'already';
  started: string[];
  retired: string[];
  durationMs: number;
  /**
   * Where `durationMs` went, in ms (the rollout's `roll` progress events carry it; bench/fleet.ts):
   * pull (images only), start, health (until every new instance is healthy), switch (the router's
   * route), drain (and stop the old). Absent from older agents.
   */
  phases?: { pullMs: number; startMs: number; healthMs: number; switchMs: number; drainMs: number };
}

/**
 * One host's share of a progressive fleet rollout (canary, blue-green: src/fleet/fleet-progressive.ts):
 * the releases the host runs side by side and the weight of each behind its router. Releases
 * listed get `instances` healthy instances each (new ones health-gated before the route changes),
 * the route is set in one change, and instances of releases not listed are drained and stopped.
 */
export interface SplitRequest {
  /** Unit name (environment-scope.ts). */
  service: string;
  listen: { host: string; port: number };
  /**
   * Each release the host runs, at its weight. `pull` and `secrets` are as in RollRequest: the
   * image pulled by digest before the release's first instance starts here, and the values of its
   * secrets, kept in the agent's 0600 file while the release runs (over the SSH stream only).
   */
  releases: {
    release: number;
    instances: number;
    spec: Omit<InstanceSpec, 'id'>;
    weight: number;
    pull?: ImagePull;
    secrets?: Record<string, string>;
  }[];
  /** A listener serving one release only (blue-green's preview port); none when omitted. */
  preview?: { port: number; release: number };
  rules?: ServiceRoute['rules'];
  stickiness?: ServiceRoute['stickiness'];
  health: RollRequest['health'];
  deadlineMs: number;
  stopTimeoutMs: number;
  idSuffix: string;
}

export interface SplitResult {
  started: string[];
  retired: string[];
  durationMs: number;
  /**
   * Where `durationMs` went, as in RollResult (pulls, starts and health waits summed over the
   * releases started; switch: the route's one change; drain: the retired instances' drain and
   * stop). The rollout's `split` progress events carry it (bench/fleet-traffic.ts). Absent from older agents.
   */
  phases?: RollResult['phases'];
}

/**
 * An analysis `http:` check of one release's instances on this host (a canary's on a fleet: the
 * instances listen on the host's loopback, out of the controller's reach; ADR 0026). Each running
 * instance of the release gets one GET of `path`.
 */
export interface ProbeRequest {
  /** Unit name (environment-scope.ts). */
  service: string;
  release: number;
  path: string;
  /** Statuses that pass. */
  expect: number[];
  /** Per instance. */
  timeoutMs: number;
}

/** One instance's answer to a ProbeRequest: `outcome` is "answered 500 'v3 failed'", or the connection error. */
export interface ProbeAnswer {
  id: string;
  ok: boolean;
  outcome: string;
}

/**
 * Where a reader of one instance's logs stands (`slipway logs` on a fleet, controller/fleet-logs.ts):
 * the capture time of the last line it took, and where each stream's read stopped (a hint: the
 * time decides, so a hint that no longer fits costs a reread, never a line).
 */
export interface LogCursor {
  at: number;
  out?: LogPosition;
  err?: LogPosition;
}

/**
 * The logs of a service's instances on the host (one answer per host, however many instances).
 * Without `after`: each instance's newest `lines` lines (none before `sinceMs`), as `readLogs`.
 * With `after`: each instance's oldest lines after its cursor (an instance with none, such as one
 * a rollout started since: after `sinceMs`, else from its first line), at most `lines` each;
 * instances in `after` the host no longer runs are read too (their last lines). `lines` is capped
 * at a page (agent-logs.ts): the answer never holds a whole file.
 */
export interface ServiceLogsRequest {
  /** Unit name (environment-scope.ts). */
  service: string;
  lines: number;
  sinceMs?: number;
  after?: Record<string, LogCursor>;
}

export interface ServiceLogsAnswer {
  instances: {
    id: string;
    /** null for an instance the host no longer runs (the reader knows its release). */
    release: number | null;
    /** The host runs it (a retired instance's reader may let it go once it has its last lines). */
    listed: boolean;
    records: LogRecord[];
    /** Where the next read of this instance starts. */
    cursor: LogCursor;
    /** More lines after `cursor` than this answer held: ask again at once. */
    more: boolean;
  }[];
}

export type AgentRequest =
  | { op: 'hello' }
  | { op: 'list' }
  | { op: 'start'; spec: InstanceSpec }
  | { op: 'stop'; id: string; timeoutMs: number }
  | { op: 'logTail'; id: string; lines: number }
  | { op: 'readLogs'; id: string; lines: number; sinceMs?: number }
  | { op: 'logFiles'; id: string }
  | ({ op: 'serviceLogs' } & ServiceLogsRequest)
  | { op: 'roll'; roll: RollRequest }
  | { op: 'split'; split: SplitRequest }
  | { op: 'probe'; probe: ProbeRequest }
  | { op: 'routes' }
  | { op: 'stats' }
  | { op: 'routerHealth' }
  | { op: 'watch' }
  | { op: 'shutdown'; stopAll: boolean };

export interface Hello {
  protocol: number;
  pid: number;
  root: string;
  startedAt: number;
  hostname: string;
  /** The file the agent runs from (`<root>/releases/<digest>/agent-main.js` when installed): its version. */
  entry?: string;
  /** What runs containers on the host (podman preferred; docker when it has only docker); null: neither. Absent from older agents. */
  images?: 'podman' | 'docker' | null;
  /** The host's install.json when it describes this very agent (same entry): a controller finds it current in one round trip. Absent from older agents. */
  install?: InstalledAgent;
}

/** What each request answers (`seq`: the agent's event counter after the call). */
export interface AgentAnswers {
  hello: Hello;
  list: InstanceStatus[];
  start: { status: InstanceStatus; seq: number };
  stop: { seq: number };
  logTail: string[];
  readLogs: LogRecord[];
  logFiles: { stdout: string; stderr: string } | null;
  serviceLogs: ServiceLogsAnswer;
  roll: RollResult;
  split: SplitResult;
  probe: ProbeAnswer[];
  routes: ServiceRoute[];
  stats: RouterStats;
  routerHealth: RouterHealth | null;
  shutdown: { stopped: string[] };
}

/** A line of the `watch` stream. */
export interface WatchLine {
  seq: number;
  status: InstanceStatus;
}

/** An answer line: the value, or the error the agent hit (code, message, hint as SlipwayError has them). */
export type AgentReply<T> =
  { ok: true; value: T } | { ok: false; error: { kind: ErrorKind; code: string; message: string; hint?: string } };
