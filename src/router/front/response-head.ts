import { headerLine, latin1 } from '../latin1.js';

/**
 * The status line and headers of an answer to a client, written with its first body bytes as one
 * buffer (one write, no OutgoingMessage). The framing rules are node:http's
 * (lib/_http_outgoing.js `_storeHeader`), so a client sees what it saw when the router's front
 * was Node's server.
 */

/** Client-side keep-alive: long enough for clients that pool connections, bounded for idle ones. */
export const CLIENT_KEEP_ALIVE_MS = 65_000;
/** A client that does not finish its request head within this is answered 408 (node:http's default with our keep-alive). */
export const HEADERS_TIMEOUT_MS = CLIENT_KEEP_ALIVE_MS + 1000;

const KEEP_ALIVE = `Connection: keep-alive\r\nKeep-Alive: timeout=${CLIENT_KEEP_ALIVE_MS / 1000}\r\n\r\n`;
const CLOSE = 'Connection: close\r\n\r\n';

/** What node:http refuses to send in a header (checkInvalidHeaderChar), and CR and LF. */
const INVALID = /[^\t\x20-\x7e\x80-\xff]/;

/** How the body after a head is framed. */
export const enum Framing {
  /** No body may follow (HEAD, 1xx, 204, 304). */
  None,
  /** Content-Length given. */
  Length,
  /** Transfer-Encoding: chunked written by the router. */
  Chunked,
  /** Delimited by closing the connection (an HTTP/1.0 client and no length). */
  Close,
}

/** An answer's head, ready to be written into a buffer with its first body bytes (encodeHead). */
export interface ResponseHead {
  statusLine: string;
  /** Flat `[name, value, ...]`. */
  headers: readonly string[];
  /** Date (unless given), Transfer-Encoding (when chunked), Connection, and the blank line. */
  tail: string;
  /** The head's length in bytes (latin1: one byte a character). */
  bytes: number;
  framing: Framing;
  /** The connection ends after this answer. */
  last: boolean;
}

let cachedDate: string | undefined;
/** The tails (ResponseHead.tail) made with cachedDate, by key (see tail); cleared with it. */
let cachedTails: (string | undefined)[] = [];
function resetDate(): void {
  cachedDate = undefined;
  cachedTails = [];
}
/** The Date header value, computed at most once a second (as node:http does). */
function utcDate(): string {
  if (cachedDate === undefined) {
    const d = new Date();
    cachedDate = d.toUTCString();
    setTimeout(resetDate, 1000 - d.getMilliseconds()).unref();
  }
  return cachedDate;
}

/** The end of a head: one of eight strings, built once a second rather than once an answer. */
function tail(date: boolean, chunked: boolean, last: boolean): string {
  const key = (date ? 1 : 0) | (chunked ? 2 : 0) | (last ? 4 : 0);
  let t = cachedTails[key];
  if (t === undefined) {
    const day = utcDate(); // first: it may clear the cache of the previous second
    t = (date ? `Date: ${day}\r\n` : '') + (chunked ? 'Transfer-Encoding: chunked\r\n' : '') + (last ? CLOSE : KEEP_ALIVE);
    cachedTails[key] = t;
  }
  return t;
}

/** Status lines by status code, for the usual reason phrase of each (whatever the upstream sent first). */
const statusLines = new Map<number, { message: string; line: string }>();
function statusLine(status: number, message: string): string {
  const known = statusLines.get(status);
  if (known !== undefined && known.message === message) return known.line;
  const line = `HTTP/1.1 ${status} ${message}\r\n`;
  if (known === undefined && statusLines.size < 64) statusLines.set(status, { message, line });
  return line;
}

/**
 * Plans the head of an answer. `headers` is a flat `[name, value, ...]` list without hop-by-hop
 * or framing headers except an optional Content-Length (headers.ts guarantees both). Throws an
 * error with code ERR_INVALID_CHAR for a head node:http would refuse to send (or a CR or LF in a
 * name, value or reason phrase, which would end the line early).
 *
 * Nothing is concatenated here: the pieces are copied into the buffer that also carries the first
 * body bytes (encodeHead), so an answer costs no string building and no flattening, and one write.
 */
export function responseHead(
  status: number,
  message: string,
  headers: readonly string[],
  opts: { head: boolean; http11: boolean; keepAlive: boolean },
): ResponseHead {
  if (INVALID.test(message)) throw invalidChar();
  const line = statusLine(status, message);
  let bytes = line.length;
  let length = false;
  let date = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (INVALID.test(name) || INVALID.test(value)) throw invalidChar();
    if (name.length === 14 && !length && name.toLowerCase() === 'content-length') length = true;
    else if (name.length === 4 && !date && name.toLowerCase() === 'date') date = true;
    bytes += name.length + value.length + 4;
  }
  let framing: Framing;
  let last = !opts.keepAlive;
  if (opts.head || status === 204 || status === 304 || (status >= 100 && status < 200)) framing = Framing.None;
  else if (length) framing = Framing.Length;
  else if (opts.http11) framing = Framing.Chunked;
  else {
    framing = Framing.Close;
    last = true;
  }
  // node:http keeps an HTTP/1.0 connection alive only when the answer has a length.
  if (!opts.http11 && !length) last = true;
  const end = tail(!date, framing === Framing.Chunked, last);
  return { statusLine: line, headers, tail: end, bytes: bytes + end.length, framing, last };
}

/** Writes `head` into `buf` at `at`; returns the offset after it. `buf` has `head.bytes` free there. */
export function encodeHead(head: ResponseHead, buf: Buffer, at: number): number {
  at = latin1(buf, at, head.statusLine);
  const h = head.headers;
  for (let i = 0; i < h.length; i += 2) at = headerLine(buf, at, h[i]!, h[i + 1]!);
  return latin1(buf, at, head.tail);
}

function invalidChar(): Error {
  return Object.assign(new Error('invalid character in the response head'), { code: 'ERR_INVALID_CHAR' });
}

/** node:http's answers to a request it could not parse, after which the connection closes. */
export function parseErrorAnswer(code: string | undefined): string {
  if (code === 'HPE_HEADER_OVERFLOW') return 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n';
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return 'HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n';
  return 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n';
}

export const REQUEST_TIMEOUT_ANSWER = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n';
export const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
