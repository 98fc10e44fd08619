import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { unlinkSync } from 'node:fs';
import * as net from 'node:net';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { getSystemErrorName } from 'node:util';
import { readJsonIfExists, writeJsonAtomic } from '../core/atomic-file.js';
import { SlipwayError } from '../core/errors.js';
import { pidAlive } from '../core/process.js';
import { adminCall } from './admin-client.js';
import { log } from './log.js';
import { CounterLedger } from './stats-sum.js';
import { ensureToken, orphanWorkers, routerInfoPath, secureStateDir, type RouterInfoFile } from './state-files.js';
import { listenerKey, type PeerOp, type PeerResult, type SupervisorInfo, type ToSupervisor, type ToWorker } from './supervisor-protocol.js';
import type { RouterStats } from './types.js';

/**
 * A listening socket held by the supervisor: bound here, put in the LISTEN state by the worker
 * (the supervisor never accepts on it). Node's `net._createServerHandle` is the primitive the
 * cluster module uses for exactly this (bind in one process, listen and accept in another).
 */
interface Handle {
  close(cb?: () => void): void;
  getsockname(out: { port?: number }): number;
}
type CreateServerHandle = (address: string, port: number, addressType: number) => Handle | number;
const createServerHandle = (net as unknown as { _createServerHandle: CreateServerHandle })._createServerHandle;

/** A worker dying sooner than this after its start counts towards a crash loop. */
const CRASH_LOOP_MS = 2000;

/** How long binds are retried while the previous router's worker lets go of its ports. */
const ORPHAN_RELEASE_MS = 2000;

/** How long after a worker serves the standby is forked. */
const STANDBY_DELAY_MS = 500;

const WORKER_ENTRY = fileURLToPath(new URL('./worker.js', import.meta.url));

/** The most proxy workers a router runs, whatever the machine (each is a Node process of about 60 MB). */
export const MAX_WORKERS = 16;

/**
 * Proxy workers by default: one per core but one, which is left to the apps the router fronts on
 * the same machine; at least 1, at most 4 (each worker is a Node process of ~60 MB). On 2 cores
 * that is one worker: a second one only helped while a core was idle, and cost CPU and p99 when
 * the apps (or the load) used it (ADR 0014 has the measurements).
 */
export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

export interface SupervisorOptions {
  stateDir: string;
  /** Passed to every worker (`--grace-ms N`, `--upstream-timeout-ms N`). */
  workerArgs: string[];
  /** Proxy workers sharing the listening sockets (1 to MAX_WORKERS). @default defaultWorkerCount() */
  workers?: number;
  /** How long a stopping worker may take before it is killed. @default 10000 + 15000 */
  stopTimeoutMs?: number;
  /** Keep a standby worker forked (one more idle process, a faster replacement). @default true */
  standby?: boolean;
}

/**
 * One place for a proxy worker. Slot 0 holds the admin worker (admin API, routes.json, drives
 * every change); the others only proxy. A dead worker is replaced in its slot.
 */
interface Slot {
  readonly index: number;
  child: ChildProcess | null;
  startedAt: number;
  ready: boolean;
  /** The worker's own boot id (from `ready`): its key in the counter ledger. */
  bootId: string | null;
  /** Deaths within CRASH_LOOP_MS of the start, in a row. */
  quickFailures: number;
}

/** A question sent to several workers, answered once each replied or died. */
interface Gathering {
  waiting: Set<ChildProcess>;
  results: PeerResult[];
  done: (results: PeerResult[]) => void;
}

/**
 * The router's long-lived process. It owns the listening sockets (admin API, service and preview
 * ports), forks the proxy workers and relays between them; it handles no request and keeps no
 * route. Every worker gets each socket as a handle and accepts on it; when a worker dies, the
 * sockets stay open here (and in the other workers), so the kernel queues new connections until
 * the replacement (forked at once, restoring the table from routes.json) accepts them. Nothing is
 * refused in between.
 */
export class Supervisor {
  readonly bootId = randomBytes(8).toString('hex');
  readonly startedAt = new Date().toISOString();
  private readonly held = new Map<string, Handle>();
  /** Binds in progress, by key: two workers asking for one port at once get one socket. */
  private readonly binding = new Map<string, Promise<{ handle: Handle; port: number } | string>>();
  private admin: Handle | undefined;
  private adminPort = 0;
  private readonly slots: Slot[];
  /**
   * A worker forked ahead of need: its code is loaded and it waits for `hello`, so replacing a
   * dead worker costs a table restore, not a Node start-up.
   */
  private standby: ChildProcess | null = null;
  private restarts = 0;
  private lastProblem: string | null = null;
  private stopping = false;
  private everReady = false;
  private firstReady: { resolve: () => void; reject: (e: Error) => void } | undefined;
  /**
   * The workers of a router that died before this one started: they still serve (they closed only
   * the admin API) until our workers need their ports; then they are told to let go (SIGUSR2), and
   * binds are retried for a moment while they do.
   */
  private orphans: number[] = [];
  private orphanReleasedAt = 0;
  private seq = 0;
  private readonly gatherings = new Map<number, Gathering>();
  private readonly ledger = new CounterLedger();

  constructor(private readonly opts: SupervisorOptions) {
    const n = opts.workers ?? defaultWorkerCount();
    if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS)
      throw SlipwayError.of('ROUTER_USAGE', `workers: expected a whole number from 1 to ${MAX_WORKERS}, got ${n}`);
    this.slots = Array.from({ length: n }, (_, index) => ({
      index,
      child: null,
      startedAt: 0,
      ready: false,
      bootId: null,
      quickFailures: 0,
    }));
  }

  /** Binds the admin socket, starts the workers and writes router.json once they all serve. */
  async start(): Promise<void> {
    secureStateDir(this.opts.stateDir);
    const token = ensureToken(this.opts.stateDir);
    await this.refuseIfAnotherIsRunning(token);
    this.orphans = this.findOrphans();
    const admin = await bind('127.0.0.1', 0);
    if (typeof admin === 'string') throw SlipwayError.of('ROUTER_START_FAILED', `cannot open the admin socket on 127.0.0.1: ${admin}`);
    this.admin = admin.handle;
    this.adminPort = admin.port;
    await new Promise<void>((resolve, reject) => {
      this.firstReady = { resolve, reject };
      for (const slot of this.slots) this.spawnWorker(slot);
    });
    this.writeInfo();
    log.info(
      `router supervisor pid ${process.pid} boot ${this.bootId}: admin on 127.0.0.1:${this.adminPort}, ${this.slots.length} worker(s), pids ${this.workerPids().join(', ')}`,
    );
  }

  /** Stops the router: no new connections (every socket closed now), the workers finish what is in flight. */
  stop(reason: string): void {
    if (this.stopping) return;
    this.stopping = true;
    log.info(`supervisor stopping (${reason})`);
    this.closeSockets();
    this.standby?.kill('SIGTERM');
    const limit = this.opts.stopTimeoutMs ?? 25_000;
    let any = false;
    for (const slot of this.slots) {
      const w = slot.child;
      if (w === null) continue;
      any = true;
      if (w.connected) w.send({ t: 'shutdown', reason } satisfies ToWorker, undefined, {}, () => undefined);
      else w.kill('SIGTERM');
      setTimeout(() => {
        log.warn(`worker pid ${w.pid} did not stop within ${limit}ms; killing it`);
        w.kill('SIGKILL');
      }, limit).unref();
    }
    if (!any) this.finish();
  }

  private workerPids(): number[] {
    return this.slots.flatMap((s) => (s.child?.pid === undefined ? [] : [s.child.pid]));
  }

  private writeInfo(): void {
    const info: RouterInfoFile = {
      version: 1,
      pid: process.pid,
      adminPort: this.adminPort,
      bootId: this.bootId,
      startedAt: this.startedAt,
      workerPid: this.slots[0]!.child?.pid,
      workerPids: this.workerPids(),
    };
    writeJsonAtomic(routerInfoPath(this.opts.stateDir), info);
  }

  /** The previous router's workers, if its supervisor is dead and they still serve. */
  private findOrphans(): number[] {
    try {
      const info = readJsonIfExists<RouterInfoFile>(routerInfoPath(this.opts.stateDir));
      return info === undefined ? [] : orphanWorkers(this.opts.stateDir, info);
    } catch {
      return [];
    }
  }

  /** Tells the orphan workers to stop listening (they finish what they serve, then exit). */
  private releaseOrphans(): void {
    if (this.orphans.length === 0) return;
    for (const pid of this.orphans) {
      log.info(`asking worker pid ${pid} of the previous router to let go of its ports`);
      try {
        process.kill(pid, 'SIGUSR2');
      } catch {
        /* already gone */
      }
    }
    this.orphans = [];
    this.orphanReleasedAt = Date.now();
  }

  private info(): SupervisorInfo {
    return {
      pid: process.pid,
      startedAt: this.startedAt,
      bootId: this.bootId,
      workerRestarts: this.restarts,
      lastProblem: this.lastProblem,
      workerPids: this.workerPids(),
    };
  }

  /** Tells the admin worker what /v1/health shows about the other processes. */
  private sendInfo(): void {
    const admin = this.slots[0]!.child;
    if (admin?.connected) admin.send({ t: 'info', supervisor: this.info() } satisfies ToWorker, undefined, {}, () => undefined);
  }

  private spawnWorker(slot: Slot): void {
    if (this.stopping) return;
    const standby = this.standby;
    this.standby = null;
    const child = standby !== null && standby.connected && standby.exitCode === null && standby.signalCode === null ? standby : this.fork();
    slot.child = child;
    slot.ready = false;
    slot.bootId = null;
    slot.startedAt = Date.now();
    const admin = slot.index === 0;
    child.send(
      { t: 'hello', supervisor: this.info(), admin } satisfies ToWorker,
      (admin ? this.admin : undefined) as never,
      {},
      () => undefined,
    );
  }

  private fork(): ChildProcess {
    const child = fork(WORKER_ENTRY, ['--state-dir', this.opts.stateDir, ...this.opts.workerArgs], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    child.on('message', (m: ToSupervisor) => this.onMessage(child, m));
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    child.on('error', (err) => log.error(`worker: ${err.message}`));
    return child;
  }

  private prepareStandby(): void {
    if (this.stopping || this.standby !== null || this.opts.standby === false) return;
    this.standby = this.fork();
  }

  private slotOf(child: ChildProcess): Slot | undefined {
    return this.slots.find((s) => s.child === child);
  }

  private onMessage(child: ChildProcess, m: ToSupervisor): void {
    const slot = this.slotOf(child);
    if (slot === undefined) return; // a late message from a worker already replaced
    switch (m.t) {
      case 'listen':
        void this.onListen(child, m.id, m.host, m.port);
        return;
      case 'retain': {
        // The admin worker's listeners are the table; the others follow it.
        if (slot.index === 0) {
          const keep = new Set(m.keys);
          for (const [key, h] of this.held) {
            if (keep.has(key)) continue;
            h.close();
            this.held.delete(key);
          }
        }
        child.send({ t: 'retained', id: m.id } satisfies ToWorker, undefined, {}, () => undefined);
        return;
      }
      case 'ready':
        this.onReady(slot, m.bootId, m.pid);
        return;
      case 'stopping':
        this.stop(`worker: ${m.reason}`);
        return;
      case 'fanout':
        void this.gather(this.others(child), m.op).then((results) =>
          child.send({ t: 'fanout-done', id: m.id, results } satisfies ToWorker, undefined, {}, () => undefined),
        );
        return;
      case 'stats':
        void this.sumStats(child, slot, m.own).then((stats) =>
          child.send({ t: 'stats-sum', id: m.id, stats } satisfies ToWorker, undefined, {}, () => undefined),
        );
        return;
      case 'peer-done': {
        const g = this.gatherings.get(m.id);
        if (g === undefined || !g.waiting.delete(child)) return;
        g.results.push(m.result);
        if (g.waiting.size === 0) this.settle(m.id, g);
        return;
      }
    }
  }

  private onReady(slot: Slot, bootId: string, pid: number): void {
    slot.ready = true;
    slot.bootId = bootId;
    this.releaseOrphans(); // (a table with no routes never asked for a port)
    if (!this.everReady) {
      if (this.slots.every((s) => s.ready)) {
        this.everReady = true;
        this.firstReady?.resolve();
      }
    } else {
      this.writeInfo();
      log.info(
        `worker pid ${pid} serves in slot ${slot.index} (replacement ${this.restarts}, ${Date.now() - slot.startedAt} ms after it was given the sockets)`,
      );
    }
    this.sendInfo();
    // Forked a little later, so it does not compete for the CPU with the worker just starting.
    setTimeout(() => this.prepareStandby(), STANDBY_DELAY_MS).unref();
  }

  /** Every worker but `child` that has been started (a worker still restoring its table answers after it). */
  private others(child: ChildProcess): ChildProcess[] {
    return this.slots.flatMap((s) => (s.child === null || s.child === child ? [] : [s.child]));
  }

  /** Sends `op` to `children` and resolves with the answers of those that did not die first. */
  private gather(children: ChildProcess[], op: PeerOp): Promise<PeerResult[]> {
    return new Promise((resolve) => {
      const id = ++this.seq;
      const g: Gathering = { waiting: new Set(children), results: [], done: resolve };
      this.gatherings.set(id, g);
      for (const c of children) {
        if (!c.connected) {
          g.waiting.delete(c);
          continue;
        }
        c.send({ t: 'peer', id, op } satisfies ToWorker, undefined, {}, (err) => {
          if (err !== null && g.waiting.delete(c) && g.waiting.size === 0) this.settle(id, g);
        });
      }
      if (g.waiting.size === 0) this.settle(id, g);
    });
  }

  private settle(id: number, g: Gathering): void {
    if (!this.gatherings.delete(id)) return;
    g.done(g.results);
  }

  /** Every worker's counters, summed with those of the workers that are gone (CounterLedger). */
  private async sumStats(child: ChildProcess, slot: Slot, own: RouterStats): Promise<RouterStats> {
    if (slot.bootId === own.bootId) this.ledger.record(own.bootId, own.services);
    const results = await this.gather(this.others(child), { t: 'stats' });
    const live = new Set(this.slots.map((s) => s.bootId));
    for (const r of results) {
      const stats = r as RouterStats | null;
      // A reading that arrives after its worker died (and was retired) must not bring it back.
      if (stats !== null && live.has(stats.bootId)) this.ledger.record(stats.bootId, stats.services);
    }
    return { bootId: this.bootId, services: this.ledger.total() };
  }

  private async onListen(child: ChildProcess, id: number, host: string, port: number): Promise<void> {
    if (this.stopping) {
      child.send({ t: 'listen-failed', id, code: 'ROUTER_STOPPING' } satisfies ToWorker);
      return;
    }
    this.releaseOrphans();
    let handle = port === 0 ? undefined : this.held.get(listenerKey(host, port));
    let real = port;
    if (handle === undefined) {
      const r = await this.bindShared(host, port);
      if (typeof r === 'string') {
        child.send({ t: 'listen-failed', id, code: r } satisfies ToWorker, undefined, {}, () => undefined);
        return;
      }
      handle = r.handle;
      real = r.port;
    }
    child.send({ t: 'listened', id, port: real } satisfies ToWorker, handle as never, {}, () => undefined);
  }

  /** Binds host:port and holds the socket; workers asking for the same port meanwhile share that one bind. */
  private bindShared(host: string, port: number): Promise<{ handle: Handle; port: number } | string> {
    const key = listenerKey(host, port);
    const pending = port === 0 ? undefined : this.binding.get(key);
    if (pending !== undefined) return pending;
    const p = this.bindRetrying(host, port).then((r) => {
      if (typeof r !== 'string') {
        const realKey = listenerKey(host, r.port);
        this.held.get(realKey)?.close();
        this.held.set(realKey, r.handle);
      }
      return r;
    });
    if (port !== 0) {
      this.binding.set(key, p);
      void p.then(() => this.binding.delete(key));
    }
    return p;
  }

  private async bindRetrying(host: string, port: number): Promise<{ handle: Handle; port: number } | string> {
    let r = await bind(host, port);
    // The orphans close their listeners as soon as they get the signal: wait for that, briefly.
    while (r === 'EADDRINUSE' && Date.now() - this.orphanReleasedAt < ORPHAN_RELEASE_MS) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      r = await bind(host, port);
    }
    return r;
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child === this.standby) {
      // Not replaced until the next worker serves (a standby that cannot start would loop).
      this.standby = null;
      if (!this.stopping) log.warn(`standby worker pid ${child.pid} exited (${signal ?? `exit code ${code}`})`);
      return;
    }
    const slot = this.slotOf(child);
    if (slot === undefined) return;
    slot.child = null;
    slot.ready = false;
    if (slot.bootId !== null) this.ledger.retire(slot.bootId);
    slot.bootId = null;
    // Questions it will never answer: the others' answers are enough.
    for (const [id, g] of this.gatherings) if (g.waiting.delete(child) && g.waiting.size === 0) this.settle(id, g);
    const how = signal ?? `exit code ${code}`;
    if (this.stopping) {
      if (this.slots.every((s) => s.child === null)) this.finish();
      return;
    }
    if (!this.everReady) {
      // A worker could not start (its log lines say why): the router does not start.
      this.stopping = true;
      this.closeSockets();
      this.standby?.kill('SIGTERM');
      for (const s of this.slots) s.child?.kill('SIGTERM');
      this.firstReady?.reject(SlipwayError.of('ROUTER_START_FAILED', `the router's worker exited before serving (${how})`));
      return;
    }
    const lived = Date.now() - slot.startedAt;
    this.restarts++;
    slot.quickFailures = lived < CRASH_LOOP_MS ? slot.quickFailures + 1 : 1;
    this.lastProblem = `${new Date().toISOString()}: worker pid ${child.pid} exited (${how}) after ${lived} ms`;
    // Replaced at once; only a worker that keeps dying within CRASH_LOOP_MS of its start gets a growing pause (up to 5 s).
    const delay = slot.quickFailures <= 3 ? 0 : Math.min(5000, 100 * 2 ** (slot.quickFailures - 4));
    log.error(
      `worker pid ${child.pid} (slot ${slot.index}) exited (${how}); starting another${delay ? ` in ${delay} ms` : ''} (restart ${this.restarts})`,
    );
    this.sendInfo();
    setTimeout(() => this.spawnWorker(slot), delay);
  }

  private closeSockets(): void {
    this.admin?.close();
    this.admin = undefined;
    for (const h of this.held.values()) h.close();
    this.held.clear();
  }

  private finish(): void {
    const path = routerInfoPath(this.opts.stateDir);
    try {
      if (readJsonIfExists<RouterInfoFile>(path)?.pid === process.pid) unlinkSync(path);
    } catch {
      /* best effort: a stale file is detected by its dead pid */
    }
    log.info('router stopped');
    process.exit(0);
  }

  /** Two routers on one state directory would fight over its ports and files. */
  private async refuseIfAnotherIsRunning(token: string): Promise<void> {
    let info: RouterInfoFile | undefined;
    try {
      info = readJsonIfExists<RouterInfoFile>(routerInfoPath(this.opts.stateDir));
    } catch {
      return;
    }
    if (info === undefined || info.pid === process.pid || !pidAlive(info.pid)) return;
    const healthy = await adminCall<{ ok: boolean }>({ port: info.adminPort, token }, 'GET', '/v1/health', undefined, 1000).then(
      (h) => h.ok,
      () => false,
    );
    if (healthy) {
      throw SlipwayError.of('ROUTER_ALREADY_RUNNING', `another router (pid ${info.pid}) already serves ${this.opts.stateDir}`, {
        hint: 'Adopt it instead of starting a second one.',
      });
    }
  }
}

/** Binds host:port (0: a free port) without listening; an error name (EACCES, ...) when it cannot. */
async function bind(host: string, port: number): Promise<{ handle: Handle; port: number } | string> {
  let address = host;
  let family = net.isIP(host);
  if (family === 0) {
    try {
      ({ address, family } = await lookup(host));
    } catch (err) {
      return (err as NodeJS.ErrnoException).code ?? 'ENOTFOUND';
    }
  }
  const h = createServerHandle(address, port, family);
  if (typeof h === 'number') return getSystemErrorName(h);
  // libuv defers a bind's EADDRINUSE to the next call on the handle (listen or getsockname), and a
  // socket whose bind failed would be auto-bound to a random port by the worker's listen(2): this
  // getsockname is what reports it, here, before the socket is handed over.
  const out: { port?: number } = {};
  const err = h.getsockname(out);
  if (err !== 0) {
    h.close();
    return getSystemErrorName(err);
  }
  return { handle: h, port: out.port ?? port };
}
