import { HTTPParser } from '_http_common';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/**
 * A lean HTTP/1.1 client for the proxy's hot path: pooled keep-alive sockets to one backend, each
 * with Node's own llhttp parser, and the response handed straight to the exchange (no
 * ClientRequest, IncomingMessage or stream per request). Bodies are passed through as they arrive.
 */

/** Receives one response. Implemented by Exchange. */
export interface UpstreamSink {
  /** Response head. Returns true when the response has no body (answer to HEAD). Not called for 1xx. */
  onUpstreamHead(status: number, statusMessage: string, rawHeaders: string[]): boolean;
  onUpstreamBody(chunk: Buffer): void;
  /** The response is complete; the connection is already back in its pool (or closed). */
  onUpstreamEnd(): void;
  /**
   * The connection failed before the response completed. `responded`: some of the response had
   * arrived; `connected`: the TCP connection was ever established (if not, nothing was sent).
   */
  onUpstreamError(err: NodeJS.ErrnoException, responded: boolean, connected: boolean): void;
  /** False while the request body is still being sent: then the connection cannot be reused. */
  requestComplete(): boolean;
  /** Read-batching hooks: everything one socket read produces reaches the client in one write. */
  beginBatch(): void;
  endBatch(): void;
}

/** Idle upstream connections older than this are closed rather than reused: Node servers drop them at 5s. */
const IDLE_REUSE_MS = 4000;

const kConn = Symbol('slipway.conn');
type TaggedParser = HTTPParser & { [kConn]: UpstreamConnection; headers: string[] };
type TaggedSocket = Socket & { [kConn]: UpstreamConnection };

export class UpstreamConnection {
  readonly socket: Socket;
  private readonly parser: TaggedParser;
  sink: UpstreamSink | null = null;
  /** True once it has carried a response: a failure on it may be the upstream closing an idle socket. */
  reused = false;
  /** True once the TCP connection was established. */
  connected = false;
  idleSince = 0;
  private keepAlive = true;
  private responded = false;
  private error: NodeJS.ErrnoException | null = null;
  private closed = false;

  constructor(private readonly pool: UpstreamPool) {
    const socket = connect({ host: pool.host, port: pool.port, noDelay: true }) as TaggedSocket;
    socket[kConn] = this;
    socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
    socket.once('connect', onSocketConnect);
    this.socket = socket;
    const parser = new HTTPParser() as TaggedParser;
    parser.initialize(HTTPParser.RESPONSE, {}, 0, HTTPParser.kLenientNone);
    parser[kConn] = this;
    parser.headers = [];
    parser[HTTPParser.kOnHeaders] = onParserHeaders;
    parser[HTTPParser.kOnHeadersComplete] = onParserHeadersComplete;
    parser[HTTPParser.kOnBody] = onParserBody;
    parser[HTTPParser.kOnMessageComplete] = onParserMessageComplete;
    this.parser = parser;
  }

  get connecting(): boolean { return this.socket.connecting; }

  /** Starts a request on this connection: `head` is the serialised request line and headers. */
  send(sink: UpstreamSink, head: string): void {
    this.sink = sink;
    this.responded = false;
    this.socket.write(head, 'latin1');
  }

  /** Drops the connection (the exchange gave up on it); the sink hears nothing more. */
  destroy(): void {
    this.sink = null;
    this.socket.destroy();
  }

  onData(data: Buffer): void {
    const sink = this.sink;
    if (sink === null) {
      this.socket.destroy(); // bytes nobody asked for: the connection cannot be trusted
      return;
    }
    sink.beginBatch();
    const r = this.parser.execute(data);
    sink.endBatch();
    if (typeof r !== 'number') this.fail(Object.assign(r, { code: (r as NodeJS.ErrnoException).code ?? 'HPE_INVALID' }));
  }

  onHead(status: number, statusMessage: string, headers: string[], shouldKeepAlive: boolean): number {
    this.responded = true;
    if (status < 200) return 0; // 100 Continue, 103 Early Hints: not relayed
    this.keepAlive = shouldKeepAlive;
    const sink = this.sink;
    return sink !== null && sink.onUpstreamHead(status, statusMessage, headers) ? 1 : 0;
  }

  onBody(chunk: Buffer): void { this.sink?.onUpstreamBody(chunk); }

  onMessageComplete(status: number): void {
    if (status > 0 && status < 200) return;
    const sink = this.sink;
    this.sink = null;
    this.reused = true;
    if (this.keepAlive && !this.closed && sink !== null && sink.requestComplete()) this.pool.release(this);
    else this.socket.destroy();
    sink?.onUpstreamEnd();
  }

  onEnd(): void {
    // A body delimited by the connection closing ends here.
    const r = this.parser.finish();
    if (r instanceof Error) this.error ??= r as NodeJS.ErrnoException;
  }

  fail(err: NodeJS.ErrnoException): void {
    this.error ??= err;
    this.socket.destroy();
  }

  onClose(): void {
    this.closed = true;
    this.pool.forget(this);
    this.parser.remove?.();
    this.parser.free();
    const sink = this.sink;
    this.sink = null;
    if (sink !== null) {
      const err = this.error ?? Object.assign(new Error('upstream closed the connection'), { code: 'ECONNRESET' });
      sink.onUpstreamError(err, this.responded, this.connected);
    }
  }

  onError(err: NodeJS.ErrnoException): void {
    this.error ??= err;
  }
}

function onSocketConnect(this: TaggedSocket): void { this[kConn].connected = true; }
function onSocketData(this: TaggedSocket, data: Buffer): void { this[kConn].onData(data); }
function onSocketEnd(this: TaggedSocket): void { this[kConn].onEnd(); }
function onSocketError(this: TaggedSocket, err: Error): void { this[kConn].onError(err as NodeJS.ErrnoException); }
function onSocketClose(this: TaggedSocket): void { this[kConn].onClose(); }
function onParserHeaders(this: TaggedParser, headers: string[]): void {
  for (const h of headers) this.headers.push(h);
}
// Signature fixed by node's llhttp binding (lib/_http_common.js).
function onParserHeadersComplete(this: TaggedParser, _major: number, _minor: number, headers: string[] | undefined, _method: unknown, _url: unknown, status: number, statusMessage: string, _upgrade: boolean, shouldKeepAlive: boolean): number {
  if (headers === undefined) {
    headers = this.headers;
    this.headers = [];
  }
  (this as TaggedParser & { status: number }).status = status;
  return this[kConn].onHead(status, statusMessage, headers, shouldKeepAlive);
}
function onParserBody(this: TaggedParser, chunk: Buffer): void { this[kConn].onBody(chunk); }
function onParserMessageComplete(this: TaggedParser): void { this[kConn].onMessageComplete((this as TaggedParser & { status: number }).status); }

/** Keep-alive connections to one backend, most recently used first. */
export class UpstreamPool {
  private readonly idle: UpstreamConnection[] = [];
  private closed = false;

  constructor(readonly host: string, readonly port: number) {}

  /** An idle connection, or a new one (possibly still connecting). */
  acquire(): UpstreamConnection {
    const now = performance.now();
    while (this.idle.length > 0) {
      const c = this.idle.pop()!;
      if (now - c.idleSince < IDLE_REUSE_MS && !c.socket.destroyed) return c;
      c.destroy();
    }
    return new UpstreamConnection(this);
  }

  release(c: UpstreamConnection): void {
    if (this.closed) {
      c.destroy();
      return;
    }
    c.idleSince = performance.now();
    this.idle.push(c);
  }

  forget(c: UpstreamConnection): void {
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
  }

  /** Closes idle connections; busy ones close when their response ends. */
  close(): void {
    this.closed = true;
    for (const c of this.idle.splice(0)) c.destroy();
  }
}
