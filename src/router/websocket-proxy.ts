import { request, STATUS_CODES, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { BackendState, InFlight, Timeouts } from './balancer.js';
import type { InFlightList, Listed } from './in-flight-list.js';
import type { FrontRequest } from './front/front-request.js';
import { MAX_ATTEMPTS } from './exchange.js';
import { clientResponseHeaders, isRejection, upstreamRequestHeaders, type UpstreamHead } from './headers.js';
import type { PoolCounters } from './metrics.js';
import type { ServiceProxy } from './service-proxy.js';

/**
 * Proxies an HTTP Upgrade (WebSocket) request: the handshake goes to a backend chosen like any
 * request, and once it answers 101 the two sockets are piped to each other. The tunnel counts as
 * one request in flight on its backend until either side closes, so draining waits for it and a
 * drain deadline closes it.
 */
export function proxyUpgrade(svc: ServiceProxy, req: FrontRequest, socket: Socket, head: Buffer, release: number, preview: boolean): void {
  const verdict = upstreamRequestHeaders(req.rawHeaders, socket.remoteAddress ?? '', 'http', svc.newId);
  // A handshake has no body: bytes after its head belong to the WebSocket, never to a framed body.
  if (isRejection(verdict) || verdict.hasBody) {
    const refusal = isRejection(verdict) ? verdict : { status: 400, reason: 'a WebSocket handshake carries no body' };
    socket.on('error', () => socket.destroy());
    socket.end(closingAnswer(refusal.status, `${refusal.reason}\n`, []));
    return;
  }
  const upHead = verdict;
  upHead.headers.push('Connection', 'Upgrade', 'Upgrade', req.upgrade ?? 'websocket');
  new Tunnel(svc, req, socket, head, upHead, release, preview).begin();
}

class Tunnel implements InFlight {
  // Links of the backend's in-flight list (in-flight-list.ts).
  list: InFlightList<Listed> | null = null;
  listPrev: Listed | null = null;
  listNext: Listed | null = null;
  readonly start = performance.now();
  backend: BackendState | null = null;
  counters: PoolCounters | null = null;
  done = false;
  abortedByRouter = false;
  private upReq: ClientRequest | null = null;
  private upSocket: Socket | null = null;
  private responded = false;
  private tried: BackendState[] = [];

  constructor(
    private readonly svc: ServiceProxy,
    private readonly req: FrontRequest,
    private readonly socket: Socket,
    private readonly head: Buffer,
    private readonly upHead: UpstreamHead,
    /** Release chosen by rules, cookie or the preview listener; -1 for weighted balancing. */
    private readonly release: number,
    readonly preview: boolean,
  ) {}

  begin(): void {
    this.socket.on('error', () => this.socket.destroy());
    this.socket.on('close', () => this.finish());
    const b = this.svc.pickFor(this.release, this.preview, null);
    if (b === undefined) {
      if (this.preview) this.svc.counters.previewUnrouted++;
      else this.svc.counters.unrouted++;
      this.rawError(503, `no backends for service ${this.svc.name}${this.preview ? ` release ${this.release} (preview)` : ''}\n`);
      return;
    }
    this.attempt(b);
  }

  /** Only the handshake can time out: an open tunnel lives until either side closes or a drain ends it. */
  expire(now: number, limits: Timeouts): void {
    if (!this.responded && !this.done && now - this.start > limits.upstreamMs) this.abort(504);
  }

  private attempt(b: BackendState): void {
    this.svc.attach(this, b);
    // No agent: an upgraded socket leaves the pool for good.
    const upReq = request({
      host: b.host,
      port: b.port,
      method: this.req.method,
      path: this.req.url,
      headers: this.upHead.headers as unknown as Record<string, string>,
      agent: false,
    });
    this.upReq = upReq;
    upReq.on('upgrade', (upRes: IncomingMessage, upSocket: Socket, upBuf: Buffer) => this.onUpgrade(upReq, upRes, upSocket, upBuf));
    upReq.on('response', (upRes: IncomingMessage) => this.onPlainResponse(upReq, upRes));
    upReq.on('error', (err: NodeJS.ErrnoException) => this.onError(upReq, err));
    upReq.end();
  }

  private onUpgrade(upReq: ClientRequest, upRes: IncomingMessage, upSocket: Socket, upBuf: Buffer): void {
    if (upReq !== this.upReq || this.done || this.abortedByRouter) {
      upSocket.destroy();
      return;
    }
    this.responded = true;
    this.upSocket = upSocket;
    this.counters!.observe(101, performance.now() - this.start);
    const headers = clientResponseHeaders(upRes.rawHeaders, this.upHead.requestId);
    headers.push('Connection', 'Upgrade', 'Upgrade', upRes.headers.upgrade ?? 'websocket');
    this.socket.write(statusLine(101, upRes.statusMessage || 'Switching Protocols', headers));
    if (upBuf.length > 0) this.socket.write(upBuf);
    if (this.head.length > 0) upSocket.write(this.head);
    upSocket.setNoDelay(true);
    const client = this.socket;
    upSocket.on('error', () => upSocket.destroy());
    upSocket.on('close', () => client.destroy());
    client.on('close', () => upSocket.destroy());
    // WebSockets make no use of half-closed TCP: when either side ends, end both (after what is
    // buffered is flushed) instead of leaving a half-open tunnel counted in flight.
    const endBoth = () => {
      client.end();
      upSocket.end();
    };
    client.on('end', endBoth);
    upSocket.on('end', endBoth);
    client.on('finish', () => client.destroy());
    upSocket.on('finish', () => upSocket.destroy());
    upSocket.pipe(client, { end: false });
    client.pipe(upSocket, { end: false });
  }

  /** The upstream refused the upgrade: relay its answer and close. */
  private onPlainResponse(upReq: ClientRequest, upRes: IncomingMessage): void {
    if (upReq !== this.upReq || this.done || this.abortedByRouter) {
      upRes.resume();
      return;
    }
    this.responded = true;
    const status = upRes.statusCode ?? 502;
    this.counters!.observe(status, performance.now() - this.start);
    const headers = clientResponseHeaders(upRes.rawHeaders, this.upHead.requestId).filter(
      (_, i, a) => !/^content-length$/i.test(a[i - (i % 2)]!),
    );
    headers.push('Connection', 'close');
    this.socket.write(statusLine(status, upRes.statusMessage ?? '', headers));
    upRes.pipe(this.socket);
  }

  private onError(upReq: ClientRequest, err: NodeJS.ErrnoException): void {
    if (upReq !== this.upReq || this.done || this.abortedByRouter) return;
    if (this.responded) {
      this.socket.destroy();
      return;
    }
    if (err.code === 'ECONNREFUSED' && this.tried.length + 1 < MAX_ATTEMPTS) {
      const failed = this.backend!;
      this.svc.detach(this, failed);
      this.tried.push(failed);
      const next = this.svc.pickFor(this.release, this.preview, this.tried);
      if (next !== undefined) {
        this.attempt(next);
        return;
      }
      this.svc.attach(this, failed);
    }
    this.rawError(502, `bad gateway: ${this.svc.name} backend ${this.backend!.id}: ${err.code ?? err.message}\n`);
  }

  abort(status: number): void {
    if (this.done || this.abortedByRouter) return;
    this.abortedByRouter = true;
    if (this.upSocket !== null) {
      this.upSocket.end();
      this.socket.end();
      return;
    }
    this.upReq?.destroy();
    this.rawError(status, status === 504 ? 'gateway timeout\n' : 'unavailable\n');
  }

  private rawError(status: number, body: string): void {
    this.responded = true;
    this.counters?.observe(status, performance.now() - this.start);
    this.socket.end(closingAnswer(status, body, ['X-Request-Id', this.upHead.requestId]));
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.upReq?.destroy();
    this.upSocket?.destroy();
    if (this.backend !== null) {
      this.counters!.requests++;
      this.svc.detach(this, this.backend);
    }
  }
}

/** A plain-text answer written straight to the socket, after which the connection closes. */
function closingAnswer(status: number, body: string, headers: string[]): string {
  const all = [
    'Content-Type',
    'text/plain; charset=utf-8',
    'Content-Length',
    String(Buffer.byteLength(body)),
    ...headers,
    'Connection',
    'close',
  ];
  return statusLine(status, STATUS_CODES[status] ?? '', all) + body;
}

function statusLine(status: number, message: string, headers: string[]): string {
  let s = `HTTP/1.1 ${status} ${message}\r\n`;
  for (let i = 0; i < headers.length; i += 2) s += `${headers[i]!}: ${headers[i + 1]!}\r\n`;
  return s + '\r\n';
}
