import { request, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { BackendState, InFlight } from './balancer.js';
import { clientResponseHeaders, type UpstreamHead } from './headers.js';
import type { PoolCounters } from './metrics.js';
import type { ServiceProxy } from './service-proxy.js';

/** A request is tried on at most this many backends when they refuse the connection. */
export const MAX_ATTEMPTS = 4;

const IDEMPOTENT_NO_BODY = new Set(['GET', 'HEAD', 'OPTIONS']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

// The exchange rides on the emitters it listens to, so the listeners below are shared functions
// rather than closures allocated per request.
const kEx = Symbol('slipway.exchange');
type Tagged<T> = T & { [kEx]?: Exchange };

/**
 * One client request proxied to one upstream (or several, when backends refuse the connection
 * before any byte of the request reached them). Owns the accounting: in flight on its backend and
 * release from the first attempt until the client's response closes.
 */
export class Exchange implements InFlight {
  readonly start = performance.now();
  backend: BackendState | null = null;
  counters: PoolCounters | null = null;
  upReq: ClientRequest | null = null;
  upRes: IncomingMessage | null = null;
  private tried: BackendState[] | null = null;
  private attempts = 0;
  /** Set once the client's response closed; later events are ignored. */
  done = false;
  /** Set when the router cut the request short (drain deadline, timeout, shutdown). */
  abortedByRouter = false;

  constructor(
    readonly svc: ServiceProxy,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly head: UpstreamHead,
  ) {}

  /** Chooses a backend and sends the request; answers 503 when the service has none. */
  begin(): void {
    (this.res as Tagged<ServerResponse>)[kEx] = this;
    this.res.on('close', onClientClose);
    const b = this.svc.balancer.pick(null);
    if (b === undefined) {
      this.svc.counters.unrouted++;
      this.sendError(503, `no backends for service ${this.svc.name}\n`);
      return;
    }
    this.attempt(b);
  }

  awaitingResponse(): boolean { return this.upRes === null && !this.done; }

  private attempt(b: BackendState): void {
    this.attempts++;
    this.svc.attach(this, b);
    const upReq = request({
      host: b.host,
      port: b.port,
      method: this.req.method,
      path: this.req.url,
      headers: this.head.headers as unknown as Record<string, string>,
      agent: this.svc.agent,
    }) as Tagged<ClientRequest>;
    upReq[kEx] = this;
    this.upReq = upReq;
    upReq.on('response', onUpstreamResponse);
    upReq.on('error', onUpstreamError);
    if (!this.head.hasBody) upReq.end();
    else upReq.on('socket', onUpstreamSocket);
  }

  /** Starts streaming the client's body once connected, so a refused connection leaves it unread for a retry. */
  pipeBody(upReq: ClientRequest): void {
    if (upReq === this.upReq && !this.done) this.req.pipe(upReq);
  }

  onResponse(upRes: IncomingMessage): void {
    this.upRes = upRes;
    const status = upRes.statusCode ?? 502;
    this.counters!.observe(status, performance.now() - this.start);
    const res = this.res;
    res.writeHead(status, upRes.statusMessage, clientResponseHeaders(upRes.rawHeaders, this.head.requestId) as unknown as Record<string, string>);
    // A streamed body (no Content-Length: SSE, long polls) must show its headers at once, even
    // if the first chunk is slow to come.
    if (upRes.headers['content-length'] === undefined) res.flushHeaders();
    (upRes as Tagged<IncomingMessage>)[kEx] = this;
    upRes.on('close', onUpstreamResponseClose);
    upRes.pipe(res);
  }

  onError(upReq: ClientRequest, err: NodeJS.ErrnoException): void {
    if (this.done || this.abortedByRouter || upReq !== this.upReq) return;
    if (this.upRes !== null) {
      this.res.destroy(); // the client must see a truncated response, not a complete one
      return;
    }
    if (this.retryable(upReq, err)) {
      const failed = this.backend!;
      this.svc.detach(this, failed);
      (this.tried ??= []).push(failed);
      const next = this.attempts < MAX_ATTEMPTS ? this.svc.balancer.pick(this.tried) : undefined;
      if (next !== undefined) {
        this.attempt(next);
        return;
      }
      this.svc.attach(this, failed); // keep the 502 attributed to the release it was meant for
    }
    this.sendError(502, `bad gateway: ${this.svc.name} backend ${this.backend!.id}: ${err.code ?? err.message}\n`);
  }

  /** No request was sent, or one that is safe to repeat reached a kept-alive socket the upstream had just closed. */
  private retryable(upReq: ClientRequest, err: NodeJS.ErrnoException): boolean {
    if (err.code === 'ECONNREFUSED') return true;
    if (!RESET_CODES.has(err.code ?? '') && err.message !== 'socket hang up') return false;
    if (!upReq.reusedSocket && (upReq.socket?.bytesWritten ?? 0) === 0) return true;
    return upReq.reusedSocket && !this.head.hasBody && IDEMPOTENT_NO_BODY.has(this.req.method ?? '');
  }

  /** The router ends this request: `status` (504) if no response started, else ends the response. */
  abort(status: number): void {
    if (this.done || this.abortedByRouter) return;
    this.abortedByRouter = true;
    if (this.upRes !== null) this.upRes.unpipe(this.res);
    if (this.head.hasBody) this.req.unpipe();
    this.upReq?.destroy();
    if (!this.res.headersSent) this.sendError(status, status === 504 ? 'gateway timeout\n' : 'unavailable\n');
    // A chunked response can end cleanly; one with a Content-Length cannot, so it is cut.
    else if ((this.res as unknown as { chunkedEncoding: boolean }).chunkedEncoding) this.res.end();
    else this.res.destroy();
  }

  private sendError(status: number, body: string): void {
    const res = this.res;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    this.counters?.observe(status, performance.now() - this.start);
    res.writeHead(status, ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', String(Buffer.byteLength(body)), 'X-Request-Id', this.head.requestId] as unknown as Record<string, string>);
    res.end(body);
  }

  onClientClose(): void {
    if (this.done) return;
    this.done = true;
    // The client went away (or we cut the response): stop the upstream work too.
    if (!this.res.writableFinished && this.upReq !== null && !this.upReq.destroyed) this.upReq.destroy();
    if (this.backend !== null) {
      this.counters!.requests++;
      this.svc.detach(this, this.backend);
    }
  }
}

function onClientClose(this: Tagged<ServerResponse>): void { this[kEx]!.onClientClose(); }
function onUpstreamResponse(this: Tagged<ClientRequest>, upRes: IncomingMessage): void {
  const ex = this[kEx]!;
  if (ex.done || ex.abortedByRouter || this !== ex.upReq) {
    upRes.resume();
    return;
  }
  ex.onResponse(upRes);
}
function onUpstreamError(this: Tagged<ClientRequest>, err: Error): void { this[kEx]!.onError(this, err as NodeJS.ErrnoException); }
function onUpstreamResponseClose(this: Tagged<IncomingMessage>): void {
  const ex = this[kEx]!;
  if (!this.complete && !ex.done && !ex.abortedByRouter) ex.res.destroy();
}
function onUpstreamSocket(this: Tagged<ClientRequest>, socket: Socket): void {
  const ex = this[kEx]!;
  if (socket.connecting) socket.once('connect', ex.pipeBody.bind(ex, this));
  else ex.pipeBody(this);
}
