/**
 * A RuntimeDriver starts, stops and observes the instances of releases on one target.
 * The controller is the only caller. Implementations: `local` (processes on this machine),
 * `podman` (containers of images on this machine), and `runtime-switch` choosing between them.
 * Every implementation passes the shared conformance suite in `driver-contract.ts`.
 *
 * Instances must outlive the controller process: a driver never ties an instance's life to its
 * own (no pipes to the controller, detached process groups), and after a restart `init()` adopts
 * the instances recorded in its state directory instead of restarting them.
 */
export interface InstanceSpec {
  /** Unique, stable id, e.g. "web-3-k2x9". Used in log file names and the router's backend ids. */
  id: string;
  service: string;
  /** Release number this instance runs. */
  release: number;
  /** Directory holding the extracted release; the working directory of the process. */
  releaseDir: string;
  /**
   * Shell command line started with /bin/sh -c. For an image (below): run instead of the image's
   * entrypoint when not empty (the image then needs /bin/sh); empty runs the image as built.
   */
  command: string;
  /**
   * An OCI image reference pinned by digest (`repo@sha256:…`): the instance is a container of it,
   * run by a driver that runs images (drivers/podman). A non-empty `releaseDir` is then mounted at
   * the same path and made the working directory. Absent: a process (drivers/local).
   */
  image?: string;
  /** Extra environment. The driver adds PORT, SLIPWAY_RELEASE, SLIPWAY_INSTANCE and SLIPWAY_SERVICE. */
  env: Record<string, string>;
  /**
   * Names of secret variables. Their values are never part of the spec (which a driver stores):
   * the driver asks its owner for them at every start of a process (first start and every
   * restart), and keeps them only in the process's environment. Absent or empty: none.
   */
  secrets?: string[];
  /** Port to give the instance; when omitted the driver picks a free loopback port. */
  port?: number;
  /** Log rotation: rotate a stream's file when larger than this many bytes, keeping `logFiles` old files. */
  logMaxBytes: number;
  logFiles: number;
  /** Restart policy on unexpected exit. */
  restart: RestartPolicy;
}

export interface RestartPolicy {
  /** First backoff delay in ms; doubles each consecutive crash up to `maxBackoffMs`. @default 250 */
  initialBackoffMs: number;
  /** @default 10000 */
  maxBackoffMs: number;
  /**
   * Crash loop: this many exits each within `crashLoopWindowMs` of its start marks the instance
   * `failed` and stops restarting it. @default 4 exits, each under 10 s of uptime
   */
  crashLoopExits: number;
  crashLoopWindowMs: number;
  /**
   * Healing a crash loop (Kubernetes' CrashLoopBackOff): a `failed` instance is tried again after
   * this delay, doubling after each try that exits within `crashLoopWindowMs` again, up to
   * `crashLoopMaxRetryMs`. A run longer than `crashLoopWindowMs` resets it. 0: `failed` is final.
   * Detection is unchanged, so a caller that must give up fast (a rollout) still sees `failed`
   * within seconds and stops the instance before its first retry. @default 1000 (1 s … 5 min)
   */
  crashLoopRetryMs: number;
  /** @default 300000 */
  crashLoopMaxRetryMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialBackoffMs: 250,
  maxBackoffMs: 10_000,
  crashLoopExits: 4,
  crashLoopWindowMs: 10_000,
  crashLoopRetryMs: 1000,
  crashLoopMaxRetryMs: 300_000,
};

/**
 * - `running`: the process is alive (it may not be healthy yet: health is the controller's concern).
 * - `restarting`: it exited unexpectedly and waits out its backoff before the next start.
 * - `failed`: crash loop detected. `lastExit` and `logTail` say why; `nextRestartAt` says when it
 *   is tried again (see `RestartPolicy.crashLoopRetryMs`), null when never.
 * - `stopped`: stopped on request.
 */
export type InstanceState = 'running' | 'restarting' | 'failed' | 'stopped';

export interface ExitInfo {
  /** Exit code, or null when killed by a signal or unknown (an adopted process whose parent we are not). */
  code: number | null;
  signal: string | null;
  at: number;
  /** Milliseconds the process ran before exiting. */
  uptimeMs: number;
}

export interface InstanceStatus {
  id: string;
  service: string;
  release: number;
  state: InstanceState;
  pid: number | null;
  port: number;
  host: string;
  startedAt: number;
  restarts: number;
  lastExit: ExitInfo | null;
  /** When the next restart is due (states `restarting` and `failed`), null when none is planned. */
  nextRestartAt: number | null;
}

/** One captured line of an instance's output. */
export interface LogRecord {
  /** Capture time, ms since the epoch (with a µs fraction); null when unknown. */
  at: number | null;
  stream: 'stdout' | 'stderr';
  text: string;
}

export interface RuntimeDriver {
  /** Loads durable state and adopts instances still alive. Call once before anything else. */
  init(): Promise<void>;
  /** Starts an instance and returns once its process is spawned (not once healthy). Idempotent per id. */
  start(spec: InstanceSpec): Promise<InstanceStatus>;
  /**
   * Stops an instance: SIGTERM to its process group, then SIGKILL after `timeoutMs`.
   * Resolves once the process is gone, and forgets the instance. Unknown ids resolve quietly.
   */
  stop(id: string, opts: { timeoutMs: number }): Promise<void>;
  /** Every instance the driver knows, including failed ones. */
  list(): InstanceStatus[];
  /** Last `lines` lines of the instance's stdout and stderr, interleaved by time where possible. */
  logTail(id: string, lines: number): Promise<string[]>;
  /**
   * The instance's newest lines (at most `lines`, none stamped before `sinceMs`), both streams in
   * time order, each with the time it was captured (`at: null` where the driver has none).
   */
  readLogs(id: string, q: { lines: number; sinceMs?: number }): Promise<LogRecord[]>;
  /**
   * Paths of the instance's current log files (for `slipway logs -f`). Lines are `<time> <text>`
   * (see local/log-line.ts); a file is rotated by renaming it to `<path>.1`, so a follower that
   * sees a new file at the path finishes the old one first.
   */
  logFiles(id: string): { stdout: string; stderr: string } | undefined;
  /** Called on every state change of an instance (exit, restart, failure). */
  onChange(listener: (status: InstanceStatus) => void): void;
  /** Stops supervising (timers) without stopping instances: they keep running for the next controller. */
  detach(): Promise<void>;
}
