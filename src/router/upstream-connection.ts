import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ResponseParser, type ResponseEvents } from './llhttp.js';

/**
 * A lean HTTP/1.1 client for the proxy's hot path: pooled keep-alive sockets to one backend, each
 * with Node's own llhttp parser (strict: no leniency), and the response handed straight to the
 * exchange (no ClientRequest, IncomingMessage or stream per request). Bodies are passed through as
 * they arrive.
 *
 * Invariants that keep one exchange's bytes out of another's:
 * - every response starts from empty parser state (trailers are dropped, never carried over);
 * - a connection goes back to its pool only after a complete response to a completely sent
 *   request, with keep-alive, not held for backpressure, and not broken;
 * - bytes nobody asked for (a second response, a 101 to a plain request) break the connection.
 */

/** How the upstream framed a response body. */
export interface ResponseFraming {
  /** The body's length from Content-Length (validated by the parser), or -1 (chunked or until close). */
  length: number;
}

/** Receives one response. Implemented by Exchange. */
export interface UpstreamSink {
  /** Response head. Returns true when the response has no body (answer to HEAD). Not called for 1xx. */
  onUpstreamHead(status: number, statusMessage: string, rawHeaders: string[], framing: ResponseFraming): boolean;
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

/**
 * Every upstream socket of the process reads into this one buffer (`onread`), parsed before the
 * next read can overwrite it: no Buffer allocated and no stream machinery per read. The parser
 * copies what it keeps (header strings, body chunks: node's binding hands out copies, and
 * `checkParsers` proves it at start-up).
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

const kConn = Symbol('slipway.conn');
type TaggedSocket = Socket & { [kConn]: UpstreamConnection };

function protocolError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

export class UpstreamConnection implements ResponseEvents {
  readonly socket: Socket;
  private readonly parser: ResponseParser;
  sink: UpstreamSink | null = null;
  /** True once the TCP connection was established. */
  connected = false;
  idleSince = 0;
  private keepAlive = true;
  private responded = false;
  /** Paused because the client reads slower than the upstream sends (see hold). */
  private held = false;
  private error: NodeJS.ErrnoException | null = null;
  /** Failed or closed: no callback reaches a sink any more, and it never returns to the pool. */
  private broken = false;

  constructor(private readonly pool: UpstreamPool) {
    const socket = connect({
      host: pool.host,
      port: pool.port,
      noDelay: true,
      onread: { buffer: READ_BUFFER, callback: onSocketRead },
    }) as TaggedSocket;
    socket[kConn] = this;
    socket.on('end', onSocketEnd);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
    socket.once('connect', onSocketConnect);
    this.socket = socket;
    this.parser = new ResponseParser(this);
  }

  get connecting(): boolean {
    return this.socket.connecting;
  }

  /** Starts a request on this connection: `head` is the serialised request line and headers. */
  send(sink: UpstreamSink, head: Buffer): void {
    this.sink = sink;
    this.responded = false;
    this.socket.write(head);
  }

  /** Drops the connection (the exchange gave up on it); the sink hears nothing more. */
  destroy(): void {
    this.sink = null;
    this.broken = true;
    this.socket.destroy();
  }

  /** Stops reading the response until `unhold` (the client's side is full). */
  hold(sink: UpstreamSink): void {
    if (this.sink !== sink || this.broken) return;
    this.held = true;
    this.socket.pause();
  }

  /** Reads again after `hold`, if the connection still serves `sink`. */
  unhold(sink: UpstreamSink): void {
    if (this.sink !== sink || !this.held) return;
    this.held = false;
    this.socket.resume();
  }

  onData(data: Buffer): void {
    const sink = this.sink;
    if (sink === null || this.broken) {
      this.fail(protocolError('UPSTREAM_UNSOLICITED', 'upstream sent bytes no request asked for'));
      return;
    }
    sink.beginBatch();
    const err = this.parser.execute(data);
    sink.endBatch();
    if (err !== null) this.fail(err);
  }

  onHead(status: number, statusMessage: string, headers: string[], keepAlive: boolean, upgrade: boolean): number {
    const sink = this.sink;
    if (sink === null || this.broken) {
      this.fail(protocolError('UPSTREAM_UNSOLICITED', 'upstream sent a response no request asked for'));
      return 1;
    }
    this.responded = true;
    if (status === 101 || upgrade) {
      this.fail(protocolError('UPSTREAM_UPGRADE', `upstream switched protocols (${status}) on a request that asked for no upgrade`));
      return 1;
    }
    if (status < 200) return 0; // 100 Continue, 103 Early Hints: not relayed
    const framing = responseFraming(headers);
    if (typeof framing === 'string') {
      this.fail(protocolError('UPSTREAM_BAD_FRAMING', framing));
      return 1;
    }
    this.keepAlive = keepAlive;
    return sink.onUpstreamHead(status, statusMessage, headers, framing) ? 1 : 0;
  }

  onBody(chunk: Buffer): void {
    if (!this.broken) this.sink?.onUpstreamBody(chunk);
  }

  onComplete(status: number): void {
    if (status > 0 && status < 200) return;
    const sink = this.sink;
    if (sink === null || this.broken) return;
    this.sink = null;
    if (this.keepAlive && sink.requestComplete()) {
      // The whole response is read: what the client has not taken yet is buffered on its side, so
      // backpressure no longer concerns this socket. A paused socket in the pool would stall the
      // next request.
      if (this.held) {
        this.held = false;
        this.socket.resume();
      }
      this.pool.release(this);
    } else {
      this.broken = true;
      this.socket.destroy();
    }
    sink.onUpstreamEnd();
  }

  onEnd(): void {
    // A body delimited by the connection closing ends here; a message cut short is an error.
    const err = this.parser.finish();
    if (err !== null) this.error ??= err;
    // Idle, it leaves the pool now, not at 'close' (a turn of the loop later): a request read in
    // between would be written to a socket its upstream has closed, and fail.
    if (this.sink === null) {
      this.broken = true;
      this.pool.forget(this);
    }
  }

  fail(err: NodeJS.ErrnoException): void {
    this.error ??= err;
    this.broken = true;
    this.socket.destroy();
  }

  onClose(): void {
    // Closed by the upstream with an error or a request on it: the instance most likely died
    // (killed, crashed), and its other idle connections with it. Whichever of them the next
    // request took would fail on the first write, and a request with a body is never retried.
    const lost = !this.broken && (this.error !== null || this.sink !== null);
    this.broken = true;
    this.pool.forget(this);
    if (lost) this.pool.dropIdle();
    this.parser.free();
    const sink = this.sink;
    this.sink = null;
    if (sink !== null) {
      const err = this.error ?? protocolError('ECONNRESET', 'upstream closed the connection');
      sink.onUpstreamError(err, this.responded, this.connected);
    }
  }

  onError(err: NodeJS.ErrnoException): void {
    this.error ??= err;
  }

  /** True when it can carry another request. */
  reusable(now: number): boolean {
    return !this.broken && !this.socket.destroyed && now - this.idleSince < IDLE_REUSE_MS;
  }
}

/**
 * The body framing of a response head, from its parsed headers (the parser has already refused
 * duplicate or malformed Content-Length and Content-Length beside Transfer-Encoding), or a reason
 * to refuse it: a transfer-coding other than chunked would reach the client undecoded and unmarked.
 */
function responseFraming(headers: string[]): ResponseFraming | string {
  let length = -1;
  let te: string | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length === 17 && name.toLowerCase() === 'transfer-encoding')
      te = te === undefined ? headers[i + 1]! : `${te},${headers[i + 1]!}`;
    else if (name.length === 14 && name.toLowerCase() === 'content-length') length = Number(headers[i + 1]!.trim());
  }
  if (te !== undefined) {
    if (te.trim().toLowerCase() !== 'chunked') return `upstream used transfer-coding "${te}" (only chunked is supported)`;
    return { length: -1 };
  }
  return { length };
}

function onSocketConnect(this: TaggedSocket): void {
  this[kConn].connected = true;
}
function onSocketRead(this: TaggedSocket, nread: number, buf: Uint8Array): boolean {
  this[kConn].onData((buf as Buffer).subarray(0, nread));
  return true;
}
function onSocketEnd(this: TaggedSocket): void {
  this[kConn].onEnd();
}
function onSocketError(this: TaggedSocket, err: Error): void {
  this[kConn].onError(err as NodeJS.ErrnoException);
}
function onSocketClose(this: TaggedSocket): void {
  this[kConn].onClose();
}

/** Keep-alive connections to one backend, most recently used first. */
export class UpstreamPool {
  private readonly idle: UpstreamConnection[] = [];
  private closed = false;

  constructor(
    readonly host: string,
    readonly port: number,
  ) {}

  /** An idle connection, or a new one (possibly still connecting). */
  acquire(): UpstreamConnection {
    const now = performance.now();
    while (this.idle.length > 0) {
      const c = this.idle.pop()!;
      if (c.reusable(now)) return c;
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

  /** Closes the idle connections: the next request connects anew (refused at once if the instance is gone). */
  dropIdle(): void {
    for (const c of this.idle.splice(0)) c.destroy();
  }

  /** Closes idle connections; busy ones close when their response ends. */
  close(): void {
    this.closed = true;
    this.dropIdle();
  }
}
