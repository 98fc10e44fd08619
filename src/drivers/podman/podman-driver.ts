/**
 * The podman driver: instances are OCI containers on this machine, run by digest with podman
 * (docs/adr/0022-container-releases.md). Slipway supervises them exactly as it supervises
 * processes (restart backoff, crash loops, healing: the shared RestartPolicy), not podman: podman's
 * restart policies and healthchecks need systemd, which these machines do not run.
 *
 * One start of an instance is one container (`<id>.<n>.<random>`), started with `podman run -d`:
 * host networking with PORT, `--log-driver passthrough` into the local driver's log writer (same
 * files and `LogRecord`s as processes), labels naming the instance. The container's main process
 * is an ordinary process of this machine (runc makes it a session leader), so the driver watches
 * its pid through /proc like the local driver watches an adopted process, asks `podman wait` for
 * the exit code, and stops it by signalling its process group (SIGTERM, then SIGKILL) before
 * `podman rm`. Instances are recorded in `<stateDir>/instances.json` and adopted by a new driver.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { constants } from 'node:os';
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
import { terminateGroup } from '../local/terminate-group.js';
import { startLogWriter } from './log-writer-spawn.js';
import { PodmanCli, runArgs } from './podman-cli.js';

const driverLog = createLogger('driver');
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$/;
const WRITER_FLUSH_MS = 2000;

export interface PodmanDriverProps {
  /** Directory of instances.json and logs/. */
  stateDir: string;
  /** How podman is run (binary, scratch configuration). @default podman from PATH */
  cli?: PodmanCli;
  clock?: Clock;
  /** Address instances are reached at (they run on the host network). @default '127.0.0.1' */
  host?: string;
  /** How often a container's main process is checked for life (a /proc read). @default 50 */
  pollMs?: number;
  log?: Logger;
  /** Secret values for a start, as the local driver's `secretEnv`: given to podman's environment only (`-e NAME`). */
  secretEnv?: (spec: InstanceSpec) => Promise<Record<string, string>>;
  /** Run containers in the host's pid namespace. Only the driver contract needs it (it checks pids from the host). @default false */
  hostPid?: boolean;
}

/** A local-driver record plus the container of the current start. */
interface PodmanRecord extends InstanceRecord {
  container?: string | null;
}

interface Supervision {
  generation: number;
  poll?: NodeJS.Timeout;
  restart?: AbortController;
  stopping?: Promise<void>;
  writerPid?: number;
}

export class PodmanDriver implements RuntimeDriver {
  readonly runtime = 'podman';
  readonly cli: PodmanCli;
  private readonly clock: Clock;
  private readonly host: string;
  private readonly logDir: string;
  /** podman's pid files, read once per start. */
  private readonly runDir: string;
  private readonly store: InstanceStore;
  private readonly records = new Map<string, PodmanRecord>();
  private readonly sup = new Map<string, Supervision>();
  private readonly starting = new Map<string, Promise<InstanceStatus>>();
  private readonly listeners: ((s: InstanceStatus) => void)[] = [];
  private initialized = false;
  private detached = false;

  constructor(private readonly props: PodmanDriverProps) {
    this.cli = props.cli ?? new PodmanCli();
    this.clock = props.clock ?? systemClock;
    this.host = props.host ?? '127.0.0.1';
    this.logDir = join(props.stateDir, 'logs');
    this.runDir = join(props.stateDir, 'run');
    this.store = new InstanceStore(props.stateDir);
  }

  async init(): Promise<void> {
    if (this.initialized) return;
    this.initialized = true;
    for (const rec of this.store.load() as PodmanRecord[]) {
      this.records.set(rec.spec.id, rec);
      this.sup.set(rec.spec.id, { generation: 0 });
    }
    for (const rec of [...this.records.values()]) this.resume(rec);
    this.persist();
  }

  start(spec: InstanceSpec): Promise<InstanceStatus> {
    if (!this.initialized) throw SlipwayError.of('DRIVER_NOT_INITIALIZED', 'PodmanDriver.init() must be called before start()');
    if (this.detached) throw SlipwayError.of('DRIVER_DETACHED', 'this PodmanDriver was detached; create a new one to manage instances');
    if (!ID.test(spec.id))
      throw SlipwayError.of('DRIVER_INSTANCE_ID_INVALID', `instance id "${spec.id}" is not usable in a container name`, {
        hint: 'Use letters, digits, ".", "_" and "-".',
      });
    if (!spec.image)
      throw SlipwayError.of('DRIVER_START_FAILED', `instance ${spec.id} has no image: the podman driver runs images only`, {
        hint: 'Give the service an `image:` (docs/containers.md), or run it with the process driver (`source:`).',
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
        a.image !== spec.image ||
        a.command !== spec.command ||
        a.release !== spec.release ||
        (spec.port !== undefined && spec.port !== existing.port)
      )
        throw SlipwayError.of('DRIVER_INSTANCE_EXISTS', `instance ${spec.id} already exists with a different spec`, {
          hint: 'Stop it first, or start the new spec under a new id.',
        });
      return this.status(existing);
    }
    if (spec.releaseDir && (!existsSync(spec.releaseDir) || !statSync(spec.releaseDir).isDirectory()))
      throw SlipwayError.of('DRIVER_RELEASE_DIR_MISSING', `release directory ${spec.releaseDir} does not exist`, {
        hint: 'Extract the release before starting its instances.',
      });
    const port = spec.port ?? (await freePort(this.host));
    const rec: PodmanRecord = {
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
      container: null,
    };
    let secretEnv: Record<string, string>;
    try {
      secretEnv = await this.secretEnv(spec);
    } catch (err) {
      throw SlipwayError.of('DRIVER_START_FAILED', `cannot start instance ${spec.id}: ${(err as Error).message}`, { cause: err });
    }
    this.records.set(spec.id, rec);
    const sup: Supervision = { generation: 0 };
    this.sup.set(spec.id, sup);
    try {
      await this.runContainer(rec, sup, secretEnv);
    } catch (err) {
      this.records.delete(spec.id);
      this.sup.delete(spec.id);
      if (rec.container) void this.remove(rec.container);
      throw SlipwayError.of('DRIVER_START_FAILED', `cannot start instance ${spec.id}: ${(err as Error).message}`, {
        cause: err,
        hint: (err as SlipwayError).hint,
      });
    }
    this.persist();
    this.emit(rec);
    return this.status(rec);
  }

  stop(id: string, opts: { timeoutMs: number }): Promise<void> {
    const rec = this.records.get(id);
    const sup = this.sup.get(id);
    if (!rec || !sup) return Promise.resolve();
    sup.stopping ??= this.stopOnce(rec, sup, opts.timeoutMs).catch((err: unknown) => {
      sup.stopping = undefined;
      throw err;
    });
    return sup.stopping;
  }

  private async stopOnce(rec: PodmanRecord, sup: Supervision, timeoutMs: number): Promise<void> {
    rec.stopRequested = true;
    sup.restart?.abort();
    clearInterval(sup.poll);
    this.persist();
    // Signals from here reach everything the container started (its main process leads its group).
    if (rec.pid !== null && rec.procStartTime !== null && isSameProcessAlive(rec.pid, rec.procStartTime))
      await terminateGroup(rec.pid, timeoutMs);
    await this.writerDone(rec);
    if (rec.container) await this.remove(rec.container);
    this.records.delete(rec.spec.id);
    this.sup.delete(rec.spec.id);
    this.persist();
    this.emitStatus({ ...this.status(rec), state: 'stopped', pid: null });
  }

  list(): InstanceStatus[] {
    return [...this.records.values()].map((r) => this.status(r));
  }

  async logTail(id: string, lines: number): Promise<string[]> {
    return ID.test(id) ? lastLinesOfInstance(logPaths(this.logDir, id), lines) : [];
  }

  async readLogs(id: string, q: { lines: number; sinceMs?: number }): Promise<LogRecord[]> {
    return ID.test(id) ? readInstanceLogs(logPaths(this.logDir, id), q) : [];
  }

  logFiles(id: string): { stdout: string; stderr: string } | undefined {
    return this.records.has(id) ? logPaths(this.logDir, id) : undefined;
  }

  onChange(listener: (status: InstanceStatus) => void): void {
    this.listeners.push(listener);
  }

  async detach(): Promise<void> {
    this.detached = true;
    for (const s of this.sup.values()) {
      clearInterval(s.poll);
      s.restart?.abort();
    }
  }

  // ---- supervision -------------------------------------------------------------------------

  private resume(rec: PodmanRecord): void {
    const sup = this.sup.get(rec.spec.id)!;
    if (rec.state === 'failed') {
      if (rec.nextRestartAt != null) this.scheduleRestart(rec, Math.max(0, rec.nextRestartAt - this.clock.now()));
      return;
    }
    if (rec.pid !== null && rec.procStartTime !== null && isSameProcessAlive(rec.pid, rec.procStartTime)) {
      rec.stopRequested = false;
      rec.state = 'running';
      this.watch(rec, sup);
      return;
    }
    if (rec.stopRequested) {
      if (rec.container) void this.remove(rec.container);
      this.records.delete(rec.spec.id);
      this.sup.delete(rec.spec.id);
      return;
    }
    if (rec.state === 'running') {
      void this.collectExit(rec, sup, ++sup.generation);
      return;
    }
    this.scheduleRestart(
      rec,
      rec.nextRestartAt != null ? Math.max(0, rec.nextRestartAt - this.clock.now()) : backoffMs(rec.spec.restart, rec.quickExits),
    );
  }

  private async secretEnv(spec: InstanceSpec): Promise<Record<string, string>> {
    if (!spec.secrets?.length) return {};
    if (!this.props.secretEnv)
      throw new Error(`it needs secrets (${spec.secrets.join(', ')}) and this driver was given no way to read them`);
    return this.props.secretEnv(spec);
  }

  /** Starts one container of the instance and watches its main process. */
  private async runContainer(rec: PodmanRecord, sup: Supervision, secretEnv: Record<string, string>): Promise<void> {
    const { spec } = rec;
    const name = `${spec.id}.${rec.restarts}.${randomBytes(2).toString('hex')}`;
    rec.container = name;
    const paths = logPaths(this.logDir, spec.id);
    mkdirSync(this.logDir, { recursive: true });
    const logs = await startLogWriter(paths, spec.logMaxBytes, spec.logFiles);
    sup.writerPid = logs.writer.pid;
    const wp = logs.writer.pid === undefined ? undefined : readProcStat(logs.writer.pid)?.startTime;
    rec.logWriter = logs.writer.pid === undefined || wp === undefined ? null : { pid: logs.writer.pid, procStartTime: wp };
    const args = runArgs({
      name,
      image: spec.image!,
      instance: spec.id,
      service: spec.service,
      release: spec.release,
      port: rec.port,
      env: {
        ...spec.env,
        PORT: String(rec.port),
        SLIPWAY_RELEASE: String(spec.release),
        SLIPWAY_INSTANCE: spec.id,
        SLIPWAY_SERVICE: spec.service,
      },
      envFromProcess: Object.keys(secretEnv),
      command: spec.command,
      workdir: spec.releaseDir,
      hostPid: this.props.hostPid === true,
      pidfile: join(this.runDir, `${name}.pid`),
    });
    mkdirSync(this.runDir, { recursive: true });
    // Running from here on, as a spawned process is: the container may serve before `podman run` returns.
    rec.state = 'running';
    rec.startedAt = this.clock.now();
    rec.nextRestartAt = null;
    // podman's own complaints (an image it cannot find, a runtime error) land in the instance's stderr log.
    let code: number | null;
    try {
      const client = this.cli.spawnPodman(args, { stdio: ['ignore', logs.stdout, logs.stderr], env: secretEnv });
      code = await new Promise<number | null>((resolve) => {
        client.once('exit', (c) => resolve(c));
        client.once('error', (e) => {
          this.noteStartFailure(spec.id, e.message);
          resolve(-1);
        });
      });
    } finally {
      logs.release();
    }
    if (code !== 0) {
      logs.writer.kill('SIGKILL');
      throw SlipwayError.of('PODMAN_FAILED', `podman run exited with ${String(code)} (see the instance's log)`, {
        hint: "See `slipway logs` for podman's message, and docs/containers.md for what podman needs here.",
      });
    }
    const pidfile = join(this.runDir, `${name}.pid`);
    const pid = Number(readFileSync(pidfile, 'utf8').trim());
    rmSync(pidfile, { force: true });
    rec.pid = pid > 0 ? pid : null;
    rec.procStartTime = rec.pid === null ? null : (readProcStat(rec.pid)?.startTime ?? null);
    this.watch(rec, sup);
  }

  /** Polls the container's main process; once it is gone, collects the exit. */
  private watch(rec: PodmanRecord, sup: Supervision): void {
    const generation = ++sup.generation;
    clearInterval(sup.poll);
    const alive = () => rec.pid !== null && rec.procStartTime !== null && isSameProcessAlive(rec.pid, rec.procStartTime);
    if (!alive()) {
      void this.collectExit(rec, sup, generation);
      return;
    }
    sup.poll = setInterval(() => {
      if (alive()) return;
      clearInterval(sup.poll);
      sup.poll = undefined;
      void this.collectExit(rec, sup, generation);
    }, this.props.pollMs ?? 50);
    sup.poll.unref();
  }

  private current(rec: PodmanRecord, generation: number): boolean {
    const sup = this.sup.get(rec.spec.id);
    return !this.detached && !!sup && this.records.get(rec.spec.id) === rec && sup.generation === generation && !rec.stopRequested;
  }

  /** The main process is gone: ask podman how it ended, remove the container, decide on a restart. */
  private async collectExit(rec: PodmanRecord, _sup: Supervision, generation: number): Promise<void> {
    const at = this.clock.now();
    const container = rec.container;
    let exit: { code: number | null; signal: string | null } = { code: null, signal: null };
    await Promise.all([
      container &&
        this.cli
          .podman(['wait', container], { timeoutMs: 10_000 })
          .catch(() => '')
          .then((out) => (exit = exitOf(Number.parseInt(out.trim(), 10)))),
      this.writerDone(rec),
    ]);
    if (!this.current(rec, generation)) return;
    // Removing it also ends whatever the main process left running in the container.
    if (container) void this.remove(container);
    this.handleExit(rec, exit.code, exit.signal, at);
  }

  private handleExit(rec: PodmanRecord, code: number | null, signal: string | null, at = this.clock.now()): void {
    rec.lastExit = this.exitInfo(rec, code, signal, at);
    rec.pid = null;
    rec.procStartTime = null;
    rec.container = null;
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

  private scheduleRestart(rec: PodmanRecord, delayMs: number): void {
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
          const secretEnv = await this.secretEnv(rec.spec);
          if (gone()) return;
          await this.runContainer(rec, sup, secretEnv);
        } catch (err) {
          if (gone()) return;
          this.reportError(err, `restarting ${rec.spec.id}`);
          this.noteStartFailure(rec.spec.id, (err as Error).message);
          if (rec.container) void this.remove(rec.container);
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

  private async remove(container: string): Promise<void> {
    await this.cli.podman(['rm', '-f', '-t', '0', container], { timeoutMs: 30_000 }).catch((err: unknown) => {
      this.reportError(err, `removing container ${container}`);
    });
  }

  private async writerDone(rec: PodmanRecord): Promise<void> {
    const w = rec.logWriter;
    if (!w) return;
    const deadline = Date.now() + WRITER_FLUSH_MS;
    while (isSameProcessAlive(w.pid, w.procStartTime) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  private noteStartFailure(id: string, why: string): void {
    try {
      mkdirSync(this.logDir, { recursive: true });
      appendFileSync(logPaths(this.logDir, id).stderr, formatLogLine(this.clock.now(), `slipway: cannot start instance: ${why}`));
    } catch {
      /* the exit is still handled */
    }
  }

  private exitInfo(rec: PodmanRecord, code: number | null, signal: string | null, at: number): ExitInfo {
    return { code, signal, at, uptimeMs: Math.max(0, at - rec.startedAt) };
  }

  private persist(): void {
    if (this.detached) return;
    this.store.save(this.records.values());
  }

  private persistInBackground(): void {
    try {
      this.persist();
    } catch (err) {
      this.reportError(err, `saving ${this.store.path}`);
    }
  }

  private reportError(err: unknown, doing: string): void {
    const e = SlipwayError.of('DRIVER_BACKGROUND_FAILED', `podman driver: ${doing}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
    (this.props.log ?? driverLog).warn(e.message);
  }

  private status(rec: PodmanRecord): InstanceStatus {
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

  private emit(rec: PodmanRecord): void {
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

/** podman reports a main process killed by signal N as exit code 128 + N, as a shell would. */
export function exitOf(code: number): { code: number | null; signal: string | null } {
  if (!Number.isFinite(code) || code < 0) return { code: null, signal: null };
  if (code > 128 && code < 128 + 65) {
    const name = Object.entries(constants.signals).find(([, n]) => n === code - 128)?.[0];
    if (name) return { code: null, signal: name };
  }
  return { code, signal: null };
}
