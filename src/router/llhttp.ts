import * as httpCommon from '_http_common';
import { SlipwayError } from '../core/errors.js';

/**
 * The one place that touches Node's internal llhttp binding (`HTTPParser` from `_http_common`),
 * which node:http itself parses with. The router drives it directly in response mode on pooled
 * upstream sockets (a fifth less CPU per request than undici's `Pool.dispatch`) and in request mode
 * on client connections (the lean front end, ADR 0025: a quarter less than node:http's server;
 * docs/router.md). It is not
 * a public API, so `checkParsers()` proves at start-up that it still behaves as this module
 * expects, and the router refuses to start with a clear message when it does not.
 */

type RawParser = httpCommon.HTTPParser & { [key: number]: unknown };

/** What a response parser reports; one object per connection, every message starts from empty state. */
export interface ResponseEvents {
  /**
   * The head of a message. Returns 1 to tell the parser the message has no body (the answer to a
   * HEAD request), else 0. `upgrade` is llhttp's view: a 101 or a CONNECT answer.
   */
  onHead(status: number, statusMessage: string, headers: string[], keepAlive: boolean, upgrade: boolean): number;
  onBody(chunk: Buffer): void;
  onComplete(status: number): void;
}

/** A strict (no leniency flags) HTTP/1.1 response parser for one upstream connection. */
export class ResponseParser {
  private readonly parser: RawParser;
  /** Header lines of the current message delivered in pieces (long heads, heads across reads). */
  private pending: string[] = [];
  private status = 0;
  private inBody = false;

  constructor(private readonly events: ResponseEvents) {
    const p = new httpCommon.HTTPParser() as RawParser;
    p.initialize(httpCommon.HTTPParser.RESPONSE, {}, 0, httpCommon.HTTPParser.kLenientNone);
    // Each message starts from empty state: trailers of one response (delivered through kOnHeaders
    // after its body) must never become header lines of the next.
    p[httpCommon.HTTPParser.kOnMessageBegin] = () => {
      this.pending = [];
      this.status = 0;
      this.inBody = false;
    };
    p[httpCommon.HTTPParser.kOnHeaders] = (headers: string[]) => {
      // Trailers (after the body) are dropped, as nginx drops them: they are not forwarded.
      if (!this.inBody) for (const h of headers) this.pending.push(h);
    };
    // Signature fixed by node's binding (lib/_http_common.js parserOnHeadersComplete).
    p[httpCommon.HTTPParser.kOnHeadersComplete] = (
      _major: number,
      _minor: number,
      headers: string[] | undefined,
      _method: unknown,
      _url: unknown,
      status: number,
      statusMessage: string,
      upgrade: boolean,
      keepAlive: boolean,
    ): number => {
      const all = headers ?? this.pending;
      this.pending = [];
      this.status = status;
      this.inBody = true;
      return this.events.onHead(status, statusMessage, all, keepAlive, upgrade);
    };
    p[httpCommon.HTTPParser.kOnBody] = (chunk: Buffer) => this.events.onBody(chunk);
    p[httpCommon.HTTPParser.kOnMessageComplete] = () => {
      const status = this.status;
      this.pending = [];
      this.inBody = false;
      this.events.onComplete(status);
    };
    this.parser = p;
  }

  /** Parses bytes read from the socket; an Error (with `code` HPE_*) for a malformed response. */
  execute(data: Buffer): Error | null {
    const r = this.parser.execute(data);
    return typeof r === 'number' ? null : withCode(r);
  }

  /** The connection ended: completes a body delimited by the close, or reports a truncated one. */
  finish(): Error | null {
    const r = this.parser.finish();
    return r instanceof Error ? withCode(r) : null;
  }

  free(): void {
    this.parser.remove?.();
    this.parser.free();
  }
}

/** What a request parser reports (the router's client side); every message starts from empty state. */
export interface RequestEvents {
  /** First byte of a message. */
  onMessageBegin(): void;
  /**
   * The head of a request. Returns 0 to read a body as framed, or 2 to stop parsing after the head
   * (a protocol upgrade: what follows belongs to the new protocol). `upgrade` is llhttp's view: an
   * Upgrade header listed in Connection, or CONNECT.
   */
  onRequestHead(method: string, url: string, headers: string[], major: number, minor: number, keepAlive: boolean, upgrade: boolean): number;
  onRequestBody(chunk: Buffer): void;
  onRequestComplete(): void;
}

/**
 * A strict (no leniency flags) HTTP/1.1 request parser for one client connection, as node:http's
 * server sets it up, without IncomingMessage. Trailers are dropped (never forwarded).
 */
export class RequestParser {
  private readonly parser: RawParser;
  private pending: string[] = [];
  private url = '';
  private inBody = false;

  constructor(
    private readonly events: RequestEvents,
    /** Largest request head in bytes; 0 for Node's default (--max-http-header-size, 16 KiB). */
    maxHeaderSize = 0,
  ) {
    const H = httpCommon.HTTPParser;
    const p = new H() as RawParser;
    p.initialize(H.REQUEST, {}, maxHeaderSize, H.kLenientNone);
    p[H.kOnMessageBegin] = () => {
      this.pending = [];
      this.url = '';
      this.inBody = false;
      this.events.onMessageBegin();
    };
    // A long head arrives in pieces: header lines and the pieces of the request target.
    p[H.kOnHeaders] = (headers: string[], url: string) => {
      if (this.inBody) return;
      for (const h of headers) this.pending.push(h);
      if (url) this.url += url;
    };
    // Signature fixed by node's binding (lib/_http_common.js parserOnHeadersComplete).
    p[H.kOnHeadersComplete] = (
      major: number,
      minor: number,
      headers: string[] | undefined,
      method: number,
      url: string | undefined,
      _status: unknown,
      _statusMessage: unknown,
      upgrade: boolean,
      keepAlive: boolean,
    ): number => {
      const all = headers ?? this.pending;
      const target = url || this.url;
      this.pending = [];
      this.url = '';
      this.inBody = true;
      return this.events.onRequestHead(httpCommon.methods[method] ?? 'GET', target, all, major, minor, keepAlive, upgrade);
    };
    p[H.kOnBody] = (chunk: Buffer) => this.events.onRequestBody(chunk);
    p[H.kOnMessageComplete] = () => {
      this.pending = [];
      this.inBody = false;
      this.events.onRequestComplete();
    };
    this.parser = p;
  }

  /**
   * Parses bytes read from the client: the number of bytes consumed (fewer than given after an
   * upgrade's head), or an Error with `code` HPE_* for a malformed request.
   */
  execute(data: Buffer): number | Error {
    const r = this.parser.execute(data);
    return typeof r === 'number' ? r : withCode(r);
  }

  free(): void {
    this.parser.remove?.();
    this.parser.free();
  }
}

function withCode(err: Error): Error {
  const e = err as NodeJS.ErrnoException;
  e.code ??= 'HPE_INVALID';
  return e;
}

let checked = false;

/**
 * Parses a scripted exchange (a chunked response with a trailer, then a response whose head
 * arrives in two reads, then a malformed one) and throws ROUTER_NODE_UNSUPPORTED unless every
 * callback fired as this module expects. Cheap; runs once per process.
 */
export function checkParsers(): void {
  if (checked) return;
  const problem = selfCheck() ?? requestSelfCheck();
  if (problem !== null) {
    throw SlipwayError.of(
      'ROUTER_NODE_UNSUPPORTED',
      `the router cannot run on Node.js ${process.version}: its internal HTTP parser (_http_common.HTTPParser) does not behave as expected: ${problem}`,
      {
        hint: 'Run Slipway on Node.js 20, 22 or 24, and report this Node.js version as unsupported.',
      },
    );
  }
  checked = true;
}

function selfCheck(): string | null {
  const H = httpCommon.HTTPParser as unknown as Record<string, unknown> | undefined;
  if (typeof H !== 'function') return 'HTTPParser is missing';
  for (const k of ['RESPONSE', 'kOnMessageBegin', 'kOnHeaders', 'kOnHeadersComplete', 'kOnBody', 'kOnMessageComplete', 'kLenientNone']) {
    if (typeof H[k] !== 'number') return `HTTPParser.${k} is missing`;
  }
  const seen: string[] = [];
  const bodies: Buffer[] = [];
  const parser = new ResponseParser({
    onHead: (status, _m, headers, keepAlive) => {
      seen.push(`head ${status} ${headers.join('=')} ${keepAlive}`);
      return 0;
    },
    onBody: (chunk) => {
      seen.push(`body ${chunk.toString('latin1')}`);
      bodies.push(chunk);
    },
    onComplete: (status) => {
      seen.push(`complete ${status}`);
    },
  });
  try {
    const steps = [
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Trailer: t\r\n\r\n',
      'HTTP/1.1 204 No Content\r\nX-A: ',
      'a\r\n\r\n',
    ];
    for (const s of steps) {
      const err = parser.execute(Buffer.from(s, 'latin1'));
      if (err !== null) return `a valid response was rejected (${err.message})`;
    }
    const want = 'head 200 Transfer-Encoding=chunked true|body ok|complete 200|head 204 X-A=a true|complete 204';
    if (seen.join('|') !== want) return `parsed "${seen.join('|')}", expected "${want}"`;
    // Upstream sockets read into one shared buffer: body chunks must be copies, not views of it.
    const input = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello', 'latin1');
    bodies.length = 0;
    const err = parser.execute(input);
    input.fill(0);
    if (err !== null || bodies.length !== 1 || bodies[0]!.toString('latin1') !== 'hello')
      return 'a body chunk shares memory with the bytes parsed (the router reads every upstream socket into one buffer)';
    const bad = parser.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 'latin1'));
    if (bad === null) return 'a response with two Content-Length headers was accepted';
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    parser.free();
  }
}

/**
 * The request side (the router's client-facing parser): two pipelined requests with a body split
 * across reads, a body that must be a copy, an upgrade whose parsing stops after the head, a
 * duplicate Content-Length and an oversized head refused with the codes the router maps to 400 and
 * 431.
 */
function requestSelfCheck(): string | null {
  const H = httpCommon.HTTPParser as unknown as Record<string, unknown>;
  if (!Array.isArray(httpCommon.methods) || httpCommon.methods.indexOf('GET') < 0) return '_http_common.methods is missing';
  if (typeof H.REQUEST !== 'number') return 'HTTPParser.REQUEST is missing';
  const seen: string[] = [];
  const bodies: Buffer[] = [];
  let upgradeReturn = 0;
  const events: RequestEvents = {
    onMessageBegin: () => seen.push('begin'),
    onRequestHead: (method, url, headers, major, minor, keepAlive, upgrade) => {
      seen.push(`head ${method} ${url} ${headers.join('=')} ${major}.${minor} ${keepAlive} ${upgrade}`);
      return upgrade ? upgradeReturn : 0;
    },
    onRequestBody: (chunk) => {
      seen.push(`body ${chunk.toString('latin1')}`);
      bodies.push(chunk);
    },
    onRequestComplete: () => seen.push('complete'),
  };
  const parsers: RequestParser[] = [];
  const make = (max = 0) => {
    const p = new RequestParser(events, max);
    parsers.push(p);
    return p;
  };
  try {
    const p = make();
    const input = Buffer.from('POST /a?q HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhel', 'latin1');
    let r = p.execute(input);
    if (r !== input.length) return `a valid request was not parsed whole (${String(r)})`;
    input.fill(0);
    r = p.execute(Buffer.from('loGET /b HTTP/1.0\r\n\r\n', 'latin1'));
    if (typeof r !== 'number') return `a valid request was rejected (${r.message})`;
    const want =
      'begin|head POST /a?q Host=x=Content-Length=5 1.1 true false|body hel|body lo|complete|begin|head GET /b  1.0 false false|complete';
    if (seen.join('|') !== want) return `parsed "${seen.join('|')}", expected "${want}"`;
    if (bodies[0]!.toString('latin1') !== 'hel') return 'a request body chunk shares memory with the bytes parsed';
    seen.length = 0;
    upgradeReturn = 2;
    const up = Buffer.from('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nXYZ', 'latin1');
    r = make().execute(up);
    if (r !== up.length - 3) return `an upgrade's head was not where parsing stopped (${String(r)} of ${up.length} bytes)`;
    const dup = make().execute(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 'latin1'));
    if (typeof dup === 'number') return 'a request with two Content-Length headers was accepted';
    const big = make(64).execute(Buffer.from(`GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(100)}\r\n\r\n`, 'latin1'));
    if (typeof big === 'number' || (big as NodeJS.ErrnoException).code !== 'HPE_HEADER_OVERFLOW')
      return `an oversized request head was not refused as HPE_HEADER_OVERFLOW (${typeof big === 'number' ? 'accepted' : String((big as NodeJS.ErrnoException).code)})`;
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    for (const p of parsers) p.free();
  }
}
