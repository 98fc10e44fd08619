/**
 * Header rewriting between client and upstream, on flat raw header arrays
 * (`[name, value, name, value, ...]`) so nothing is parsed into objects on the hot path.
 *
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection and are dropped, as is every header
 * the Connection header names. Node re-frames bodies itself (chunked or Content-Length), and the
 * upstream pool and the server manage `Connection`/`Keep-Alive` on each side.
 */

/** What the proxy learned while rewriting the request head. */
export interface UpstreamHead {
  headers: string[];
  requestId: string;
  /** The request carries a body (non-zero Content-Length or Transfer-Encoding). */
  hasBody: boolean;
}

/**
 * Headers to send upstream: the client's, minus hop-by-hop ones, plus X-Forwarded-For (appended to
 * any the client sent), X-Forwarded-Proto and X-Forwarded-Host (set by us: the router is the edge,
 * so a client's claims are not trusted) and X-Request-Id (the client's, or `newId()`).
 */
export function upstreamRequestHeaders(raw: string[], remoteAddress: string, proto: string, newId: () => string): UpstreamHead {
  const out: string[] = [];
  let xff: string | undefined;
  let requestId: string | undefined;
  let host: string | undefined;
  let connection: string | undefined;
  let hasBody = false;
  let chunked = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    switch (name.length < 20 ? name.toLowerCase() : '') {
      case 'connection':
        connection = connection === undefined ? value : `${connection},${value}`;
        continue;
      case 'keep-alive': case 'proxy-connection': case 'te': case 'upgrade': case 'trailer':
      case 'proxy-authenticate': case 'proxy-authorization': case 'x-forwarded-proto': case 'x-forwarded-host':
        continue;
      case 'transfer-encoding':
        hasBody = true;
        chunked = true;
        continue;
      case 'content-length':
        if (value !== '0') hasBody = true;
        break;
      case 'x-forwarded-for':
        xff = xff === undefined ? value : `${xff}, ${value}`;
        continue;
      case 'x-request-id':
        if (requestId === undefined && value !== '') requestId = value;
        continue;
      case 'host':
        host = value;
        break;
    }
    out.push(name, value);
  }
  let headers = out;
  if (connection !== undefined) headers = dropConnectionListed(out, connection);
  // Node's client re-chunks the body only if told to; without this a DELETE with a body would
  // be sent unframed.
  if (chunked) headers.push('Transfer-Encoding', 'chunked');
  headers.push('X-Forwarded-For', xff === undefined ? remoteAddress : `${xff}, ${remoteAddress}`, 'X-Forwarded-Proto', proto);
  if (host !== undefined) headers.push('X-Forwarded-Host', host);
  requestId ??= newId();
  headers.push('X-Request-Id', requestId);
  return { headers, requestId, hasBody };
}

/** Headers to send to the client: the upstream's minus hop-by-hop ones, plus our X-Request-Id. */
export function clientResponseHeaders(raw: string[], requestId: string): string[] {
  const out: string[] = [];
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    switch (name.length < 20 ? name.toLowerCase() : '') {
      case 'connection':
        connection = connection === undefined ? raw[i + 1]! : `${connection},${raw[i + 1]!}`;
        continue;
      case 'keep-alive': case 'proxy-connection': case 'transfer-encoding': case 'te': case 'upgrade':
      case 'trailer': case 'proxy-authenticate': case 'x-request-id':
        continue;
    }
    out.push(name, raw[i + 1]!);
  }
  const headers = connection === undefined ? out : dropConnectionListed(out, connection);
  headers.push('X-Request-Id', requestId);
  return headers;
}

const CONNECTION_OPTIONS = new Set(['close', 'keep-alive', 'upgrade']);

/** Removes the headers a Connection header lists (beyond the usual close/keep-alive/upgrade). */
function dropConnectionListed(headers: string[], connection: string): string[] {
  const listed = new Set<string>();
  for (const token of connection.split(',')) {
    const t = token.trim().toLowerCase();
    if (t !== '' && !CONNECTION_OPTIONS.has(t)) listed.add(t);
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
export function serializeRequestHead(method: string, url: string, headers: string[], hostFallback: string): string {
  let s = `${method} ${url} HTTP/1.1\r\n`;
  let host = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (!host && name.length === 4 && name.toLowerCase() === 'host') host = true;
    s += `${name}: ${headers[i + 1]!}\r\n`;
  }
  // An HTTP/1.0 client may send no Host; HTTP/1.1 requires one.
  if (!host) s += `Host: ${hostFallback}\r\n`;
  return `${s}\r\n`;
}
