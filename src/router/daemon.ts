import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import { SlipwayError } from '../core/errors.js';
import { createAdminServer } from './admin-api.js';
import { listenDirectly, type ListenFn } from './listeners.js';
import { log } from './log.js';
import { ServiceCounters } from './metrics.js';
import type { Peers } from './peers.js';
import type { ServiceMetrics } from './prometheus.js';
import { RouteStore } from './route-store.js';
import type { Timeouts } from './balancer.js';
import type { FrontListener } from './front/front-listener.js';
import { checkParsers } from './llhttp.js';
import { ServiceProxy } from './service-proxy.js';
import type { SupervisorInfo } from './supervisor-protocol.js';
import type { DrainResult, RouterHealth, RouterStats, ServiceRoute } from './types.js';

export interface RouterDaemonOptions {
  stateDir: string;
  /** The admin API's bearer token. */
  token: string;
  /** How long a shutdown waits for requests in flight before answering them 503. @default 10000 */
  graceMs?: number;
  /** A backend that sends no response headers for this long gets the request answered 504. @default 60000 */
  upstreamTimeoutMs?: number;
  /** Longest pause inside a request body (408) or a response body (cut). @default 60000 */
  bodyTimeoutMs?: number;
  /** Where service listeners get their sockets. @default listening in this process */
  listen?: ListenFn;
  /** Called after every change of the set of listeners (the supervisor closes the sockets no longer used); awaited. */
  onListenersChanged?: () => Promise<void>;
  /** Called when a shutdown begins, whoever asked for it. */
  onStopping?: (reason: string) => void;
  /** The supervisor this worker serves under (for /v1/health; updated by setSupervisor). */
  supervisor?: SupervisorInfo;
  /**
   * The other proxy workers, when this one is the admin worker of several (ADR 0014): every
   * change is applied by them before it is acknowledged; drains and counters span them all.
   */
  peers?: Peers;
}

/**
 * A proxy worker: its services and, for the admin worker, the admin API and routes.json. Route
 * changes are serialised, saved to routes.json and applied by every other worker (`peers`) before
 * they are acknowledged; the table is restored on start. Listening sockets come from the
 * supervisor (supervisor.ts), which outlives this process. A worker without the admin API
 * (`start(null)`) restores the table and then follows the admin worker's `applyTable` calls.
 */
export class RouterDaemon {
  readonly bootId = randomBytes(8).toString('hex');
  readonly startedAt = new Date().toISOString();
  private readonly services = new Map<string, ServiceProxy>();
  private readonly store: RouteStore;
  private readonly graceMs: number;
  private readonly timeouts: Timeouts;
  private readonly listenOn: ListenFn;
  /** Routes restored from disk whose listener could not be opened: reported by /v1/health. */
  readonly problems: string[] = [];
  private admin: Server | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private sweeper: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | null = null;
  /** The supervisor died: this worker serves on only until the next router takes its ports. */
  private orphan = false;
  private seq = 0;
  private readonly idPrefix = `${this.bootId.slice(0, 8)}-`;
  private readonly newId = (): string => this.idPrefix + (++this.seq).toString(36);

  constructor(private readonly opts: RouterDaemonOptions) {
    this.store = new RouteStore(opts.stateDir);
    this.graceMs = opts.graceMs ?? 10_000;
    this.timeouts = { upstreamMs: opts.upstreamTimeoutMs ?? 60_000, bodyIdleMs: opts.bodyTimeoutMs ?? 60_000 };
    this.listenOn = opts.listen ?? listenDirectly;
  }

  /**
   * Restores the saved routes, then serves the admin API on `admin` (a listening handle from the
   * supervisor, or `{host, port}` to listen here; null for a worker that only proxies). Resolves
   * with the admin port (0 without admin API).
   */
  async start(admin: object | null): Promise<number> {
    checkParsers();
    for (const route of this.store.load()) await this.restore(route);
    this.sweeper = setInterval(() => this.sweepStuck(), 1000);
    this.sweeper.unref();
    if (admin === null) {
      log.info(`worker pid ${process.pid} boot ${this.bootId} serving ${this.services.size} route(s)`);
      return 0;
    }
    // A previous admin worker may have died between saving a change and handing it to the others.
    await this.opts.peers?.table(this.routes());
    await this.listenersChanged();
    this.admin = createAdminServer(this, this.opts.token);
    const server = this.admin;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(admin, () => resolve());
    });
    const adminPort = (server.address() as { port: number }).port;
    log.info(`worker pid ${process.pid} boot ${this.bootId} serving admin on 127.0.0.1:${adminPort}, ${this.services.size} route(s)`);
    return adminPort;
  }

  private async restore(route: ServiceRoute, quiet = false): Promise<void> {
    const svc = this.service(route.service);
    try {
      const { servers, effective } = await svc.openListenerFor(route);
      svc.install(effective, servers);
      if (!quiet) log.info(`restored route ${describe(effective)}`);
    } catch (err) {
      // Keep the route (it must not be lost), serve what can be served, and say why the rest does not.
      const msg = SlipwayError.from(err).message;
      this.problems.push(msg);
      log.error(`restoring route for ${route.service}: ${msg}`);
      let main: FrontListener | null = null;
      if (route.preview !== undefined) {
        try {
          main = (await svc.openListenerFor({ ...route, preview: undefined })).servers.main;
        } catch {
          /* the main listener failed too: already reported */
        }
      }
      svc.install(route, { main, preview: null });
    }
  }

  /**
   * The supervisor died: close the admin API (no one may change routes any more; the next router
   * reads routes.json) but go on serving the services, until the next router takes the ports
   * over (SIGUSR2) or someone stops this process.
   */
  orphaned(): void {
    log.warn(`worker pid ${process.pid}: the supervisor is gone; serving on until the next router takes over`);
    this.orphan = true;
    // Every admin connection, busy or idle: a client's keep-alive socket must not go on reaching a
    // router whose supervisor is dead and be told it is healthy.
    this.admin?.close();
    this.admin?.closeAllConnections();
  }

  /**
   * A worker that only proxies: install exactly `routes` (the table the admin worker just saved
   * and installed), opening and closing listeners as needed. Serialised with the restore.
   */
  applyTable(routes: ServiceRoute[]): Promise<void> {
    return this.serial(async () => {
      if (this.isStopping) return;
      const wanted = new Set(routes.map((r) => r.service));
      for (const route of routes) await this.restore(route, true);
      for (const s of this.services.values()) if (s.route !== null && !wanted.has(s.name)) s.uninstall();
    });
  }

  /** The supervisor's state changed (a worker replaced). */
  setSupervisor(info: SupervisorInfo): void {
    this.opts.supervisor = info;
  }

  health(): RouterHealth {
    const sup = this.opts.supervisor;
    return {
      ok: !this.isStopping && !this.orphan,
      pid: sup?.pid ?? process.pid,
      workerPid: process.pid,
      workerPids: sup?.workerPids ?? [process.pid],
      bootId: sup?.bootId ?? this.bootId,
      startedAt: sup?.startedAt ?? this.startedAt,
      workerStartedAt: this.startedAt,
      routes: this.routes().length,
      problems: this.problems,
      workerRestarts: sup?.workerRestarts ?? 0,
      lastProblem: sup?.lastProblem ?? null,
    };
  }

  /** Installs or replaces a service's route (already validated). Resolves with the route as installed. */
  setRoute(route: ServiceRoute): Promise<ServiceRoute> {
    return this.serial(async () => {
      this.assertRunning();
      this.assertPortsFree(route);
      const svc = this.service(route.service);
      const { servers, effective } = await svc.openListenerFor(route);
      try {
        this.save(this.tableWith(effective.service, effective));
      } catch (err) {
        svc.discard(servers);
        await this.listenersChanged();
        throw err;
      }
      svc.install(effective, servers);
      await this.opts.peers?.table(this.routes());
      await this.listenersChanged();
      log.info(`route set: ${describe(effective)}`);
      return effective;
    });
  }

  /** Refuses a route whose listeners (main or preview) would take a port another service listens on. */
  private assertPortsFree(route: ServiceRoute): void {
    const wanted = [{ l: route.listen, what: '' }];
    if (route.preview !== undefined) wanted.push({ l: route.preview, what: ' (preview listener)' });
    for (const other of this.services.values()) {
      if (other.name === route.service || other.route === null) continue;
      const taken = [{ l: other.route.listen, what: '' }];
      if (other.route.preview !== undefined) taken.push({ l: other.route.preview, what: "'s preview listener" });
      for (const w of wanted) {
        const t = taken.find((x) => w.l.port !== 0 && x.l.port === w.l.port && hostsOverlap(x.l.host, w.l.host));
        if (t === undefined) continue;
        throw SlipwayError.of(
          'ROUTER_PORT_IN_USE',
          `service "${route.service}"${w.what}: cannot listen on ${w.l.host}:${w.l.port}: port ${w.l.port} is already used by service "${other.name}"${t.what}`,
          {
            hint: 'Give each service (and each preview listener) its own port.',
          },
        );
      }
    }
  }

  /** Stops listening for a service. Throws not-found when it has no route. */
  removeRoute(service: string): Promise<void> {
    return this.serial(async () => {
      this.assertRunning();
      const svc = this.services.get(service);
      if (svc?.route == null) throw notFound(service);
      this.save(this.tableWith(service, null));
      svc.uninstall();
      await this.opts.peers?.table(this.routes());
      await this.listenersChanged();
      log.info(`route removed: ${service}`);
    });
  }

  routes(): ServiceRoute[] {
    return [...this.services.values()]
      .flatMap((s) => (s.route === null ? [] : [s.route]))
      .sort((a, b) => a.service.localeCompare(b.service));
  }

  /**
   * Waits for backends to have nothing in flight, answering 504 to what is left at the deadline:
   * in this worker and, for the admin worker, in every other one (the results summed).
   */
  async drain(service: string, backendIds: string[], timeoutMs: number): Promise<DrainResult> {
    const svc = this.services.get(service);
    if (svc === undefined) throw notFound(service);
    const started = Date.now();
    const [own, others] = await Promise.all([
      svc.drain(backendIds, timeoutMs),
      this.opts.peers?.drain(service, backendIds, timeoutMs) ?? [],
    ]);
    const result = { completed: own.completed, aborted: own.aborted };
    for (const r of others) {
      result.completed += r.completed;
      result.aborted += r.aborted;
    }
    log.info(
      `drained ${service} [${backendIds.join(', ')}] in ${Date.now() - started}ms: ${result.completed} completed, ${result.aborted} aborted`,
    );
    return result;
  }

  /** A drain asked by the admin worker: this worker's part; a service it does not know has nothing in flight here. */
  async drainHere(service: string, backendIds: string[], timeoutMs: number): Promise<DrainResult> {
    const svc = this.services.get(service);
    return svc === undefined ? { completed: 0, aborted: 0 } : svc.drain(backendIds, timeoutMs);
  }

  /** Every service's counters over every worker, by name (for the Prometheus exposition). */
  async serviceMetrics(): Promise<ServiceMetrics[]> {
    if (this.opts.peers === undefined)
      return [...this.services.values()]
        .map((s) => ({ service: s.name, counters: s.counters }))
        .sort((a, b) => a.service.localeCompare(b.service));
    return (await this.allStats()).services.map((s) => ({ service: s.service, counters: ServiceCounters.fromStats(s) }));
  }

  /** The counters of the whole router: this worker's, summed with every other worker's (ADR 0014). */
  allStats(): Promise<RouterStats> {
    const own = this.stats();
    return this.opts.peers === undefined ? Promise.resolve(own) : this.opts.peers.stats(own);
  }

  /** This worker's own counters (`bootId` its own). */
  stats(): RouterStats {
    return {
      bootId: this.bootId,
      services: [...this.services.values()].map((s) => s.stats()).sort((a, b) => a.service.localeCompare(b.service)),
    };
  }

  /**
   * Stops accepting connections, lets requests in flight finish for up to graceMs (then answers
   * them 503), removes router.json and resolves. Idempotent.
   */
  shutdown(reason: string): Promise<void> {
    this.stopping ??= (async () => {
      log.info(`shutting down (${reason})`);
      this.opts.onStopping?.(reason);
      clearInterval(this.sweeper);
      this.admin?.close();
      this.admin?.closeIdleConnections();
      for (const s of this.services.values()) s.stopListening();
      const deadline = Date.now() + this.graceMs;
      while (this.inFlight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      let cut = 0;
      for (const s of this.services.values()) cut += s.abortAll(503);
      if (cut > 0) log.warn(`shutdown grace of ${this.graceMs}ms ran out: ${cut} request(s) answered 503`);
      await new Promise((r) => setTimeout(r, 50)); // let those answers flush
      for (const s of this.services.values()) s.closeAllConnections();
      this.admin?.closeAllConnections();
      for (const s of this.services.values()) s.balancer.closeConnections();
      log.info(`worker pid ${process.pid} stopped`);
    })();
    return this.stopping;
  }

  get isStopping(): boolean {
    return this.stopping !== null;
  }

  private inFlight(): number {
    let n = 0;
    for (const s of this.services.values()) n += s.inFlight();
    return n;
  }

  /** Ends exchanges stuck past the timeouts (docs/router.md, "Timeouts"). One timer for all. */
  private sweepStuck(): void {
    const now = performance.now();
    for (const s of this.services.values()) s.expire(now, this.timeouts);
  }

  private service(name: string): ServiceProxy {
    let s = this.services.get(name);
    if (s === undefined) {
      s = new ServiceProxy(name, this.newId, this.listenOn);
      this.services.set(name, s);
    }
    return s;
  }

  private tableWith(service: string, route: ServiceRoute | null): ServiceRoute[] {
    const table = this.routes().filter((r) => r.service !== service);
    if (route !== null) table.push(route);
    return table.sort((a, b) => a.service.localeCompare(b.service));
  }

  private save(table: ServiceRoute[]): void {
    try {
      this.store.save(table);
    } catch (err) {
      throw SlipwayError.of('ROUTER_STATE_WRITE', `cannot save the route table: ${(err as Error).message}`, {
        hint: 'Check free space and permissions of the state directory; the change was not applied.',
        cause: err,
      });
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private assertRunning(): void {
    if (this.stopping !== null)
      throw SlipwayError.of('ROUTER_STOPPING', 'the router is shutting down', { hint: 'Start it again with ensureRunning().' });
  }

  private async listenersChanged(): Promise<void> {
    await this.opts.onListenersChanged?.();
  }
}

function notFound(service: string): SlipwayError {
  return SlipwayError.of('ROUTE_NOT_FOUND', `no route for service "${service}"`, {
    hint: 'GET /v1/routes lists the services the router knows.',
  });
}

const ANY_HOST = new Set(['0.0.0.0', '::', '']);

/** Two listeners on one port collide when they share a host or either takes every address. */
function hostsOverlap(a: string, b: string): boolean {
  return a === b || ANY_HOST.has(a) || ANY_HOST.has(b);
}

function describe(r: ServiceRoute): string {
  const pools = r.pools
    .map((p) => `r${p.release}×${p.weight}[${p.backends.map((b) => `${b.id}@${b.host}:${b.port}`).join(' ')}]`)
    .join(' ');
  let s = `${r.service} on ${r.listen.host}:${r.listen.port} → ${pools || '(no pools)'}`;
  if (r.rules !== undefined && r.rules.length > 0)
    s += `; rules ${r.rules
      .map(
        (x) =>
          `${Object.entries(x.match.header)
            .map(([k, v]) => `${k}=${v}`)
            .join('&')}→r${x.release}`,
      )
      .join(' ')}`;
  if (r.stickiness === 'cookie') s += '; sticky cookie';
  if (r.preview !== undefined) s += `; preview ${r.preview.host}:${r.preview.port} → r${r.preview.release}`;
  return s;
}
