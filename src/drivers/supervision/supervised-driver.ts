/**
 * A RuntimeDriver that supervises its instances itself, whatever runs them (an `InstanceRuntime`:
 * processes for drivers/local, containers for drivers/podman): one record per instance in
 * `<stateDir>/instances.json`, adoption of what still runs after a controller restart, exit
 * handling once the instance's last lines are in its log, restart with backoff, crash-loop
 * detection and healing (restart-policy.ts), and an event on every state change.
 */
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../core/clock.js';
import { SlipwayError } from '../../core/errors.js';
import { freePort } from '../../core/free-port.js';
import { createLogger, type Logger } from '../../core/logger.js';
import type { ExitInfo, InstanceSpec, InstanceStatus, LogRecord, RuntimeDriver } from '../driver.js';
import { InstanceStore, type InstanceRecord } from '../local/instance-store.js';
import { lastLinesOfInstance, logPaths, readInstanceLogs } from '../local/log-files.js';
import { formatLogLine } from '../local/log-line.js';
import { isSameProcessAlive, readProcStat } from '../local/proc.js';
import { backoffMs, decideAfterExit } from '../local/restart-policy.js';
import type { ExitCode, InstanceRuntime, Run } from './instance-runtime.js';
import { watchPid } from './watch-pid.js';
import { writerDone } from './writer-done.js';

const driverLog = createLogger('driver');

export interface SupervisedDriverProps {
  /** Directory of instances.json and logs/. Shared by successive controllers on this machine. */
  stateDir: string;
  /** Times backoffs and uptimes (crash-loop detection). @default systemClock */
  clock?: Clock;
  /** Loopback address instances are reached at. @default '127.0.0.1' */
  host?: string;
  /** Where failures of background work (saving state) are logged; they do not stop supervision. @default the controller's format on stderr */
  log?: Logger;
  /**
   * The values of an instance's `spec.secrets`, asked for before every start (first start and each
   * restart, also after a controller restart), so that no value is ever written to instances.json.
   * A rejection fails that start like a spawn failure (its message is written to the instance's
   * stderr log, so it must name secrets, never values). @default none: a spec with secrets cannot start
   */
  secretEnv?: (spec: InstanceSpec) => Promise<Record<string, string>>;
}

/** In-memory companion of a record: handles that cannot be persisted. */
interface Supervision {
  /** Bumped at every start and adoption, so a late exit report of an older run is ignored. */
  generation: number;
  /** Stops watching the current run (set by the runtime). */
  unwatch?: () => void;
  /** The log writer of the current run while it is our child (else it is polled through /proc). */
  writer?: ChildProcess;
  restart?: AbortController;
  stopping?: Promise<void>;
}

export class SupervisedDriver<R extends InstanceRecord = InstanceRecord> implements RuntimeDriver {
  private readonly clock: Clock;
  private readonly host: string;
  private readonly logDir: string;
  private readonly store: InstanceStore;
  private readonly records = new Map<string, R>();
  private readonly sup = new Map<string, Supervision>();
  private readonly starting = new Map<string, Promise<InstanceStatus>>();
  private readonly listeners: ((s: InstanceStatus) => void)[] = [];
  private initialized = false;
  private detached = false;

  constructor(
    private readonly supervisedProps: SupervisedDriverProps,
    private readonly instanceRuntime: InstanceRuntime<R>,
  ) {
    this.clock = supervisedProps.clock ?? systemClock;
    this.host = supervisedProps.host ?? '127.0.0.1';
    this.logDir = join(supervisedProps.stateDir, 'logs');
    this.store = new InstanceStore(supervisedProps.stateDir);
  }

  async init(): Promise<void> {
    if (this.initialized) return;
    this.initialized = true;
    for (const rec of this.store.load() as R[]) {
      this.records.set(rec.spec.id, rec);
      this.sup.set(rec.spec.id, { generation: 0 });
    }
    for (const rec of [...this.records.values()]) this.resume(rec);
    this.persist();
  }

  start(spec: InstanceSpec): Promise<InstanceStatus> {
    const { driverClass, idPattern, idUsedIn } = this.instanceRuntime;
    if (!this.initialized) throw SlipwayError.of('DRIVER_NOT_INITIALIZED', `${driverClass}.init() must be called before start()`);
    if (this.detached) throw SlipwayError.of('DRIVER_DETACHED', `this ${driverClass} was detached; create a new one to manage instances`);
    if (!idPattern.test(spec.id))
      throw SlipwayError.of('DRIVER_INSTANCE_ID_INVALID', `instance id "${spec.id}" is not usable in ${idUsedIn}`, {
        hint: 'Use letters, digits, ".", "_" and "-".',
      });
    this.instanceRuntime.checkSpec?.(spec);
    const pending = this.starting.get(spec.id);
    if (pending) return pending;
    const p = this.startOnce(spec).finally(() => this.starting.delete(spec.id));
    this.starting.set(spec.id, p);
    return p;
  }

  private async startOnce(spec: InstanceSpec): Promise<InstanceStatus> {
    await this.sup.get(spec.id)?.stopping;
    const existing = this.records.get(spec.id);
    if (existing) {
      if (!this.instanceRuntime.sameSpec(existing, spec) || (spec.port !== undefined && spec.port !== existing.port))
        throw SlipwayError.of('DRIVER_INSTANCE_EXISTS', `instance ${spec.id} already exists with a different spec`, {
          hint: 'Stop it first, or start the new spec under a new id.',
        });
      return this.status(existing);
    }
    // A process runs in its release directory; an image may run without one (drivers/driver.ts).
    if ((spec.releaseDir || !spec.image) && (!existsSync(spec.releaseDir) || !statSync(spec.releaseDir).isDirectory()))
      throw SlipwayError.of('DRIVER_RELEASE_DIR_MISSING', `release directory ${spec.releaseDir} does not exist`, {
        hint: 'Extract the release before starting its instances.',
      });
    const port = spec.port ?? (await freePort(this.host));
    const rec = {
      spec,
      port,
      pid: null,
      procStartTime: null,
      startedAt: this.clock.now(),
      restarts: 0,
      state: 'running',
      lastExit: null,
      quickExits: 0,
      crashLoops: 0,
      nextRestartAt: null,
      stopRequested: false,
    } satisfies InstanceRecord as R;
    let secretEnv: Record<string, string>;
    try {
      secretEnv = await this.secretEnv(spec);
    } catch (err) {
      throw startFailed(spec.id, err);
    }
    this.records.set(spec.id, rec);
    const sup: Supervision = { generation: 0 };
    this.sup.set(spec.id, sup);
    try {
      await this.launch(rec, sup, secretEnv);
    } catch (err) {
      this.records.delete(spec.id);
      this.sup.delete(spec.id);
      this.unwatch(sup);
      void this.discard(rec);
      throw startFailed(spec.id, err);
    }
    this.persist();
    this.emit(rec);
    return this.status(rec);
  }

  stop(id: string, opts: { timeoutMs: number }): Promise<void> {
    const rec = this.records.get(id);
    const sup = this.sup.get(id);
    if (!rec || !sup) return Promise.resolve();
    // Concurrent stops share one attempt; a failed attempt is forgotten so a later stop can retry.
    sup.stopping ??= this.stopOnce(rec, sup, opts.timeoutMs).catch((err: unknown) => {
      sup.stopping = undefined;
      throw err;
    });
    return sup.stopping;
  }

  private async stopOnce(rec: R, sup: Supervision, timeoutMs: number): Promise<void> {
    rec.stopRequested = true;
    sup.restart?.abort();
    this.persist();
    await this.instanceRuntime.terminate(rec, timeoutMs);
    // The instance's last words are in its log once its writer has written them and exited.
    await this.writerDone(rec, sup);
    this.unwatch(sup);
    await this.discard(rec);
    this.records.delete(rec.spec.id);
    this.sup.delete(rec.spec.id);
    this.persist();
    this.emitStatus({ ...this.status(rec), state: 'stopped', pid: null });
  }

  list(): InstanceStatus[] {
    return [...this.records.values()].map((r) => this.status(r));
  }

  /** Stdout's and stderr's last lines in the order they were written. Works for stopped instances, whose logs are kept. */
  async logTail(id: string, lines: number): Promise<string[]> {
    return this.instanceRuntime.idPattern.test(id) ? lastLinesOfInstance(logPaths(this.logDir, id), lines) : [];
  }

  async readLogs(id: string, q: { lines: number; sinceMs?: number }): Promise<LogRecord[]> {
    return this.instanceRuntime.idPattern.test(id) ? readInstanceLogs(logPaths(this.logDir, id), q) : [];
  }

  logFiles(id: string): { stdout: string; stderr: string } | undefined {
    return this.records.has(id) ? logPaths(this.logDir, id) : undefined;
  }

  onChange(listener: (status: InstanceStatus) => void): void {
    this.listeners.push(listener);
  }

  async detach(): Promise<void> {
    this.detached = true;
    for (const sup of this.sup.values()) {
      this.unwatch(sup);
      sup.restart?.abort();
    }
  }

  // ---- supervision -------------------------------------------------------------------------

  /** After a controller restart: adopt what still runs, account for what died meanwhile. */
  private resume(rec: R): void {
    const sup = this.sup.get(rec.spec.id)!;
    if (rec.state === 'failed') {
      // Healing goes on where the previous controller left it.
      if (rec.nextRestartAt != null) this.scheduleRestart(rec, Math.max(0, rec.nextRestartAt - this.clock.now()));
      return;
    }
    if (rec.pid !== null && rec.procStartTime !== null && isSameProcessAlive(rec.pid, rec.procStartTime)) {
      // Whoever asked for the stop that was cut short will ask again; until then it serves.
      rec.stopRequested = false;
      rec.state = 'running';
      watchPid(rec.pid, rec.procStartTime, this.newRun(rec, sup), this.instanceRuntime.pollMs);
      return;
    }
    if (rec.stopRequested) {
      void this.discard(rec);
      this.records.delete(rec.spec.id);
      this.sup.delete(rec.spec.id);
      this.emitStatus({ ...this.status(rec), state: 'stopped', pid: null });
      return;
    }
    if (rec.state === 'running') {
      // It died while no controller watched: nobody collected its exit status (the runtime may still learn it).
      this.newRun(rec, sup);
      this.exited(rec, sup.generation, { code: null, signal: null }, true);
      return;
    }
    this.scheduleRestart(
      rec,
      rec.nextRestartAt != null ? Math.max(0, rec.nextRestartAt - this.clock.now()) : backoffMs(rec.spec.restart, rec.quickExits),
    );
  }

  /** The values of the spec's secrets, from the driver's owner; none without secrets. */
  private async secretEnv(spec: InstanceSpec): Promise<Record<string, string>> {
    if (!spec.secrets?.length) return {};
    if (!this.supervisedProps.secretEnv)
      throw new Error(`it needs secrets (${spec.secrets.join(', ')}) and this driver was given no way to read them`);
    return this.supervisedProps.secretEnv(spec);
  }

  /** Starts one run of the instance through the runtime. */
  private launch(rec: R, sup: Supervision, secretEnv: Record<string, string>): void | Promise<void> {
    this.unwatch(sup);
    sup.writer = undefined;
    rec.logWriter = null;
    // Running from here on: a process may serve before the runtime returns.
    rec.state = 'running';
    rec.startedAt = this.clock.now();
    rec.nextRestartAt = null;
    return this.instanceRuntime.launch(rec, secretEnv, this.newRun(rec, sup));
  }

  /** The handle of a new run of `rec` (a new generation: reports of older runs are ignored from now on). */
  private newRun(rec: R, sup: Supervision): Run {
    const generation = ++sup.generation;
    const mine = () => this.sup.get(rec.spec.id) === sup && sup.generation === generation;
    return {
      logs: logPaths(this.logDir, rec.spec.id),
      running: (pid) => {
        rec.pid = pid ?? null;
        rec.procStartTime = rec.pid === null ? null : (readProcStat(rec.pid)?.startTime ?? null);
      },
      logWriter: (writer) => {
        sup.writer = writer;
        const startTime = writer.pid === undefined ? undefined : readProcStat(writer.pid)?.startTime;
        rec.logWriter = writer.pid === undefined || startTime === undefined ? null : { pid: writer.pid, procStartTime: startTime };
      },
      onUnwatch: (unwatch) => {
        if (mine()) sup.unwatch = unwatch;
        else unwatch();
      },
      exited: (exit) => this.exited(rec, generation, exit),
      note: (why) => this.noteStartFailure(rec.spec.id, why),
      failed: (why) => {
        this.noteStartFailure(rec.spec.id, why);
        this.exited(rec, generation, { code: null, signal: null });
      },
    };
  }

  /**
   * The current run's main process ended: report the exit once its last lines are in the log.
   * `unwatched`: it ended while no driver watched (found by `init`), long enough ago that there is
   * no writer to wait for; with a runtime that knows the exit at once, it is reported before `init` returns.
   */
  private exited(rec: R, generation: number, exit: ExitCode, unwatched = false): void {
    const sup = this.sup.get(rec.spec.id);
    if (this.detached || !sup || this.records.get(rec.spec.id) !== rec || sup.generation !== generation) return;
    this.unwatch(sup);
    if (rec.stopRequested) {
      // stop() is waiting for the run to vanish; just keep the exit for the final status.
      rec.lastExit = this.exitInfo(rec, exit.code, exit.signal);
      return;
    }
    const exitedAt = this.clock.now();
    const report = (reaped: ExitCode) => {
      if (!this.current(rec, generation)) return;
      void this.discard(rec);
      this.handleExit(rec, reaped.code, reaped.signal, exitedAt);
    };
    // reap first: it ends what would keep the log writer waiting (the rest of a process group).
    const reaped = this.instanceRuntime.reap(rec, exit);
    if (unwatched && !(reaped instanceof Promise)) return report(reaped);
    void Promise.all([reaped, unwatched ? undefined : this.writerDone(rec, sup)]).then(
      ([r]) => report(r),
      (err: unknown) => this.reportError(err, `collecting the exit of ${rec.spec.id}`),
    );
  }

  private current(rec: R, generation: number): boolean {
    const sup = this.sup.get(rec.spec.id);
    return !this.detached && !!sup && this.records.get(rec.spec.id) === rec && sup.generation === generation && !rec.stopRequested;
  }

  private writerDone(rec: R, sup: Supervision): Promise<void> {
    return writerDone(rec.logWriter, sup.writer);
  }

  private handleExit(rec: R, code: number | null, signal: string | null, at = this.clock.now()): void {
    rec.lastExit = this.exitInfo(rec, code, signal, at);
    rec.pid = null;
    rec.procStartTime = null;
    const decision = decideAfterExit(
      rec.spec.restart,
      { quickExits: rec.quickExits, crashLoops: rec.crashLoops ?? 0 },
      rec.lastExit.uptimeMs,
    );
    rec.quickExits = decision.quickExits;
    rec.crashLoops = decision.crashLoops;
    rec.state = decision.action === 'fail' ? 'failed' : 'restarting';
    const delayMs = decision.action === 'fail' ? decision.retryInMs : decision.delayMs;
    rec.nextRestartAt = delayMs === null ? null : rec.lastExit.at + delayMs;
    this.persistInBackground();
    this.emit(rec);
    if (delayMs !== null) this.scheduleRestart(rec, delayMs);
  }

  private scheduleRestart(rec: R, delayMs: number): void {
    const sup = this.sup.get(rec.spec.id)!;
    const abort = new AbortController();
    sup.restart = abort;
    const gone = () => this.detached || this.records.get(rec.spec.id) !== rec || rec.stopRequested || abort.signal.aborted;
    this.clock.sleep(delayMs, abort.signal).then(
      async () => {
        if (gone()) return;
        sup.restart = undefined;
        rec.restarts++;
        try {
          // Asked anew at every restart (values live in no file of ours), e.g. decrypted again after a controller restart.
          const secretEnv = await this.secretEnv(rec.spec);
          if (gone()) return;
          await this.launch(rec, sup, secretEnv);
        } catch (err) {
          if (gone()) return;
          this.reportError(err, `restarting ${rec.spec.id}`);
          this.noteStartFailure(rec.spec.id, (err as Error).message);
          this.unwatch(sup);
          void this.discard(rec);
          // A start that failed counts as a run that ended at once (a crash loop, when it keeps failing).
          rec.startedAt = this.clock.now();
          this.handleExit(rec, null, null);
          return;
        }
        this.persistInBackground();
        this.emit(rec);
      },
      () => {
        /* aborted by stop or detach */
      },
    );
  }

  private unwatch(sup: Supervision): void {
    const unwatch = sup.unwatch;
    sup.unwatch = undefined;
    unwatch?.();
  }

  /** The runtime's clean-up of a run; its failure is reported, never thrown (the record goes on). */
  private async discard(rec: R): Promise<void> {
    try {
      await this.instanceRuntime.discard(rec);
    } catch (err) {
      this.reportError(err, `clearing away ${rec.spec.id}`);
    }
  }

  /** Puts why an instance could not start into its stderr log, where `logTail` and `slipway logs` show it. */
  private noteStartFailure(id: string, why: string): void {
    try {
      mkdirSync(this.logDir, { recursive: true });
      appendFileSync(logPaths(this.logDir, id).stderr, formatLogLine(this.clock.now(), `slipway: cannot start instance: ${why}`));
    } catch {
      /* the exit is still handled */
    }
  }

  private exitInfo(rec: R, code: number | null, signal: string | null, at = this.clock.now()): ExitInfo {
    return { code, signal, at, uptimeMs: Math.max(0, at - rec.startedAt) };
  }

  // ---- state, events ------------------------------------------------------------------------

  private persist(): void {
    // A detached driver has handed the state file to its successor: writing it would undo theirs.
    if (this.detached) return;
    this.store.save(this.records.values());
  }

  /** Saves from an event handler: the state in memory stays right, and the next save catches up. */
  private persistInBackground(): void {
    try {
      this.persist();
    } catch (err) {
      this.reportError(err, `saving ${this.store.path}`);
    }
  }

  /** Logs a failure of background work (it does not stop supervision). */
  private reportError(err: unknown, doing: string): void {
    const e = SlipwayError.of(
      'DRIVER_BACKGROUND_FAILED',
      `${this.instanceRuntime.driverName}: ${doing}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
    (this.supervisedProps.log ?? driverLog).warn(e.message);
  }

  private status(rec: R): InstanceStatus {
    return {
      id: rec.spec.id,
      service: rec.spec.service,
      release: rec.spec.release,
      state: rec.state,
      pid: rec.pid,
      port: rec.port,
      host: this.host,
      startedAt: rec.startedAt,
      restarts: rec.restarts,
      lastExit: rec.lastExit,
      nextRestartAt: rec.nextRestartAt ?? null,
    };
  }

  private emit(rec: R): void {
    this.emitStatus(this.status(rec));
  }

  private emitStatus(s: InstanceStatus): void {
    for (const l of this.listeners) {
      try {
        l(s);
      } catch (err) {
        this.reportError(err, 'calling an onChange listener');
      }
    }
  }
}

function startFailed(id: string, err: unknown): SlipwayError {
  return SlipwayError.of('DRIVER_START_FAILED', `cannot start instance ${id}: ${(err as Error).message}`, {
    cause: err,
    hint: (err as SlipwayError).hint,
  });
}
