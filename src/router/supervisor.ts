import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { unlinkSync } from 'node:fs';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';
import { getSystemErrorName } from 'node:util';
import { readJsonIfExists, writeJsonAtomic } from '../core/atomic-file.js';
import { SlipwayError } from '../core/errors.js';
import { pidAlive } from '../core/process.js';
import { adminCall } from './admin-client.js';
import { log } from './log.js';
import { ensureToken, orphanWorker, routerInfoPath, secureStateDir, type RouterInfoFile } from './state-files.js';
import { listenerKey, type SupervisorInfo, type ToSupervisor, type ToWorker } from './supervisor-protocol.js';

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

export interface SupervisorOptions {
  stateDir: string;
  /** Passed to every worker (`--grace-ms N`, `--upstream-timeout-ms N`). */
  workerArgs: string[];
  /** How long a stopping worker may take before it is killed. @default 10000 + 15000 */
  stopTimeoutMs?: number;
  /** Keep a standby worker forked (one more idle process, a faster replacement). @default true */
  standby?: boolean;
}

/**
 * The router's long-lived process. It owns the listening sockets (admin API, service and preview
 * ports) and does nothing else: no request, no route, no state file but router.json. The proxy
 * worker it forks gets each socket as a handle; when the worker dies, the sockets stay open here,
 * so the kernel queues new connections until the replacement (forked at once, restoring the table
 * from routes.json) accepts them. Nothing is refused in between.
 */
export class Supervisor {
  readonly bootId = randomBytes(8).toString('hex');
  readonly startedAt = new Date().toISOString();
  private readonly held = new Map<string, Handle>();
  private admin: Handle | undefined;
  private adminPort = 0;
  private worker: ChildProcess | null = null;
  /**
   * A worker forked ahead of need: its code is loaded and it waits for `hello`, so replacing a
   * dead worker costs a table restore, not a Node start-up.
   */
  private standby: ChildProcess | null = null;
  private workerStartedAt = 0;
  private restarts = 0;
  private lastProblem: string | null = null;
  private quickFailures = 0;
  private stopping = false;
  private everReady = false;
  private firstReady: { resolve: () => void; reject: (e: Error) => void } | undefined;
  /**
   * The worker of a router that died before this one started: it still serves (it closed only its
   * admin API) until our worker needs its ports; then it is told to let go (SIGUSR2), and binds
   * are retried for a moment while it does.
   */
  private orphan: number | null = null;
  private orphanReleasedAt = 0;

  constructor(private readonly opts: SupervisorOptions) {}

  /** Binds the admin socket, starts the first worker and writes router.json once it serves. */
  async start(): Promise<void> {
    secureStateDir(this.opts.stateDir);
    const token = ensureToken(this.opts.stateDir);
    await this.refuseIfAnotherIsRunning(token);
    this.orphan = this.findOrphan();
    const admin = await bind('127.0.0.1', 0);
    if (typeof admin === 'string') throw SlipwayError.of('ROUTER_START_FAILED', `cannot open the admin socket on 127.0.0.1: ${admin}`);
    this.admin = admin.handle;
    this.adminPort = admin.port;
    await new Promise<void>((resolve, reject) => {
      this.firstReady = { resolve, reject };
      this.spawnWorker();
    });
    this.writeInfo();
    log.info(
      `router supervisor pid ${process.pid} boot ${this.bootId}: admin on 127.0.0.1:${this.adminPort}, worker pid ${this.worker?.pid}`,
    );
  }

  /** Stops the router: no new connections (every socket closed now), the worker finishes what is in flight. */
  stop(reason: string): void {
    if (this.stopping) return;
    this.stopping = true;
    log.info(`supervisor stopping (${reason})`);
    this.closeSockets();
    this.standby?.kill('SIGTERM');
    const w = this.worker;
    if (w === null) {
      this.finish();
      return;
    }
    if (w.connected) w.send({ t: 'shutdown', reason } satisfies ToWorker, undefined, {}, () => undefined);
    else w.kill('SIGTERM');
    const limit = this.opts.stopTimeoutMs ?? 25_000;
    setTimeout(() => {
      log.warn(`worker pid ${w.pid} did not stop within ${limit}ms; killing it`);
      w.kill('SIGKILL');
    }, limit).unref();
  }

  private writeInfo(): void {
    const info: RouterInfoFile = {
      version: 1,
      pid: process.pid,
      adminPort: this.adminPort,
      bootId: this.bootId,
      startedAt: this.startedAt,
      workerPid: this.worker?.pid,
    };
    writeJsonAtomic(routerInfoPath(this.opts.stateDir), info);
  }

  /** The previous router's worker, if its supervisor is dead and it still serves. */
  private findOrphan(): number | null {
    try {
      const info = readJsonIfExists<RouterInfoFile>(routerInfoPath(this.opts.stateDir));
      return info === undefined ? null : orphanWorker(this.opts.stateDir, info);
    } catch {
      return null;
    }
  }

  /** Tells the orphan worker to stop listening (it finishes what it serves, then exits). */
  private releaseOrphan(): void {
    if (this.orphan === null) return;
    log.info(`asking worker pid ${this.orphan} of the previous router to let go of its ports`);
    try {
      process.kill(this.orphan, 'SIGUSR2');
    } catch {
      /* already gone */
    }
    this.orphan = null;
    this.orphanReleasedAt = Date.now();
  }

  private info(): SupervisorInfo {
    return {
      pid: process.pid,
      startedAt: this.startedAt,
      bootId: this.bootId,
      workerRestarts: this.restarts,
      lastProblem: this.lastProblem,
    };
  }

  private spawnWorker(): void {
    if (this.stopping) return;
    const standby = this.standby;
    this.standby = null;
    const child = standby !== null && standby.connected && standby.exitCode === null && standby.signalCode === null ? standby : this.fork();
    this.worker = child;
    this.workerStartedAt = Date.now();
    child.send({ t: 'hello', supervisor: this.info() } satisfies ToWorker, this.admin as never, {}, () => undefined);
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

  private onMessage(child: ChildProcess, m: ToSupervisor): void {
    if (child !== this.worker) return; // a late message from a worker already replaced
    switch (m.t) {
      case 'listen':
        void this.onListen(child, m.id, m.host, m.port);
        return;
      case 'retain': {
        const keep = new Set(m.keys);
        for (const [key, h] of this.held) {
          if (keep.has(key)) continue;
          h.close();
          this.held.delete(key);
        }
        child.send({ t: 'retained', id: m.id } satisfies ToWorker, undefined, {}, () => undefined);
        return;
      }
      case 'ready':
        this.releaseOrphan(); // (a table with no routes never asked for a port)
        if (!this.everReady) {
          this.everReady = true;
          this.firstReady?.resolve();
        } else {
          this.writeInfo();
          log.info(
            `worker pid ${m.pid} serves (replacement ${this.restarts}, ${Date.now() - this.workerStartedAt} ms after it was given the sockets)`,
          );
        }
        // Forked a little later, so it does not compete for the CPU with the worker just starting.
        setTimeout(() => this.prepareStandby(), STANDBY_DELAY_MS).unref();
        return;
      case 'stopping':
        this.stop(`worker: ${m.reason}`);
        return;
    }
  }

  private async onListen(child: ChildProcess, id: number, host: string, port: number): Promise<void> {
    if (this.stopping) {
      child.send({ t: 'listen-failed', id, code: 'ROUTER_STOPPING' } satisfies ToWorker);
      return;
    }
    this.releaseOrphan();
    let handle = port === 0 ? undefined : this.held.get(listenerKey(host, port));
    let real = port;
    if (handle === undefined) {
      let r = await bind(host, port);
      // The orphan closes its listeners as soon as it gets the signal: wait for that, briefly.
      while (r === 'EADDRINUSE' && Date.now() - this.orphanReleasedAt < ORPHAN_RELEASE_MS) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        r = await bind(host, port);
      }
      if (typeof r === 'string') {
        child.send({ t: 'listen-failed', id, code: r } satisfies ToWorker, undefined, {}, () => undefined);
        return;
      }
      handle = r.handle;
      real = r.port;
      this.held.get(listenerKey(host, real))?.close();
      this.held.set(listenerKey(host, real), handle);
    }
    child.send({ t: 'listened', id, port: real } satisfies ToWorker, handle as never, {}, () => undefined);
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child === this.standby) {
      // Not replaced until the next worker serves (a standby that cannot start would loop).
      this.standby = null;
      if (!this.stopping) log.warn(`standby worker pid ${child.pid} exited (${signal ?? `exit code ${code}`})`);
      return;
    }
    if (child !== this.worker) return;
    this.worker = null;
    const how = signal ?? `exit code ${code}`;
    if (this.stopping) {
      this.finish();
      return;
    }
    if (!this.everReady) {
      // The first worker could not start (its log lines say why): the router does not start.
      this.closeSockets();
      this.firstReady?.reject(SlipwayError.of('ROUTER_START_FAILED', `the router's worker exited before serving (${how})`));
      return;
    }
    const lived = Date.now() - this.workerStartedAt;
    this.restarts++;
    this.quickFailures = lived < CRASH_LOOP_MS ? this.quickFailures + 1 : 1;
    this.lastProblem = `${new Date().toISOString()}: worker pid ${child.pid} exited (${how}) after ${lived} ms`;
    // Replaced at once; only a worker that keeps dying within CRASH_LOOP_MS of its start gets a growing pause (up to 5 s).
    const delay = this.quickFailures <= 3 ? 0 : Math.min(5000, 100 * 2 ** (this.quickFailures - 4));
    log.error(`worker pid ${child.pid} exited (${how}); starting another${delay ? ` in ${delay} ms` : ''} (restart ${this.restarts})`);
    setTimeout(() => this.spawnWorker(), delay);
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
