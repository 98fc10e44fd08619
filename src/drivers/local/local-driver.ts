/**
 * The local driver: instances are processes on this machine.
 *
 * Each instance is `/bin/sh -c <command>` in its own process group (so stop reaches everything it
 * started), detached and unref'd (so it outlives the controller), its output going to a log writer
 * process of its own (no pipes to the controller; docs/adr/0009-log-writer.md). Every instance is recorded in `<stateDir>/instances.json`
 * (pid + process start time, port, state), which lets a restarted controller adopt the instances
 * still running instead of starting them again. See docs/adr/0002-local-driver-process-model.md.
 */
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../core/clock.js';
import { SlipwayError } from '../../core/errors.js';
import { createLogger, type Logger } from '../../core/logger.js';
import type { InstanceSpec, InstanceStatus, LogRecord, RuntimeDriver } from '../driver.js';
import { freePort } from '../../core/free-port.js';
import { InstanceStore, type InstanceRecord } from './instance-store.js';
import { lastLinesOfInstance, logPaths, readInstanceLogs } from './log-files.js';
import { formatLogLine } from './log-line.js';
import { groupStillOurs, isSameProcessAlive, readProcStat, signalGroup } from './proc.js';
import { backoffMs, decideAfterExit } from './restart-policy.js';
import { spawnInstance } from './spawn-instance.js';
import { terminateGroup } from './terminate-group.js';

const driverLog = createLogger('driver');

export interface LocalDriverProps {
  /** Directory of instances.json and logs/. Shared by successive controllers on this machine. */
  stateDir: string;
  /** Times backoffs and uptimes (crash-loop detection). @default systemClock */
  clock?: Clock;
  /** Loopback address instances are reached at. @default '127.0.0.1' */
  host?: string;
  /** How often an adopted process (not our child, so no exit event) is checked for life. @default 200 */
  adoptedPollMs?: number;
  /** Where failures of background work (saving state) are logged; they do not stop supervision. @default the controller's format on stderr */
  log?: Logger;
  /**
   * The values of an instance's `spec.secrets`, asked for before every spawn (first start and each
   * restart, also after a controller restart), so that no value is ever written to instances.json.
   * A rejection fails that start like a spawn failure (its message is written to the instance's
   * stderr log, so it must name secrets, never values). @default none: a spec with secrets cannot start
   */
  secretEnv?: (spec: InstanceSpec) => Promise<Record<string, string>>;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** How long an exit or a stop waits for the instance's log writer to write the last lines. */
const WRITER_FLUSH_MS = 2000;

/** In-memory companion of a record: handles that cannot be persisted. */
interface Supervision {
  /** Bumped at every spawn and adoption, so a late exit event of an older process is ignored. */
  generation: number;
  child?: ChildProcess;
  /** The log writer of `child` (ours to wait for only while it is our child). */
  writer?: ChildProcess;
  poll?: NodeJS.Timeout;
  restart?: AbortController;
  stopping?: Promise<void>;
}

export class LocalDriver implements RuntimeDriver {
  private readonly clock: Clock;
  private readonly host: string;
  private readonly logDir: string;
  private readonly store: InstanceStore;
  private readonly props: LocalDriverProps;
  private readonly records = new Map<string, InstanceRecord>();
  private readonly sup = new Map<string, Supervision>();
  private readonly starting = new Map<string, Promise<InstanceStatus>>();
  private readonly listeners: ((s: InstanceStatus) => void)[] = [];
  private initialized = false;
  private detached = false;

  constructor(props: LocalDriverProps) {
    this.props = props;
    this.clock = props.clock ?? systemClock;
    this.host = props.host ?? '127.0.0.1';
    this.logDir = join(props.stateDir, 'logs');
    this.store = new InstanceStore(props.stateDir);
  }

  async init(): Promise<void> {
    if (this.initialized) return;
    this.initialized = true;
    for (const rec of this.store.load()) {
      this.records.set(rec.spec.id, rec);
      this.sup.set(rec.spec.id, { generation: 0 });
    }
    for (const rec of this.records.values()) this.resume(rec);
    this.persist();
  }

  async start(spec: InstanceSpec): Promise<InstanceStatus> {
    this.assertUsable();
    if (!ID.test(spec.id))
      throw SlipwayError.of('DRIVER_INSTANCE_ID_INVALID', `instance id "${spec.id}" is not usable in a file name`, {
        hint: 'Use letters, digits, ".", "_" and "-".',
      });
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
      const a = existing.spec;
      if (
        a.command !== spec.command ||
        a.releaseDir !== spec.releaseDir ||
        a.release !== spec.release ||
        (spec.port !== undefined && spec.port !== existing.port)
      ) {
        throw SlipwayError.of('DRIVER_INSTANCE_EXISTS', `instance ${spec.id} already exists with a different spec`, {
          hint: 'Stop it first, or start the new spec under a new id.',
        });
      }
      return this.status(existing);
    }
    if (!existsSync(spec.releaseDir) || !statSync(spec.releaseDir).isDirectory()) {
      throw SlipwayError.of('DRIVER_RELEASE_DIR_MISSING', `release directory ${spec.releaseDir} does not exist`, {
        hint: 'Extract the release before starting its instances.',
      });
    }
    const port = spec.port ?? (await freePort(this.host));
    const rec: InstanceRecord = {
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
    };
    let secretEnv: Record<string, string>;
    try {
      secretEnv = await this.secretEnv(spec);
    } catch (err) {
      throw SlipwayError.of('DRIVER_START_FAILED', `cannot start instance ${spec.id}: ${(err as Error).message}`, {
        cause: err,
        hint: (err as SlipwayError).hint,
      });
    }
    this.records.set(spec.id, rec);
    this.sup.set(spec.id, { generation: 0 });
    try {
      this.spawnProcess(rec, secretEnv);
    } catch (err) {
      this.records.delete(spec.id);
      this.sup.delete(spec.id);
      throw SlipwayError.of('DRIVER_START_FAILED', `cannot start instance ${spec.id}: ${(err as Error).message}`, { cause: err });
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

  private async stopOnce(rec: InstanceRecord, sup: Supervision, timeoutMs: number): Promise<void> {
    rec.stopRequested = true;
    sup.restart?.abort();
    this.persist();
    if (rec.pid !== null && groupStillOurs(rec.pid, rec.procStartTime)) {
      await terminateGroup(rec.pid, timeoutMs);
    }
    // The instance's last words are in its log once its writer has written them and exited.
    await this.writerDone(rec, sup);
    this.unsupervise(sup);
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
    if (!ID.test(id)) return [];
    return lastLinesOfInstance(logPaths(this.logDir, id), lines);
  }

  async readLogs(id: string, q: { lines: number; sinceMs?: number }): Promise<LogRecord[]> {
    if (!ID.test(id)) return [];
    return readInstanceLogs(logPaths(this.logDir, id), q);
  }

  logFiles(id: string): { stdout: string; stderr: string } | undefined {
    return this.records.has(id) ? logPaths(this.logDir, id) : undefined;
  }

  onChange(listener: (status: InstanceStatus) => void): void {
    this.listeners.push(listener);
  }

  async detach(): Promise<void> {
    this.detached = true;
    for (const sup of this.sup.values()) this.unsupervise(sup);
  }

  // ---- supervision -------------------------------------------------------------------------

  /** After a controller restart: adopt what still runs, account for what died meanwhile. */
  private resume(rec: InstanceRecord): void {
    if (rec.state === 'failed') {
      // Healing goes on where the previous controller left it.
      if (rec.nextRestartAt != null) this.scheduleRestart(rec, Math.max(0, rec.nextRestartAt - this.clock.now()));
      return;
    }
    if (rec.pid !== null && rec.procStartTime !== null && isSameProcessAlive(rec.pid, rec.procStartTime)) {
      // Whoever asked for the stop that was cut short will ask again; until then it serves.
      rec.stopRequested = false;
      rec.state = 'running';
      this.watchAdopted(rec);
      return;
    }
    // The shell died while no controller watched; what it started may live on in its group and
    // hold the port (and its log writer, waiting on that output): end the group before anything else.
    if (rec.pid !== null && groupStillOurs(rec.pid, rec.procStartTime)) signalGroup(rec.pid, 'SIGKILL');
    if (rec.stopRequested) {
      this.records.delete(rec.spec.id);
      this.sup.delete(rec.spec.id);
      this.emitStatus({ ...this.status(rec), state: 'stopped', pid: null });
      return;
    }
    if (rec.state === 'running') {
      // It died while no controller watched: nobody collected its exit status.
      this.handleExit(rec, null, null);
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
    if (!this.props.secretEnv)
      throw new Error(`it needs secrets (${spec.secrets.join(', ')}) and this driver was given no way to read them`);
    return this.props.secretEnv(spec);
  }

  private spawnProcess(rec: InstanceRecord, secretEnv: Record<string, string>): void {
    const { spec } = rec;
    const sup = this.sup.get(spec.id)!;
    const generation = ++sup.generation;
    const paths = logPaths(this.logDir, spec.id);
    const { child, writer } = spawnInstance(spec, rec.port, paths, secretEnv);
    sup.child = child;
    sup.writer = writer;
    rec.pid = child.pid ?? null;
    rec.procStartTime = rec.pid === null ? null : (readProcStat(rec.pid)?.startTime ?? null);
    const writerStart = writer.pid === undefined ? undefined : readProcStat(writer.pid)?.startTime;
    rec.logWriter = writer.pid === undefined || writerStart === undefined ? null : { pid: writer.pid, procStartTime: writerStart };
    rec.startedAt = this.clock.now();
    rec.state = 'running';
    rec.nextRestartAt = null;
    child.once('exit', (code, signal) => this.onExit(rec, generation, code, signal));
    child.once('error', (e) => {
      // Only spawn failures leave no pid; put the reason where `logTail` will show it.
      if (child.pid !== undefined) return;
      this.noteStartFailure(spec.id, e.message);
      this.onExit(rec, generation, null, null);
    });
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

  private watchAdopted(rec: InstanceRecord): void {
    const sup = this.sup.get(rec.spec.id)!;
    const generation = ++sup.generation;
    const pid = rec.pid!;
    const startTime = rec.procStartTime!;
    sup.poll = setInterval(() => {
      if (!isSameProcessAlive(pid, startTime)) this.onExit(rec, generation, null, null);
    }, this.props.adoptedPollMs ?? 200);
  }

  private onExit(rec: InstanceRecord, generation: number, code: number | null, signal: NodeJS.Signals | null): void {
    const sup = this.sup.get(rec.spec.id);
    if (this.detached || !sup || this.records.get(rec.spec.id) !== rec || sup.generation !== generation) return;
    clearInterval(sup.poll);
    sup.poll = undefined;
    sup.child = undefined;
    if (rec.stopRequested) {
      // stop() is waiting for the group to vanish; just keep the exit for the final status.
      rec.lastExit = this.exitInfo(rec, code, signal);
      return;
    }
    // The shell is gone; anything it left running in its group would hold the port the restart needs.
    if (rec.pid !== null && groupStillOurs(rec.pid, rec.procStartTime)) signalGroup(rec.pid, 'SIGKILL');
    // Report the exit once its last lines are in the log (a crash's reason usually is among them).
    const exitedAt = this.clock.now();
    void this.writerDone(rec, sup).then(() => {
      if (this.detached || this.records.get(rec.spec.id) !== rec || sup.generation !== generation || rec.stopRequested) return;
      this.handleExit(rec, code, signal, exitedAt);
    });
  }

  /**
   * Waits (at most WRITER_FLUSH_MS) for the log writer of the instance's last process to write
   * what it read and exit, which it does once every process of the instance has closed its output.
   */
  private async writerDone(rec: InstanceRecord, sup: Supervision): Promise<void> {
    const w = rec.logWriter;
    if (!w) return;
    const child = sup.writer;
    if (child && child.pid === w.pid) {
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, WRITER_FLUSH_MS);
          child.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    } else {
      // Adopted: not our child, so poll.
      const deadline = Date.now() + WRITER_FLUSH_MS;
      while (isSameProcessAlive(w.pid, w.procStartTime) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    }
  }

  private handleExit(rec: InstanceRecord, code: number | null, signal: string | null, at = this.clock.now()): void {
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

  private scheduleRestart(rec: InstanceRecord, delayMs: number): void {
    const sup = this.sup.get(rec.spec.id)!;
    const abort = new AbortController();
    sup.restart = abort;
    const gone = () => this.detached || this.records.get(rec.spec.id) !== rec || rec.stopRequested || abort.signal.aborted;
    this.clock.sleep(delayMs, abort.signal).then(
      async () => {
        if (gone()) return;
        let secretEnv: Record<string, string>;
        try {
          // Asked anew at every restart (values live in no file of ours), e.g. decrypted again after a controller restart.
          secretEnv = await this.secretEnv(rec.spec);
        } catch (err) {
          if (gone()) return;
          sup.restart = undefined;
          this.reportError(err, `restarting ${rec.spec.id}`);
          this.noteStartFailure(rec.spec.id, (err as Error).message);
          rec.restarts++;
          rec.startedAt = this.clock.now();
          this.handleExit(rec, null, null);
          return;
        }
        if (gone()) return;
        sup.restart = undefined;
        rec.restarts++;
        try {
          this.spawnProcess(rec, secretEnv);
        } catch (err) {
          this.reportError(err, `restarting ${rec.spec.id}`);
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

  private unsupervise(sup: Supervision): void {
    clearInterval(sup.poll);
    sup.poll = undefined;
    sup.restart?.abort();
    sup.child?.removeAllListeners('exit');
    sup.child = undefined;
    sup.writer = undefined;
  }

  private exitInfo(rec: InstanceRecord, code: number | null, signal: string | null, at = this.clock.now()) {
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

  private reportError(err: unknown, doing: string): void {
    const e = SlipwayError.of('DRIVER_BACKGROUND_FAILED', `local driver: ${doing}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
    (this.props.log ?? driverLog).warn(e.message);
  }

  private status(rec: InstanceRecord): InstanceStatus {
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

  private emit(rec: InstanceRecord): void {
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

  private assertUsable(): void {
    if (!this.initialized) throw SlipwayError.of('DRIVER_NOT_INITIALIZED', 'LocalDriver.init() must be called before start()');
    if (this.detached) throw SlipwayError.of('DRIVER_DETACHED', 'this LocalDriver was detached; create a new one to manage instances');
  }
}
