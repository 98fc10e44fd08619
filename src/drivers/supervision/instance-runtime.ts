/**
 * What a supervised driver needs from the thing that runs an instance: a process (drivers/local)
 * or a container (drivers/podman). Everything else (bookkeeping, adoption after a controller
 * restart, exit handling, restart backoff, crash loops and their healing, waiting for the log
 * writer, saving state) is the same for both and lives once in `SupervisedDriver`.
 */
import type { ChildProcess } from 'node:child_process';
import type { InstanceSpec } from '../driver.js';
import type { InstanceRecord } from '../local/instance-store.js';
import type { LogPaths } from '../local/log-files.js';

/** How an instance's run ended, as far as it is known (null when unknown, e.g. a process we did not spawn). */
export interface ExitCode {
  code: number | null;
  signal: string | null;
}

/**
 * One run (one process, one container) of an instance, handed to the runtime by the supervisor.
 * Calls that come after the run was superseded (a restart, a stop, a detach) are ignored.
 */
export interface Run {
  /** Where the run's output goes: the instance's log files. */
  readonly logs: LogPaths;
  /** The run's main process is `pid`: recorded with its start time, so a later driver can adopt it. */
  running(pid: number | undefined): void;
  /** The run's output goes through this log writer, waited for (briefly) after the run ends. */
  logWriter(writer: ChildProcess): void;
  /** How to stop watching the run (a timer, listeners): called once it ended, and on stop and detach. */
  onUnwatch(unwatch: () => void): void;
  /** The run's main process is gone; the runtime's `reap` may still learn how it ended. */
  exited(exit: ExitCode): void;
  /** Puts a line of Slipway's into the instance's stderr log (where `logTail` and `slipway logs` show it). */
  note(why: string): void;
  /** The run could not start: `note(why)`, then it counts as an exit. */
  failed(why: string): void;
}

export interface InstanceRuntime<R extends InstanceRecord = InstanceRecord> {
  /** The driver's class, for errors about its use ("LocalDriver.init() must be called …"). */
  readonly driverClass: string;
  /** The driver in warnings about background work ("local driver: restarting web-1: …"). */
  readonly driverName: string;
  /** Ids this runtime can name its files (and containers) after. */
  readonly idPattern: RegExp;
  /** Where the id is used, for the error about an unusable one ("a file name"). */
  readonly idUsedIn: string;
  /** How often a main process that is not our child (adopted, or a container's) is checked for life, in ms. */
  readonly pollMs: number;
  /** Throws when this runtime cannot run the spec at all (e.g. no image for podman). Optional. */
  checkSpec?(spec: InstanceSpec): void;
  /** Whether a new start of `spec` asks for the instance `rec` already is (then it is a no-op, else a conflict). */
  sameSpec(rec: R, spec: InstanceSpec): boolean;
  /**
   * Starts one run of `rec` with the secret values `secretEnv`: reports its pid, log writer and
   * exit through `run` (a main process that is not our child can be watched with `watchPid`).
   * Throws when it cannot start; the supervisor then calls `discard`.
   */
  launch(rec: R, secretEnv: Record<string, string>, run: Run): void | Promise<void>;
  /**
   * After the run's main process ended (and before its log writer is waited for): learns how it
   * ended and ends what it left behind that would keep the log writer waiting. `exit` is what the
   * watcher saw.
   */
  reap(rec: R, exit: ExitCode): ExitCode | Promise<ExitCode>;
  /** Stops the current run for good: SIGTERM, then SIGKILL after `timeoutMs`; resolves once it is gone. */
  terminate(rec: R, timeoutMs: number): Promise<void>;
  /** Clears away what is left of a run that ended, was stopped or failed to start (a container, stray processes). */
  discard(rec: R): void | Promise<void>;
}
