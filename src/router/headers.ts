import { headerLine, latin1 } from './latin1.js';

/**
 * Header rewriting between client and upstream, on flat raw header arrays
 * (`[name, value, name, value, ...]`) so nothing is parsed into objects on the hot path.
 *
 * Framing is never copied: the client's and the upstream's Content-Length and Transfer-Encoding
 * are dropped with the other hop-by-hop headers (RFC 9110 §7.6.1), and the proxy writes the
 * framing of the message it actually sends, derived from the parsed message. So no header (one a
 * Connection header lists, a value that mentions a framing header) can change how a body is
 * delimited on the other side.
 */

/** At most this many header fields in a request (Apache's default is 100); more is a 431. */
export const MAX_REQUEST_HEADERS = 256;

/** What the proxy learned while rewriting the request head. */
export interface UpstreamHead {
  headers: string[];
  requestId: string;
  /** The request carries a body (non-zero Content-Length or chunked). */
  hasBody: boolean;
  /** The body is chunked (sent upstream re-chunked); otherwise it has a Content-Length. */
  chunked: boolean;
}

/** A request the router refuses before it reaches any backend. */
export interface RequestRejection {
  status: 400 | 431 | 501;
  reason: string;
}

/** Request headers that describe the hop, not the message: never forwarded. */
const REQUEST_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'upgrade',
  'trailer',
  'proxy-authenticate',
  'proxy-authorization',
  'transfer-encoding',
  'content-length',
  'expect',
  'x-forwarded-proto',
  'x-forwarded-host',
]);

/** Response headers never forwarded to the client (framing is rewritten by Node's ServerResponse). */
const RESPONSE_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'content-length',
  'te',
  'upgrade',
  'trailer',
  'proxy-authenticate',
  'x-request-id',
]);

/** Headers a Connection header can never remove: they frame or address the message. */
const PROTECTED = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-request-id',
]);

/**
 * Headers to send upstream: the client's, minus hop-by-hop ones, plus the framing of the body we
 * send, X-Forwarded-For (appended to any the client sent), X-Forwarded-Proto and X-Forwarded-Host
 * (set by us: the router is the edge, so a client's claims are not trusted) and X-Request-Id (the
 * client's, or `newId()`). Or a rejection: duplicate Host (400), too many fields (431),
 * transfer-codings other than chunked (501), conflicting framing (400).
 *
 * `raw` must come from Node's strict parser, which already refused malformed or duplicate
 * Content-Length, Content-Length beside Transfer-Encoding, obs-fold and bad chunk sizes.
 */
export function upstreamRequestHeaders(
  raw: string[],
  remoteAddress: string,
  proto: string,
  newId: () => string,
): UpstreamHead | RequestRejection {
  if (raw.length > MAX_REQUEST_HEADERS * 2) return { status: 431, reason: `more than ${MAX_REQUEST_HEADERS} header fields` };
  const out: string[] = [];
  let xff: string | undefined;
  let requestId: string | undefined;
  let host: string | undefined;
  let connection: string | undefined;
  let te: string | undefined;
  let contentLength: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.length < 20 ? name.toLowerCase() : '';
    switch (lower) {
      case 'connection':
        connection = connection === undefined ? value : `${connection},${value}`;
        continue;
      case 'transfer-encoding':
        te = te === undefined ? value : `${te},${value}`;
        continue;
      case 'content-length':
        if (contentLength !== undefined) return { status: 400, reason: 'more than one Content-Length' };
        contentLength = value;
        continue;
      case 'x-forwarded-for':
        xff = xff === undefined ? value : `${xff}, ${value}`;
        continue;
      case 'x-request-id':
        if (requestId === undefined && value !== '') requestId = value;
        continue;
      case 'host':
        if (host !== undefined) return { status: 400, reason: 'more than one Host header' };
        host = value;
        break;
      default:
        if (REQUEST_HOP.has(lower)) continue;
    }
    out.push(name, value);
  }
  let chunked = false;
  let length = 0;
  if (te !== undefined) {
    if (contentLength !== undefined) return { status: 400, reason: 'both Content-Length and Transfer-Encoding' };
    if (te.trim().toLowerCase() !== 'chunked') return { status: 501, reason: `transfer-coding "${te}" is not supported (only chunked)` };
    chunked = true;
  } else if (contentLength !== undefined) {
    if (!/^\d{1,15}$/.test(contentLength)) return { status: 400, reason: 'invalid Content-Length' };
    length = Number(contentLength);
  }
  const headers = connection === undefined ? out : dropConnectionListed(out, connection);
  if (chunked) headers.push('Transfer-Encoding', 'chunked');
  else if (contentLength !== undefined) headers.push('Content-Length', String(length));
  headers.push('X-Forwarded-For', xff === undefined ? remoteAddress : `${xff}, ${remoteAddress}`, 'X-Forwarded-Proto', proto);
  if (host !== undefined) headers.push('X-Forwarded-Host', host);
  requestId ??= newId();
  headers.push('X-Request-Id', requestId);
  return { headers, requestId, hasBody: chunked || length > 0, chunked };
}

/** Type guard for the result of upstreamRequestHeaders. */
export function isRejection(h: UpstreamHead | RequestRejection): h is RequestRejection {
  return (h as RequestRejection).status !== undefined;
}

/**
 * Headers to send to the client: the upstream's minus hop-by-hop and framing ones, plus our
 * X-Request-Id and, when the upstream gave one (and the status allows a body), its Content-Length.
 * Without it Node frames the body itself (chunked for HTTP/1.1, close-delimited for HTTP/1.0).
 */
export function clientResponseHeaders(raw: string[], requestId: string, contentLength = -1, status = 200): string[] {
  const out: string[] = [];
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.length < 20 ? name.toLowerCase() : '';
    if (lower === 'connection') {
      connection = connection === undefined ? raw[i + 1]! : `${connection},${raw[i + 1]!}`;
      continue;
    }
    if (RESPONSE_HOP.has(lower)) continue;
    out.push(name, raw[i + 1]!);
  }
  const headers = connection === undefined ? out : dropConnectionListed(out, connection);
  if (contentLength >= 0 && status !== 204 && status >= 200) headers.push('Content-Length', String(contentLength));
  headers.push('X-Request-Id', requestId);
  return headers;
}

const CONNECTION_OPTIONS = new Set(['close', 'keep-alive', 'upgrade']);

/** Removes the headers a Connection header lists (beyond close/keep-alive/upgrade, and never a protected one). */
function dropConnectionListed(headers: string[], connection: string): string[] {
  // The usual values (`keep-alive` from every Node upstream, `close`) list no header: no Set, no split.
  if (connection.length <= 10 && CONNECTION_OPTIONS.has(connection.trim().toLowerCase())) return headers;
  const listed = new Set<string>();
  for (const token of connection.split(',')) {
    const t = token.trim().toLowerCase();
    if (t !== '' && !CONNECTION_OPTIONS.has(t) && !PROTECTED.has(t)) listed.add(t);
  }
  if (listed.size === 0) return headers;
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (!listed.has(headers[i]!.toLowerCase())) out.push(headers[i]!, headers[i + 1]!);
  }
  return out;
}

/**
 * The request line and headers as sent upstream (HTTP/1.1, keep-alive by default). Names and
 * values come from Node's parser or from us, so they hold no CR or LF.
 */
export function serializeRequestHead(method: string, url: string, headers: string[], hostFallback: string): Buffer {
  let bytes = method.length + url.length + 14; // ' ', ' HTTP/1.1\r\n' and the blank line
  let host = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (!host && name.length === 4 && name.toLowerCase() === 'host') host = true;
    bytes += name.length + headers[i + 1]!.length + 4;
  }
  // An HTTP/1.0 client may send no Host; HTTP/1.1 requires one.
  if (!host) bytes += hostFallback.length + 8;
  const buf = Buffer.allocUnsafe(bytes);
  let at = latin1(buf, 0, method);
  buf[at++] = 0x20;
  at = latin1(buf, at, url);
  at = latin1(buf, at, ' HTTP/1.1\r\n');
  for (let i = 0; i < headers.length; i += 2) at = headerLine(buf, at, headers[i]!, headers[i + 1]!);
  if (!host) at = headerLine(buf, at, 'Host', hostFallback);
  buf[at++] = 0x0d;
  buf[at] = 0x0a;
  return buf;
}
