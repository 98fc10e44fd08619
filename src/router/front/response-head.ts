/**
 * The status line and headers of an answer to a client, as one latin1 string (one write, no
 * OutgoingMessage). The framing rules are node:http's (lib/_http_outgoing.js `_storeHeader`), so a
 * client sees what it saw when the router's front was Node's server.
 */

/** Client-side keep-alive: long enough for clients that pool connections, bounded for idle ones. */
export const CLIENT_KEEP_ALIVE_MS = 65_000;
/** A client that does not finish its request head within this is answered 408 (node:http's default with our keep-alive). */
export const HEADERS_TIMEOUT_MS = CLIENT_KEEP_ALIVE_MS + 1000;

const KEEP_ALIVE = `Connection: keep-alive\r\nKeep-Alive: timeout=${CLIENT_KEEP_ALIVE_MS / 1000}\r\n\r\n`;
const CLOSE = 'Connection: close\r\n\r\n';

/** What node:http refuses to send in a header (checkInvalidHeaderChar), CR and LF aside: we add those. */
const INVALID = /[^\t\r\n\x20-\x7e\x80-\xff]/;

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

export interface HeadResult {
  head: string;
  framing: Framing;
  /** The connection ends after this answer. */
  last: boolean;
}

let cachedDate: string | undefined;
function resetDate(): void {
  cachedDate = undefined;
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

/**
 * Builds the head of an answer. `headers` is a flat `[name, value, ...]` list without hop-by-hop
 * or framing headers except an optional Content-Length (headers.ts guarantees both). Throws an
 * error with code ERR_INVALID_CHAR for a head node:http would refuse to send.
 */
export function responseHead(
  status: number,
  message: string,
  headers: readonly string[],
  opts: { head: boolean; http11: boolean; keepAlive: boolean },
): HeadResult {
  let s = `HTTP/1.1 ${status} ${message}\r\n`;
  let length = false;
  let date = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length === 14 && !length && name.toLowerCase() === 'content-length') length = true;
    else if (name.length === 4 && !date && name.toLowerCase() === 'date') date = true;
    s += `${name}: ${headers[i + 1]!}\r\n`;
  }
  if (INVALID.test(s)) throw Object.assign(new Error('invalid character in the response head'), { code: 'ERR_INVALID_CHAR' });
  if (!date) s += `Date: ${utcDate()}\r\n`;
  let framing: Framing;
  let last = !opts.keepAlive;
  if (opts.head || status === 204 || status === 304 || (status >= 100 && status < 200)) framing = Framing.None;
  else if (length) framing = Framing.Length;
  else if (opts.http11) {
    framing = Framing.Chunked;
    s += 'Transfer-Encoding: chunked\r\n';
  } else {
    framing = Framing.Close;
    last = true;
  }
  // node:http keeps an HTTP/1.0 connection alive only when the answer has a length.
  if (!opts.http11 && !length) last = true;
  return { head: s + (last ? CLOSE : KEEP_ALIVE), framing, last };
}

/** node:http's answers to a request it could not parse, after which the connection closes. */
export function parseErrorAnswer(code: string | undefined): string {
  if (code === 'HPE_HEADER_OVERFLOW') return 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n';
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return 'HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n';
  return 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n';
}

export const REQUEST_TIMEOUT_ANSWER = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n';
export const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
