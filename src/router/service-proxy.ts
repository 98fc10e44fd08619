import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { Balancer, type BackendState, type InFlight, type Timeouts } from './balancer.js';
import { Exchange } from './exchange.js';
import type { ClientConnection } from './front/client-connection.js';
import { FrontListener, type FrontHandler } from './front/front-listener.js';
import type { FrontRequest } from './front/front-request.js';
import { isRejection, upstreamRequestHeaders, type RequestRejection } from './headers.js';
import { listenDirectly, type ListenFn } from './listeners.js';
import { ServiceCounters } from './metrics.js';
import { compileRules, cookieRelease, ruleRelease, stickyCookieName, type CompiledRule } from './steering.js';
import type { DrainResult, ServiceRoute, ServiceStats } from './types.js';
import { proxyUpgrade } from './websocket-proxy.js';

/** Listeners opened for a route by openListenerFor; null where the current one is kept. */
export interface Listeners {
  main: FrontListener | null;
  preview: FrontListener | null;
}

interface Drain {
  ids: Set<string>;
  completed: number;
  timer: NodeJS.Timeout | undefined;
  resolve: (r: DrainResult) => void;
}

/**
 * Everything the router holds for one service: its route, its listener, its balancer, its counters
 * and the drains waiting on it. The object outlives a removed route so that counters stay
 * cumulative and in-flight requests can still be drained.
 */
export class ServiceProxy implements FrontHandler {
  readonly counters = new ServiceCounters();
  readonly balancer = new Balancer(this.counters);
  /** The installed route (listen.port is the real port), or null once removed. */
  route: ServiceRoute | null = null;
  private server: FrontListener | null = null;
  private previewServer: FrontListener | null = null;
  /** The preview listener's release (kept after the preview is removed, for its closing connections). */
  previewRelease = -1;
  /** Sticky cookie name when the route has `stickiness: cookie`, else null. */
  cookieName: string | null = null;
  private rules: CompiledRule[] = [];
  /** Rules or cookies may steer requests: the hot path skips steer() when false. */
  private steered = false;
  private readonly closing = new Set<FrontListener>();
  private drains: Drain[] = [];

  constructor(
    readonly name: string,
    readonly newId: () => string,
    /** Where listening sockets come from (under the supervisor: handed over by it). */
    private readonly listenOn: ListenFn = listenDirectly,
  ) {}

  /**
   * Opens the listeners `route` needs (main and preview), or null for one whose current listener
   * already fits (same host and port; port 0 keeps the current port). Nothing is installed yet.
   */
  async openListenerFor(route: ServiceRoute): Promise<{ servers: Listeners; effective: ServiceRoute }> {
    const main = await this.openOne(route.listen, this.server === null ? undefined : this.route?.listen, false);
    let preview: { server: FrontListener | null; port: number } | undefined;
    if (route.preview !== undefined) {
      try {
        preview = await this.openOne(route.preview, this.previewServer === null ? undefined : this.route?.preview, true);
      } catch (err) {
        if (main.server !== null) main.server.server.close();
        throw err;
      }
    }
    const effective: ServiceRoute = { ...route, listen: { host: route.listen.host, port: main.port } };
    if (route.preview !== undefined) effective.preview = { ...route.preview, port: preview!.port };
    return { servers: { main: main.server, preview: preview?.server ?? null }, effective };
  }

  private async openOne(
    want: { host: string; port: number },
    cur: { host: string; port: number } | undefined,
    preview: boolean,
  ): Promise<{ server: FrontListener | null; port: number }> {
    if (cur !== undefined && cur.host === want.host && (want.port === 0 || want.port === cur.port)) return { server: null, port: cur.port };
    const server = await this.listen(want.host, want.port, preview);
    return { server, port: server.port };
  }

  /**
   * Makes `route` current; new listeners (from openListenerFor) replace the old ones, which close
   * gracefully. A route without `preview` closes the preview listener. Synchronous, so every
   * request that arrives after it returns is routed by the new table.
   */
  install(route: ServiceRoute, servers: Listeners | null): void {
    if (servers?.main != null) {
      const old = this.server;
      this.server = servers.main;
      if (old !== null) this.closeServer(old);
    }
    if (route.preview === undefined || servers?.preview != null) {
      const old = this.previewServer;
      this.previewServer = servers?.preview ?? null;
      if (old !== null) this.closeServer(old);
    }
    this.route = route;
    this.rules = compileRules(route.rules);
    this.cookieName = route.stickiness === 'cookie' ? stickyCookieName(this.name) : null;
    this.steered = this.rules.length > 0 || this.cookieName !== null;
    if (route.preview !== undefined) this.previewRelease = route.preview.release;
    this.balancer.setPools(route.pools);
  }

  /** Stops listening and routing; requests in flight finish (or are drained). */
  uninstall(): void {
    this.stopListening();
    this.route = null;
    this.balancer.setPools([]);
  }

  /** Closes listeners that failed to be installed. */
  discard(servers: Listeners): void {
    servers.main?.server.close();
    servers.preview?.server.close();
  }

  private async listen(host: string, port: number, preview: boolean): Promise<FrontListener> {
    const listener = new FrontListener(this, preview);
    const server = listener.server;
    await this.listenOn(server, host, port, preview ? `service "${this.name}" (preview listener)` : `service "${this.name}"`);
    server.on('error', () => {
      /* a listening server's errors surface on its sockets */
    });
    return listener;
  }

  private closeServer(listener: FrontListener): void {
    this.closing.add(listener);
    listener.close(() => this.closing.delete(listener));
  }

  onRequest(conn: ClientConnection, req: FrontRequest, preview: boolean): void {
    const head = upstreamRequestHeaders(req.rawHeaders, conn.socket.remoteAddress ?? '', 'http', this.newId);
    if (isRejection(head)) {
      reject(conn, head);
      return;
    }
    const release = preview ? this.previewRelease : this.steered ? this.steer(req.rawHeaders) : -1;
    new Exchange(this, conn, req, head, release, preview).begin();
  }

  onUpgrade(req: FrontRequest, socket: Socket, head: Buffer, preview: boolean): void {
    const release = preview ? this.previewRelease : this.steered ? this.steer(req.rawHeaders) : -1;
    proxyUpgrade(this, req, socket, head, release, preview);
  }

  /**
   * The release a main-listener request is steered to: the first matching header rule whose
   * release has backends, else the sticky cookie's release while it has backends and weight;
   * -1 for plain weighted balancing.
   */
  steer(raw: string[]): number {
    const b = this.balancer;
    if (this.rules.length > 0) {
      const r = ruleRelease(this.rules, raw, (release) => b.canServe(release, false));
      if (r >= 0) return r;
    }
    if (this.cookieName !== null) {
      const r = cookieRelease(raw, this.cookieName);
      if (r >= 0 && b.canServe(r, true)) return r;
    }
    return -1;
  }

  /**
   * A backend for a request steered to `release` (-1: none). A preview request stays on its
   * release; a steered one falls back to weighted balancing when that release has no backend left
   * to try.
   */
  pickFor(release: number, preview: boolean, tried: BackendState[] | null): BackendState | undefined {
    if (release >= 0) {
      const b = this.balancer.pickIn(release, tried);
      if (b !== undefined || preview) return b;
    }
    return this.balancer.pick(tried);
  }

  /** Counts `x` in flight on `b` (and its release). */
  attach(x: InFlight, b: BackendState): void {
    const counters = x.preview ? b.previewCounters : b.counters;
    x.backend = b;
    x.counters = counters;
    b.inFlight++;
    counters.inFlight++;
    b.active.add(x);
  }

  /** Undoes attach when `x` ends or moves to another backend; settles drains that were waiting on it. */
  detach(x: InFlight, b: BackendState): void {
    b.inFlight--;
    x.counters!.inFlight--;
    b.active.delete(x);
    this.balancer.released(b);
    if (this.drains.length === 0) return;
    for (const d of this.drains.slice()) {
      if (!d.ids.has(b.id)) continue;
      if (x.done && !x.abortedByRouter) d.completed++;
      if (this.drainIdle(d)) this.settleDrain(d, 0);
    }
  }

  /** Cuts exchanges whose waits went past `limits` (one sweep a second for the whole router, no timer per request). */
  expire(now: number, limits: Timeouts): void {
    this.server?.sweep(now);
    this.previewServer?.sweep(now);
    for (const l of this.closing) l.sweep(now);
    for (const b of this.balancer.backends.values()) {
      for (const x of b.active.toArray()) x.expire(now, limits);
    }
  }

  /** Total requests in flight on this service, on every backend. */
  inFlight(): number {
    let n = 0;
    for (const b of this.balancer.backends.values()) n += b.inFlight;
    return n;
  }

  /**
   * Resolves when the backends have nothing in flight, or at the deadline, when what is left is
   * answered 504 (or ended). Runs to completion whether or not anyone still waits for the result.
   */
  drain(backendIds: string[], timeoutMs: number): Promise<DrainResult> {
    return new Promise((resolve) => {
      const d: Drain = { ids: new Set(backendIds), completed: 0, timer: undefined, resolve };
      if (this.drainIdle(d)) {
        resolve({ completed: 0, aborted: 0 });
        return;
      }
      this.drains.push(d);
      d.timer = setTimeout(() => this.expireDrain(d), timeoutMs);
    });
  }

  private drainIdle(d: Drain): boolean {
    for (const id of d.ids) if ((this.balancer.backends.get(id)?.inFlight ?? 0) > 0) return false;
    return true;
  }

  private expireDrain(d: Drain): void {
    // Out of the list first: an aborted exchange's answer ends (and detaches) synchronously, which
    // must not settle this drain as if it had completed.
    const i = this.drains.indexOf(d);
    if (i < 0) return;
    this.drains.splice(i, 1);
    let aborted = 0;
    for (const id of d.ids) {
      const b = this.balancer.backends.get(id);
      if (b === undefined) continue;
      for (const x of b.active.toArray()) {
        x.abort(504);
        aborted++;
      }
    }
    clearTimeout(d.timer);
    d.resolve({ completed: d.completed, aborted });
  }

  private settleDrain(d: Drain, aborted: number): void {
    const i = this.drains.indexOf(d);
    if (i < 0) return;
    this.drains.splice(i, 1);
    clearTimeout(d.timer);
    d.resolve({ completed: d.completed, aborted });
  }

  /** Ends everything in flight (shutdown past its grace period). Returns how many were cut. */
  abortAll(status: number): number {
    let n = 0;
    for (const b of this.balancer.backends.values()) {
      for (const x of b.active.toArray()) {
        x.abort(status);
        n++;
      }
    }
    return n;
  }

  /** Stops accepting connections on every listener of this service (shutdown). */
  stopListening(): void {
    if (this.server !== null) this.closeServer(this.server);
    if (this.previewServer !== null) this.closeServer(this.previewServer);
    this.server = null;
    this.previewServer = null;
  }

  /** Closes every client connection still open (the very end of a shutdown). */
  closeAllConnections(): void {
    for (const s of this.closing) s.closeAllConnections();
  }

  stats(): ServiceStats {
    const inFlightByBackend: Record<string, number> = {};
    for (const b of this.balancer.backends.values()) inFlightByBackend[b.id] = b.inFlight;
    return {
      service: this.name,
      pools: this.counters.snapshot(),
      inFlightByBackend,
      unrouted: this.counters.unrouted,
      preview: this.counters.previewSnapshot(),
      previewUnrouted: this.counters.previewUnrouted,
    };
  }
}

/** Answers a request the router refuses to forward, and closes the connection (its framing is suspect). */
function reject(conn: ClientConnection, r: RequestRejection): void {
  const body = `${r.reason}\n`;
  conn.closeAfter = true;
  conn.writeHead(r.status, STATUS_CODES[r.status] ?? '', [
    'Content-Type',
    'text/plain; charset=utf-8',
    'Content-Length',
    String(Buffer.byteLength(body)),
  ]);
  conn.end(body);
}
