import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { SlipwayError } from '../core/errors.js';
import { Balancer, type BackendState, type InFlight } from './balancer.js';
import { Exchange } from './exchange.js';
import { upstreamRequestHeaders } from './headers.js';
import { ServiceCounters } from './metrics.js';
import type { DrainResult, ServiceRoute, ServiceStats } from './types.js';
import { proxyUpgrade } from './websocket-proxy.js';

/** Client-side keep-alive: long enough for clients that pool connections, bounded for idle ones. */
const CLIENT_KEEP_ALIVE_MS = 65_000;

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
export class ServiceProxy {
  readonly counters = new ServiceCounters();
  readonly balancer = new Balancer(this.counters);
  /** The installed route (listen.port is the real port), or null once removed. */
  route: ServiceRoute | null = null;
  private server: Server | null = null;
  private readonly closing = new Set<Server>();
  private drains: Drain[] = [];

  constructor(
    readonly name: string,
    readonly newId: () => string,
  ) {}

  /**
   * Opens the listener `route` needs, or returns null when the current one already fits
   * (same host and port; port 0 keeps the current port). Nothing is installed yet.
   */
  async openListenerFor(route: ServiceRoute): Promise<{ server: Server | null; effective: ServiceRoute }> {
    const cur = this.server !== null ? this.route?.listen : undefined;
    if (cur !== undefined && cur.host === route.listen.host && (route.listen.port === 0 || route.listen.port === cur.port)) {
      return { server: null, effective: { ...route, listen: { ...cur } } };
    }
    const server = await this.listen(route.listen.host, route.listen.port);
    const port = (server.address() as { port: number }).port;
    return { server, effective: { ...route, listen: { host: route.listen.host, port } } };
  }

  /** Makes `route` current; `server` (from openListenerFor) replaces the old listener, which closes gracefully. */
  install(route: ServiceRoute, server: Server | null): void {
    if (server !== null) {
      const old = this.server;
      this.server = server;
      if (old !== null) this.closeServer(old);
    }
    this.route = route;
    this.balancer.setPools(route.pools);
  }

  /** Stops listening and routing; requests in flight finish (or are drained). */
  uninstall(): void {
    if (this.server !== null) this.closeServer(this.server);
    this.server = null;
    this.route = null;
    this.balancer.setPools([]);
  }

  /** Closes a listener that failed to be installed. */
  discard(server: Server): void {
    server.close();
  }

  private listen(host: string, port: number): Promise<Server> {
    const server = createServer({ keepAliveTimeout: CLIENT_KEEP_ALIVE_MS, noDelay: true }, this.onRequest);
    server.headersTimeout = CLIENT_KEEP_ALIVE_MS + 1000;
    server.on('upgrade', this.onUpgrade);
    return new Promise((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(this.name, host, port, err)));
      server.listen({ port, host }, () => {
        server.removeAllListeners('error');
        server.on('error', () => { /* a listening server's errors surface on its sockets */ });
        resolve(server);
      });
    });
  }

  private closeServer(server: Server): void {
    this.closing.add(server);
    server.close(() => this.closing.delete(server));
    server.closeIdleConnections();
  }

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    // On a listener that is closing, answer what arrived but end each kept-alive connection after it.
    if (this.closing.size > 0 && this.closing.has((req.socket as Socket & { server?: Server }).server as Server)) res.shouldKeepAlive = false;
    const head = upstreamRequestHeaders(req.rawHeaders, req.socket.remoteAddress ?? '', 'http', this.newId);
    new Exchange(this, req, res, head).begin();
  };

  private readonly onUpgrade = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    proxyUpgrade(this, req, socket, head);
  };

  /** Counts `x` in flight on `b` (and its release). */
  attach(x: InFlight, b: BackendState): void {
    x.backend = b;
    x.counters = b.counters;
    b.inFlight++;
    b.counters.inFlight++;
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
    let aborted = 0;
    for (const id of d.ids) {
      const b = this.balancer.backends.get(id);
      if (b === undefined) continue;
      for (const x of [...b.active]) {
        x.abort(504);
        aborted++;
      }
    }
    this.settleDrain(d, aborted);
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
      for (const x of [...b.active]) {
        x.abort(status);
        n++;
      }
    }
    return n;
  }

  /** Stops accepting connections on every listener of this service (shutdown). */
  stopListening(): void {
    if (this.server !== null) this.closeServer(this.server);
    this.server = null;
  }

  /** Closes every client connection still open (the very end of a shutdown). */
  closeAllConnections(): void {
    for (const s of this.closing) s.closeAllConnections();
  }

  stats(): ServiceStats {
    const inFlightByBackend: Record<string, number> = {};
    for (const b of this.balancer.backends.values()) inFlightByBackend[b.id] = b.inFlight;
    return { service: this.name, pools: this.counters.snapshot(), inFlightByBackend, unrouted: this.counters.unrouted };
  }
}

function listenError(service: string, host: string, port: number, err: NodeJS.ErrnoException): SlipwayError {
  if (err.code === 'EADDRINUSE') {
    return new SlipwayError('conflict', 'ROUTER_PORT_IN_USE', `service "${service}": cannot listen on ${host}:${port}: port ${port} is already in use`, {
      hint: `Stop whatever listens on port ${port} (\`ss -ltnp 'sport = :${port}'\`) or give the service another port.`,
    });
  }
  if (err.code === 'EACCES') {
    return new SlipwayError('invalid', 'ROUTER_LISTEN_DENIED', `service "${service}": not allowed to listen on ${host}:${port}`, {
      hint: 'Ports below 1024 need privileges; use a higher port.',
    });
  }
  return new SlipwayError('invalid', 'ROUTER_LISTEN_FAILED', `service "${service}": cannot listen on ${host}:${port}: ${err.code ?? err.message}`, {
    hint: 'Check that the listen host is an address of this machine.',
  });
}
