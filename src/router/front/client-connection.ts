import type { Socket } from 'node:net';
import { latin1 } from '../latin1.js';
import { RequestParser, type RequestEvents } from '../llhttp.js';
import { FrontRequest, isWebSocket, type BodySink } from './front-request.js';
import type { FrontListener } from './front-listener.js';
import {
  CONTINUE,
  Framing,
  parseErrorAnswer,
  REQUEST_TIMEOUT_ANSWER,
  encodeHead,
  responseHead,
  type ResponseHead,
  CLIENT_KEEP_ALIVE_MS,
  HEADERS_TIMEOUT_MS,
} from './response-head.js';

/** What answers the connection's current request (Exchange): told when the answer is over or the client can take more. */
export interface ClientExchange {
  /** The answer ended (written whole, cut short, or the client went away): nothing more may be written. */
  onClientClose(): void;
  /** The client's socket drained after a write returned false. */
  onClientDrain(): void;
}

/** Why reading from the client is paused (a bit each; reading resumes when none is left). */
const PAUSE_QUEUED = 1; // a pipelined request waits for the current answer
const PAUSE_BUFFER = 2; // a body arrives before anyone reads it
const PAUSE_UPSTREAM = 4; // the upstream does not take the body as fast as it comes
/** A request body buffered before its exchange reads it (a connection still being set up upstream). */
const BODY_BUFFER_LIMIT = 64 * 1024;

/** Set when a wait starts, stamped by the next sweep: no clock read on the hot path. */
const UNSTAMPED = -1;

const CRLF = '\r\n';
const LAST_CHUNK = '0\r\n\r\n';
/**
 * A head and first body bytes up to this size leave as one buffer (copied together); a larger
 * first read is written beside its head. The socket's default high-water mark: holding this much
 * never hides a full client.
 */
const COALESCE_BYTES = 16 * 1024;
const kConn = Symbol('slipway.clientConnection');
type TaggedSocket = Socket & { [kConn]: ClientConnection };

/**
 * One client connection on a service listener: node:http's server without IncomingMessage,
 * ServerResponse or streams per request. Requests are parsed by llhttp (strict) and answered one
 * at a time, in order: a pipelined request waits (reading paused) until the answer before it ended.
 * The answer's head is built as one string and leaves with the first body bytes in one write.
 *
 * What node:http did that this keeps: 100 Continue for `Expect: 100-continue` (417 for other
 * expectations), 400/431/413 for a request llhttp refuses, chunked framing toward HTTP/1.1 clients
 * and close-delimited toward HTTP/1.0, a request body left unread by an early answer is read and
 * dropped, keep-alive and headers timeouts, and an upgrade that hands the raw socket over.
 */
export class ClientConnection implements RequestEvents {
  private readonly parser: RequestParser;
  /** The request whose message is being parsed (head seen, body not complete). */
  private parsing: FrontRequest | null = null;
  /** The request being answered. */
  private current: FrontRequest | null = null;
  /** Who answers `current`. */
  exchange: ClientExchange | null = null;
  private readonly queue: FrontRequest[] = [];
  private pauses = 0;
  /** Nothing more is parsed or answered (an error, a closing answer, an upgrade). */
  private stopped = false;
  private closed = false;
  /** A WebSocket handshake to hand over once the parser returns. */
  private upgrade: FrontRequest | null = null;
  /** Timeouts: 0 when not waiting, UNSTAMPED when waiting since the last sweep, else since when. */
  private headSince = 0;
  private idleSince = UNSTAMPED;

  // The answer to `current`.
  /** writeHead was called (node:http's headersSent). */
  headWritten = false;
  /** The head, until it leaves with the first body bytes (or by flushHead or end). */
  private pendingHead: ResponseHead | null = null;
  /**
   * Between cork and uncork (one upstream read): the head and first body bytes, held so that an
   * end in the same read leaves with them (one write, without the socket's cork and its buffering).
   */
  private batching = false;
  private held: Buffer | null = null;
  /** Bytes of `held` in use (it has room for a last chunk). */
  private heldBytes = 0;
  /** A second write came in the batch: the socket is corked until uncork, so the read still leaves in one writev. */
  private socketCorked = false;
  private framing = Framing.None;
  private last = false;
  /** The next drain goes to the exchange. */
  private wantDrain = false;
  /** End the connection after the current answer (its request cannot be followed reliably). */
  closeAfter = false;

  constructor(
    readonly socket: Socket,
    readonly listener: FrontListener,
  ) {
    (socket as TaggedSocket)[kConn] = this;
    this.parser = new RequestParser(this);
    socket.on('data', onSocketData);
    socket.on('drain', onSocketDrain);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
  }

  /** A request head has begun and is not complete yet (the headers timeout runs). */
  get inHead(): boolean {
    return this.headSince !== 0;
  }

  /** The chunked framing is in use for the current answer (it can end cleanly when cut short). */
  get chunked(): boolean {
    return this.framing === Framing.Chunked;
  }

  onData(data: Buffer): void {
    if (this.stopped) return;
    const r = this.parser.execute(data);
    if (typeof r !== 'number') {
      this.onParseError(r as NodeJS.ErrnoException);
      return;
    }
    const up = this.upgrade;
    if (up !== null) {
      this.upgrade = null;
      this.handOver(up, data.subarray(r));
    }
  }

  onMessageBegin(): void {
    this.headSince = UNSTAMPED;
    this.idleSince = 0;
  }

  onRequestHead(
    method: string,
    url: string,
    headers: string[],
    major: number,
    minor: number,
    keepAlive: boolean,
    upgrade: boolean,
  ): number {
    this.headSince = 0;
    if (this.stopped) return 2;
    const req = new FrontRequest(method, url, headers, major === 1 && minor >= 1, keepAlive);
    this.parsing = req;
    if (upgrade) {
      const ws = method !== 'CONNECT' ? isWebSocket(headers) : undefined;
      if (ws !== undefined) {
        req.upgrade = ws;
        if (this.current !== null || this.queue.length > 0) {
          // A handshake pipelined behind an unanswered request: nothing after it can be trusted.
          this.stopped = true;
          this.closeAfter = true;
        } else this.upgrade = req;
        return 2; // parsing stops after the head: what follows is the new protocol's
      }
      // Other upgrades (h2c, CONNECT) are served as plain requests, without Upgrade, as nginx does;
      // the parser stops after such a message, so the connection ends with its answer.
      req.closeAfter = true;
    }
    if (this.current === null) this.start(req);
    else {
      this.queue.push(req);
      this.pause(PAUSE_QUEUED);
    }
    return 0;
  }

  onRequestBody(chunk: Buffer): void {
    const req = this.parsing;
    if (req === null || this.stopped) return;
    if (req.sink !== null) req.sink.onRequestData(chunk);
    else if (!req.discard && req.buffer(chunk) > BODY_BUFFER_LIMIT) this.pause(PAUSE_BUFFER);
  }

  onRequestComplete(): void {
    const req = this.parsing;
    this.parsing = null;
    if (req === null) return;
    req.complete = true;
    if (req.closeAfter) this.stopped = true;
    if (req.sink !== null) req.sink.onRequestEnd();
    // Its answer ended before its body did (the rest was read and dropped): serve the next one.
    else if (req.discard && this.current === null && !this.closed) this.next();
  }

  private start(req: FrontRequest): void {
    this.current = req;
    this.headWritten = false;
    this.pendingHead = null;
    this.framing = Framing.None;
    this.last = false;
    this.wantDrain = false;
    const expect = req.http11 ? req.header('expect') : undefined;
    if (expect !== undefined) {
      if (!/(?:^|\W)100-continue(?:$|\W)/i.test(expect)) {
        this.writeHead(417, 'Expectation Failed', ['Content-Length', '0']);
        this.end();
        return;
      }
      this.socket.write(CONTINUE, 'latin1');
    }
    this.listener.onRequest(this, req);
  }

  /** The request body goes to `sink` from now on (what was buffered first). */
  readBody(sink: BodySink): void {
    const req = this.current;
    if (req === null) return;
    req.sink = sink;
    const chunks = req.takeBuffered();
    if (chunks !== null) for (const c of chunks) sink.onRequestData(c);
    if (req.complete) sink.onRequestEnd();
    this.resume(PAUSE_BUFFER);
  }

  /** The upstream is full: stop reading the client's body until resumeBody. */
  pauseBody(): void {
    this.pause(PAUSE_UPSTREAM);
  }

  resumeBody(ex: ClientExchange): void {
    if (this.exchange === ex) this.resume(PAUSE_UPSTREAM);
  }

  private pause(bit: number): void {
    if (this.pauses === 0 && !this.closed) this.socket.pause();
    this.pauses |= bit;
  }

  private resume(bit: number): void {
    if ((this.pauses & bit) === 0) return;
    this.pauses &= ~bit;
    if (this.pauses === 0 && !this.closed) this.socket.resume();
  }

  /**
   * Starts the answer to the current request; nothing is written until the first body bytes,
   * flushHead or end. Throws (code ERR_INVALID_CHAR) for a head node:http would refuse.
   */
  writeHead(status: number, message: string, headers: readonly string[]): void {
    const req = this.current!;
    const keepAlive = req.keepAlive && !req.closeAfter && !this.closeAfter && !this.listener.closing;
    const head = responseHead(status, message, headers, { head: req.method === 'HEAD', http11: req.http11, keepAlive });
    this.pendingHead = head;
    this.framing = head.framing;
    this.last = head.last;
    this.headWritten = true;
  }

  /** Writes the head if it has not left yet (a stream whose first body bytes are not here yet). */
  flushHead(): void {
    const head = this.pendingHead;
    if (head === null || this.closed) return;
    this.pendingHead = null;
    const buf = Buffer.allocUnsafe(head.bytes);
    encodeHead(head, buf, 0);
    this.send(buf);
  }

  /** Body bytes of the current answer; false when the client is full (onClientDrain follows). */
  write(chunk: Buffer): boolean {
    if (this.closed) return true;
    if (this.held !== null) {
      if (this.batching && !this.socketCorked) {
        this.socketCorked = true;
        this.socket.cork();
      }
      this.flushHeld();
    }
    const framing = this.framing;
    const chunked = framing === Framing.Chunked;
    const size = framing === Framing.None || (chunked && chunk.length === 0) ? -1 : chunk.length;
    const head = this.pendingHead;
    if (head !== null) {
      this.pendingHead = null;
      const framed = size < 0 ? 0 : chunked ? chunkedLength(size) : size;
      if (head.bytes + framed <= COALESCE_BYTES) {
        // The usual small answer: head and body in one buffer, with room for the last chunk.
        const buf = Buffer.allocUnsafe(head.bytes + framed + (chunked ? LAST_CHUNK.length : 0));
        let at = encodeHead(head, buf, 0);
        if (size >= 0) at = chunked ? putChunk(buf, at, chunk) : at + chunk.copy(buf, at);
        if (this.batching) {
          this.held = buf;
          this.heldBytes = at;
          return true;
        }
        return this.send(at === buf.length ? buf : buf.subarray(0, at));
      }
      // A large first read: the head and the body in one writev.
      const buf = Buffer.allocUnsafe(head.bytes);
      encodeHead(head, buf, 0);
      this.socket.cork();
      this.socket.write(buf);
      const ok = this.writeBody(chunk, size, chunked);
      this.socket.uncork();
      return ok;
    }
    return this.writeBody(chunk, size, chunked);
  }

  private writeBody(chunk: Buffer, size: number, chunked: boolean): boolean {
    if (size < 0) return true; // node:http drops body writes on such answers; an empty chunk would end the body
    if (!chunked) return this.send(chunk);
    const socket = this.socket;
    socket.cork();
    socket.write(size.toString(16) + CRLF, 'latin1');
    socket.write(chunk);
    const ok = socket.write(CRLF, 'latin1');
    socket.uncork();
    return this.noteFull(ok);
  }

  /** Ends the current answer (with `body`, for the router's own short answers). */
  end(body?: string): void {
    if (this.current === null) return;
    if (!this.closed) {
      const chunked = this.framing === Framing.Chunked;
      const head = this.pendingHead;
      this.pendingHead = null;
      if (head !== null) {
        const text = body !== undefined && this.framing !== Framing.None ? (chunked ? chunk(body) : body) : '';
        const textBytes = Buffer.byteLength(text);
        const buf = Buffer.allocUnsafe(head.bytes + textBytes + (chunked ? LAST_CHUNK.length : 0));
        let at = encodeHead(head, buf, 0);
        at += buf.write(text, at, textBytes, 'utf8');
        if (chunked) latin1(buf, at, LAST_CHUNK);
        this.send(buf);
      } else if (this.held !== null) {
        if (chunked) this.heldBytes = latin1(this.held, this.heldBytes, LAST_CHUNK);
        this.flushHeld();
      } else if (chunked) this.socket.write(LAST_CHUNK, 'latin1');
    }
    this.finish();
  }

  /** Holds what the answer writes until uncork (Exchange: everything one upstream read produces). */
  cork(): void {
    this.batching = true;
  }

  uncork(): void {
    this.batching = false;
    if (this.held !== null) this.flushHeld();
    if (this.socketCorked) {
      this.socketCorked = false;
      this.socket.uncork();
    }
  }

  private flushHeld(): void {
    const buf = this.held!;
    const n = this.heldBytes;
    this.held = null;
    if (!this.closed) this.send(n === buf.length ? buf : buf.subarray(0, n));
  }

  /** Writes to the client; false (and the exchange hears of the drain) when the client is full. */
  private send(buf: Buffer): boolean {
    return this.noteFull(this.socket.write(buf));
  }

  private noteFull(ok: boolean): boolean {
    if (!ok) this.wantDrain = true;
    return ok;
  }

  /** Cuts the connection (an answer that must not look complete). */
  destroy(): void {
    this.held = null;
    this.socket.destroy();
  }

  /** The current answer is over: the next request's turn, or the connection's end. */
  private finish(): void {
    const req = this.current!;
    const ex = this.exchange;
    this.current = null;
    this.exchange = null;
    this.wantDrain = false;
    const last = this.last || this.closeAfter || req.closeAfter || this.listener.closing || !req.keepAlive;
    if (last) {
      this.stopped = true;
      destroySoon(this.socket);
    } else {
      this.resume(PAUSE_UPSTREAM | PAUSE_BUFFER);
      if (req.complete) this.next();
      else req.dropBody(); // node:http reads and drops what the answer did not need
    }
    ex?.onClientClose();
  }

  private next(): void {
    const req = this.queue.shift();
    if (req === undefined) {
      this.resume(PAUSE_QUEUED);
      if (this.parsing === null) this.idleSince = UNSTAMPED;
      return;
    }
    if (this.queue.length === 0) this.resume(PAUSE_QUEUED);
    this.start(req);
  }

  private onParseError(err: NodeJS.ErrnoException): void {
    this.stopped = true;
    const ex = this.exchange;
    const answered = this.pendingHead === null && this.headWritten;
    this.held = null; // a part of an answer: the connection is destroyed below
    this.current = null;
    this.exchange = null;
    if (answered) this.socket.destroy();
    else {
      this.socket.write(parseErrorAnswer(err.code), 'latin1');
      destroySoon(this.socket);
    }
    ex?.onClientClose();
  }

  /** A WebSocket handshake: the socket leaves this connection for the tunnel, with the bytes read past the head. */
  private handOver(req: FrontRequest, rest: Buffer): void {
    this.stopped = true;
    this.closed = true;
    this.listener.forget(this);
    const socket = this.socket;
    socket.removeListener('data', onSocketData);
    socket.removeListener('drain', onSocketDrain);
    socket.removeListener('close', onSocketClose);
    this.parser.free();
    // Not flowing until the tunnel pipes it (node:http does the same before its 'upgrade' event).
    (socket as { readableFlowing: boolean | null }).readableFlowing = null;
    this.listener.onUpgrade(req, socket, rest);
  }

  /** Closes the connection now if it is between requests (a listener closing); else after its answer. */
  closeIfIdle(): void {
    if (this.current === null && this.parsing === null && this.queue.length === 0) this.socket.destroy();
    else this.closeAfter = true;
  }

  /** Once a second: the keep-alive and headers timeouts. */
  sweep(now: number): void {
    if (this.closed) return;
    if (this.headSince === UNSTAMPED) this.headSince = now;
    else if (this.headSince > 0 && now - this.headSince > HEADERS_TIMEOUT_MS) {
      this.stopped = true;
      if (this.current === null) {
        this.socket.write(REQUEST_TIMEOUT_ANSWER, 'latin1');
        destroySoon(this.socket);
      } else this.socket.destroy();
      return;
    }
    if (this.current !== null || this.queue.length > 0 || this.parsing !== null) return;
    if (this.idleSince === UNSTAMPED) this.idleSince = now;
    else if (this.idleSince > 0 && now - this.idleSince > CLIENT_KEEP_ALIVE_MS) this.socket.destroy();
  }

  onDrain(): void {
    if (!this.wantDrain) return;
    this.wantDrain = false;
    this.exchange?.onClientDrain();
  }

  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopped = true;
    this.listener.forget(this);
    this.parser.free();
    const ex = this.exchange;
    this.current = null;
    this.exchange = null;
    this.queue.length = 0;
    ex?.onClientClose();
  }
}

/** Bytes of a chunk of `size` bytes in chunked framing: size line, data, CRLF. */
function chunkedLength(size: number): number {
  return size.toString(16).length + size + 4;
}

/** Writes `data` as one chunk into `buf` at `at`; returns the offset after it. */
function putChunk(buf: Buffer, at: number, data: Buffer): number {
  at = latin1(buf, at, data.length.toString(16));
  buf[at++] = 0x0d;
  buf[at++] = 0x0a;
  at += data.copy(buf, at);
  buf[at++] = 0x0d;
  buf[at++] = 0x0a;
  return at;
}

function chunk(body: string): string {
  return `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n`;
}

/** Ends the socket once what was written has left (net's destroySoon). */
function destroySoon(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.writable) socket.end();
  if (socket.writableFinished) socket.destroy();
  else socket.once('finish', socket.destroy);
}

function onSocketData(this: TaggedSocket, data: Buffer): void {
  this[kConn].onData(data);
}
function onSocketDrain(this: TaggedSocket): void {
  this[kConn].onDrain();
}
function onSocketError(this: TaggedSocket): void {
  /* 'close' follows: the connection's end is handled there */
}
function onSocketClose(this: TaggedSocket): void {
  this[kConn].onClose();
}
