import { STATUS_CODES } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { BackendState, InFlight, Timeouts } from './balancer.js';
import type { InFlightList, Listed } from './in-flight-list.js';
import type { ClientConnection, ClientExchange } from './front/client-connection.js';
import type { BodySink, FrontRequest } from './front/front-request.js';
import { clientResponseHeaders, serializeRequestHead, type UpstreamHead } from './headers.js';
import type { PoolCounters } from './metrics.js';
import type { ServiceProxy } from './service-proxy.js';
import { stickyCookie } from './steering.js';
import type { ResponseFraming, UpstreamConnection, UpstreamSink } from './upstream-connection.js';

/** A request is tried on at most this many backends when they refuse the connection. */
export const MAX_ATTEMPTS = 4;

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);
const CRLF = '\r\n';
const LAST_CHUNK = '0\r\n\r\n';
const ABORT_BODY: Record<number, string> = { 408: 'request timeout: the request body stalled\n', 504: 'gateway timeout\n' };

/**
 * One client request proxied to one upstream (or several, when backends refuse the connection
 * before any byte of the request reached them). Owns the accounting: in flight on its backend and
 * release from the first attempt until the client's response closes.
 */
export class Exchange implements InFlight, UpstreamSink, ClientExchange, BodySink {
  readonly start = performance.now();
  // Links of the backend's in-flight list (in-flight-list.ts).
  list: InFlightList<Listed> | null = null;
  listPrev: Listed | null = null;
  listNext: Listed | null = null;
  backend: BackendState | null = null;
  counters: PoolCounters | null = null;
  private conn: UpstreamConnection | null = null;
  private tried: BackendState[] | null = null;
  private attempts = 0;
  /** The upstream's response head arrived (and was written to the client). */
  private responded = false;
  /** Headers written but no body yet after a socket read: flush them so streams show up at once. */
  private needFlush = false;
  /** The client's body has been sent upstream entirely (true at once when there is none). */
  private bodySent: boolean;
  private chunked: boolean;
  /** Set once the client's response closed; later events are ignored. */
  done = false;
  /** Set when the router cut the request short (drain deadline, timeout, shutdown). */
  abortedByRouter = false;
  /** performance.now() when bytes last moved (either way) or the client last drained: idle timeouts count from here. */
  private lastActivity: number;
  /** The upstream is held until the client's side drains (one 'drain' listener at a time). */
  private awaitingDrain = false;
  /** The client socket is corked for the current upstream read (beginBatch). */
  private corked = false;

  constructor(
    readonly svc: ServiceProxy,
    /** The client connection that answers `req` (its one current request). */
    readonly res: ClientConnection,
    readonly req: FrontRequest,
    readonly head: UpstreamHead,
    /** The release header rules, a sticky cookie or the preview listener chose; -1 for weighted balancing. */
    readonly release: number,
    /** Came through the preview listener: served by `release` only, counted apart. */
    readonly preview: boolean,
  ) {
    this.bodySent = !head.hasBody;
    this.chunked = head.chunked;
    this.lastActivity = this.start;
  }

  /** Chooses a backend and sends the request; answers 503 when the service has none. */
  begin(): void {
    this.res.exchange = this;
    const b = this.release < 0 ? this.svc.balancer.pick(null) : this.svc.pickFor(this.release, this.preview, null);
    if (b !== undefined) {
      this.attempt(b);
    } else if (this.preview) {
      this.svc.counters.previewUnrouted++;
      this.sendError(503, `no backends for service ${this.svc.name} release ${this.release} (preview)\n`);
    } else {
      this.svc.counters.unrouted++;
      this.sendError(503, `no backends for service ${this.svc.name}\n`);
    }
  }

  private attempt(b: BackendState): void {
    this.attempts++;
    this.lastActivity = performance.now();
    this.svc.attach(this, b);
    const conn = b.pool.acquire();
    this.conn = conn;
    conn.send(this, serializeRequestHead(this.req.method, this.req.url, this.head.headers, b.authority));
    if (this.head.hasBody) {
      // Read the body only once connected, so that a refused connection leaves it whole for a retry.
      if (conn.connecting) conn.socket.once('connect', () => this.startBody(conn));
      else this.startBody(conn);
    }
  }

  private startBody(conn: UpstreamConnection): void {
    if (conn !== this.conn || this.done) return;
    this.res.readBody(this);
  }

  onRequestData(chunk: Buffer): void {
    const conn = this.conn;
    if (conn === null) return;
    this.lastActivity = performance.now();
    const socket = conn.socket;
    let ok: boolean;
    if (this.chunked) {
      socket.cork();
      socket.write(chunk.length.toString(16) + CRLF, 'latin1');
      socket.write(chunk);
      ok = socket.write(CRLF, 'latin1');
      socket.uncork();
    } else {
      ok = socket.write(chunk);
    }
    if (!ok) {
      this.res.pauseBody();
      socket.once('drain', () => this.res.resumeBody(this));
    }
  }

  onRequestEnd(): void {
    if (this.conn === null) return;
    if (this.chunked) this.conn.socket.write(LAST_CHUNK, 'latin1');
    this.bodySent = true;
    this.lastActivity = performance.now();
  }

  requestComplete(): boolean {
    return this.bodySent;
  }

  onUpstreamHead(status: number, statusMessage: string, rawHeaders: string[], framing: ResponseFraming): boolean {
    if (this.done || this.abortedByRouter) return false;
    const now = performance.now();
    this.lastActivity = now;
    const headers = clientResponseHeaders(rawHeaders, this.head.requestId, framing.length, status);
    const cookie = this.svc.cookieName;
    if (cookie !== null && !this.preview) headers.push('Set-Cookie', stickyCookie(cookie, this.counters!.release));
    try {
      this.res.writeHead(status, statusMessage, headers);
    } catch (err) {
      // Node refuses what it would not send (a header value it deems invalid): the upstream's fault.
      this.conn?.destroy();
      this.conn = null;
      this.sendError(
        502,
        `bad gateway: ${this.svc.name} backend ${this.backend!.id}: invalid response head (${(err as NodeJS.ErrnoException).code ?? 'invalid'})\n`,
      );
      return true;
    }
    this.responded = true;
    this.counters!.observe(status, now - this.start);
    this.needFlush = true;
    return this.req.method === 'HEAD';
  }

  onUpstreamBody(chunk: Buffer): void {
    this.needFlush = false;
    if (this.done) return;
    this.lastActivity = performance.now();
    if (!this.res.write(chunk) && !this.awaitingDrain) {
      // The client reads slower than the upstream sends: hold the upstream until it catches up.
      this.awaitingDrain = true;
      this.conn?.hold(this);
    }
  }

  onClientDrain(): void {
    this.awaitingDrain = false;
    this.lastActivity = performance.now();
    this.conn?.unhold(this);
  }

  /**
   * Cuts the exchange when a wait has no end: no response head within `upstreamMs` of the last
   * byte sent (504), a request body that stalls for `bodyIdleMs` (408), a response body that
   * stalls for `bodyIdleMs` (the client's response is cut: it must not look complete).
   */
  expire(now: number, limits: Timeouts): void {
    if (this.done || this.abortedByRouter) return;
    const idle = now - this.lastActivity;
    if (!this.bodySent) {
      if (idle > limits.bodyIdleMs) this.abort(this.responded ? 504 : 408);
    } else if (!this.responded) {
      if (idle > limits.upstreamMs) this.abort(504);
    } else if (idle > limits.bodyIdleMs) {
      this.abort(504);
    }
  }

  onUpstreamEnd(): void {
    this.needFlush = false;
    this.conn = null;
    if (!this.done) this.res.end();
  }

  beginBatch(): void {
    // Everything one upstream read produces (head, body, end) leaves in one write to the client.
    if (this.done) return;
    this.corked = true;
    this.res.cork();
  }

  endBatch(): void {
    if (this.needFlush) {
      this.needFlush = false;
      // Response head without body in this read (SSE, long poll, slow first byte): show it now.
      if (!this.done) this.res.flushHead();
    }
    if (this.corked) {
      this.corked = false;
      this.res.uncork();
    }
  }

  onUpstreamError(err: NodeJS.ErrnoException, responded: boolean, connected: boolean): void {
    this.conn = null;
    if (this.done || this.abortedByRouter) return;
    if (this.responded) {
      this.res.destroy(); // the client must see a truncated response, not a complete one
      return;
    }
    // Retry when the request surely did not run (never connected: refused), or when it may run
    // again harmlessly: an idempotent request without a body whose upstream failed before any byte
    // of an answer (a kept-alive socket the upstream had just closed, an instance that died
    // mid-request), as nginx's proxy_next_upstream does (RFC 9110 §9.2.2).
    const failed = this.backend!;
    const retryable = err.code === 'ECONNREFUSED' || !connected || (!responded && !this.head.hasBody && IDEMPOTENT.has(this.req.method));
    if (retryable) {
      this.svc.detach(this, failed);
      (this.tried ??= []).push(failed);
      const next = this.attempts < MAX_ATTEMPTS ? this.svc.pickFor(this.release, this.preview, this.tried) : undefined;
      if (next !== undefined) {
        this.attempt(next);
        return;
      }
      this.svc.attach(this, failed); // keep the 502 attributed to the release it was meant for
    }
    this.sendError(502, `bad gateway: ${this.svc.name} backend ${failed.id}: ${err.code ?? err.message}\n`);
  }

  /** The router ends this request: `status` (504) if no response started, else ends the response. */
  abort(status: number): void {
    if (this.done || this.abortedByRouter) return;
    this.abortedByRouter = true;
    this.conn?.destroy();
    this.conn = null;
    // The rest of a request body will not be read: the connection cannot carry another request.
    if (!this.bodySent) this.res.closeAfter = true;
    if (!this.res.headWritten) this.sendError(status, ABORT_BODY[status] ?? 'unavailable\n');
    // A chunked response can end cleanly; one with a Content-Length cannot, so it is cut.
    else if (this.res.chunked) this.res.end();
    else this.res.destroy();
  }

  private sendError(status: number, body: string): void {
    const res = this.res;
    if (res.headWritten) {
      res.destroy();
      return;
    }
    this.counters?.observe(status, performance.now() - this.start);
    res.writeHead(status, STATUS_CODES[status] ?? '', [
      'Content-Type',
      'text/plain; charset=utf-8',
      'Content-Length',
      String(Buffer.byteLength(body)),
      'X-Request-Id',
      this.head.requestId,
    ]);
    res.end(body);
  }

  onClientClose(): void {
    if (this.done) return;
    this.done = true;
    // The client went away (or we cut the response): a half-used upstream connection cannot be reused.
    if (this.conn !== null) {
      this.conn.destroy();
      this.conn = null;
    }
    if (this.backend !== null) {
      this.counters!.requests++;
      this.svc.detach(this, this.backend);
    }
  }
}
