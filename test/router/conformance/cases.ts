/**
 * The differential conformance table: raw client requests and raw backend answers, each run
 * through the router and through nginx against the recording backend (conformance.test.ts).
 * `forwarded` is what the backend must receive from the client, `status` what the router answers;
 * `nginx` says where nginx 1.22 answers differently, and why that is acceptable (docs/router.md,
 * "HTTP conformance").
 */
import type { Socket } from 'node:net';
import type { RawResult, RawStep } from './raw-client.js';
import { echo, type ReceivedRequest, type Respond } from './recording-backend.js';

export interface Expected {
  method: string;
  target: string;
  body?: string;
}

export interface ConformanceCase {
  name: string;
  steps: RawStep[];
  respond?: Respond;
  /** Final responses the client waits for. @default 1 */
  responses?: number;
  /** Method per request, for responses without a body. */
  headMethods?: string[];
  /** What the backend must receive from this client, in order ([] when the router refuses). */
  forwarded: Expected[];
  /** The router's final statuses, in order; `null` where the connection must end without an answer. */
  status: Array<number | null>;
  /** Where nginx differs and why (documented); a rejection by nginx that the router does not share fails the suite. */
  nginx?: string;
  /** More checks of what the client received: a problem, or null. */
  check?: (r: RawResult) => string | null;
  readDelayMs?: number;
  deadlineMs?: number;
}

const SMUGGLED = 'GET /SMUGGLED HTTP/1.1\r\nHost: x\r\n\r\n';

function req(head: string, body = ''): RawStep[] {
  return [{ send: head + body }];
}

/** Answers the case's own requests with `raw`, and the victim's (and anything else) by echo. */
function scripted(raw: string | ((req: ReceivedRequest, socket: Socket) => string | null)): Respond {
  return (r, socket) => (r.target.startsWith('/victim') ? echo(r, socket) : typeof raw === 'string' ? raw : raw(r, socket));
}

const noAttacker = (r: RawResult): string | null =>
  r.responses.some((x) => x.raw.includes('ATTACKER')) || r.rest.includes('ATTACKER') ? 'the client received the backend trailer' : null;

export const CASES: ConformanceCase[] = [
  // The reproduced defects (issue 12).
  {
    name: 'Connection: Content-Length cannot unframe the body',
    steps: req(`POST /a HTTP/1.1\r\nHost: x\r\nConnection: Content-Length\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n`, SMUGGLED),
    forwarded: [{ method: 'POST', target: '/a', body: SMUGGLED }],
    status: [200],
  },
  {
    name: 'a header value "Transfer-Encoding" does not chunk the body',
    steps: req('POST /a HTTP/1.1\r\nHost: x\r\nX-Foo: Transfer-Encoding\r\nContent-Length: 5\r\n\r\n', 'hello'),
    forwarded: [{ method: 'POST', target: '/a', body: 'hello' }],
    status: [200],
  },
  {
    name: 'response trailers never reach the client or the next exchange',
    steps: req('GET /t HTTP/1.1\r\nHost: x\r\n\r\n'),
    respond: scripted('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nSet-Cookie: sid=ATTACKER; Path=/\r\n\r\n'),
    forwarded: [{ method: 'GET', target: '/t' }],
    status: [200],
    check: noAttacker,
    nginx: 'nginx 1.22 also drops response trailers (proxy_pass_trailers exists only from 1.27)',
  },
  {
    name: 'a large response read slowly leaves a usable pooled connection',
    steps: req('GET /big HTTP/1.1\r\nHost: x\r\n\r\n'),
    respond: scripted(() => `HTTP/1.1 200 OK\r\nContent-Length: ${4 << 20}\r\n\r\n${'x'.repeat(4 << 20)}`),
    forwarded: [{ method: 'GET', target: '/big' }],
    status: [200],
    readDelayMs: 150,
    check: (r) => (r.responses[0]?.body.length === 4 << 20 ? null : `body of ${r.responses[0]?.body.length} bytes`),
  },
  {
    name: 'a response body that stalls is cut at the body timeout',
    steps: req('GET /stall HTTP/1.1\r\nHost: x\r\n\r\n'),
    respond: scripted('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789'),
    forwarded: [{ method: 'GET', target: '/stall' }],
    status: [null],
    deadlineMs: 8000,
    check: (r) => (r.closed && r.rest.startsWith('HTTP/1.1 200') ? null : 'expected a truncated 200 and a closed connection'),
  },
  {
    name: 'a request body that stalls is answered 408',
    steps: req('POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n', 'abc'),
    forwarded: [],
    status: [408],
    deadlineMs: 8000,
    nginx: 'nginx reads the body before it opens the upstream request only with buffering; here both answer 408 from client_body_timeout',
  },
  {
    name: 'duplicate Host is refused',
    steps: req('GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'),
    forwarded: [],
    status: [400],
  },
  {
    name: 'an h2c upgrade with a body is served as a plain request, body forwarded',
    steps: req(
      'POST /up HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\nContent-Length: 5\r\n\r\n',
      'hello',
    ),
    forwarded: [{ method: 'POST', target: '/up', body: 'hello' }],
    status: [200],
  },
  {
    name: 'more header fields than the limit are refused with 431',
    steps: req(
      `GET / HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 2000 }, (_, i) => `X-${i}: v\r\n`).join('')}Content-Length: 5\r\n\r\n`,
      'hello',
    ),
    forwarded: [],
    status: [431],
    nginx: 'stricter: nginx limits only the size of the head (4 × 8 KiB buffers), not the count of fields',
  },
  {
    name: 'transfer-codings other than chunked are refused with 501',
    steps: req('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', '5\r\nhello\r\n0\r\n\r\n'),
    forwarded: [],
    status: [501],
  },
  // The classic smuggling catalogue.
  {
    name: 'CL.TE: Content-Length and Transfer-Encoding together',
    steps: req('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n', '0\r\n\r\nG'),
    forwarded: [],
    status: [400],
  },
  {
    name: 'TE.CL: Transfer-Encoding before Content-Length',
    steps: req(
      `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n`,
      `5c\r\n${SMUGGLED.padEnd(0x5c, 'x')}\r\n0\r\n\r\n`,
    ),
    forwarded: [],
    status: [400],
  },
  {
    name: 'TE.TE: space before the colon',
    steps: req('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n', '0\r\n\r\n'),
    forwarded: [],
    status: [400],
  },
  {
    name: 'TE.TE: xchunked',
    steps: req('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n', '0\r\n\r\n'),
    forwarded: [],
    status: [501],
  },
  {
    name: 'TE.TE: a second Transfer-Encoding line',
    steps: req('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-encoding: identity\r\n\r\n', '0\r\n\r\n'),
    forwarded: [],
    status: [400],
    nginx: 'nginx answers 501 for the unknown coding list; Node refuses "chunked, identity" (chunked not last) with 400',
  },
  {
    name: 'TE.TE: obs-fold',
    steps: req('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\nContent-Length: 3\r\n\r\n', 'abc'),
    forwarded: [],
    status: [400],
  },
  {
    name: 'TE.TE: tab before the value is whitespace, and CHUNKED is chunked',
    steps: req('POST /tab HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\tCHUNKED\r\n\r\n', '5\r\nhello\r\n0\r\n\r\n'),
    forwarded: [{ method: 'POST', target: '/tab', body: 'hello' }],
    status: [200],
    nginx:
      'nginx 1.22 matches "chunked" case-sensitively (501); RFC 9112 makes coding names case-insensitive, and the router re-frames the body, so the backend sees plain chunked',
  },
  {
    name: 'duplicate Content-Length (same value)',
    steps: req('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n', 'hello'),
    forwarded: [],
    status: [400],
  },
  {
    name: 'duplicate Content-Length (different values)',
    steps: req('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n', 'hello!'),
    forwarded: [],
    status: [400],
  },
  {
    name: 'Content-Length with a sign',
    steps: req('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n', 'hello'),
    forwarded: [],
    status: [400],
  },
  {
    name: 'chunk size with a 0x prefix',
    steps: req('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', '0x5\r\nhello\r\n0\r\n\r\n'),
    forwarded: [],
    status: [400],
  },
  {
    name: 'chunk size overflow',
    steps: req('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', 'fffffffffffffffff1\r\nhello\r\n0\r\n\r\n'),
    forwarded: [],
    status: [400],
  },
  {
    name: 'chunk extensions are allowed, request trailers dropped',
    steps: req('POST /ext HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', '5;name=value\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n'),
    forwarded: [{ method: 'POST', target: '/ext', body: 'hello' }],
    status: [200],
  },
  {
    name: 'a header name with a space',
    steps: req('GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n'),
    forwarded: [],
    status: [400],
  },
  {
    name: 'a control character in a header value',
    steps: req('GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n'),
    forwarded: [],
    status: [400],
    nginx: "nginx forwards some control characters in values; Node's parser refuses them (stricter)",
  },
  {
    name: 'bare LF line endings',
    steps: req('GET /lf HTTP/1.1\nHost: x\n\n'),
    forwarded: [],
    status: [400],
    nginx: "stricter: nginx accepts bare LF, Node's parser requires CRLF",
  },
  {
    name: 'pipelined requests are answered in order',
    steps: req(
      'GET /p1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /p2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /p3 HTTP/1.1\r\nHost: x\r\n\r\n',
    ),
    responses: 3,
    forwarded: [
      { method: 'GET', target: '/p1' },
      { method: 'POST', target: '/p2', body: 'abc' },
      { method: 'GET', target: '/p3' },
    ],
    status: [200, 200, 200],
    check: (r) => (r.responses.map((x) => x.body.toString().split(' ')[2]).join() === '/p1,/p2,/p3' ? null : 'answers out of order'),
  },
  {
    name: '100 Continue and 103 Early Hints from the backend are not relayed, the final answer is',
    steps: req('GET /hints HTTP/1.1\r\nHost: x\r\n\r\n'),
    respond: scripted(
      'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    ),
    forwarded: [{ method: 'GET', target: '/hints' }],
    status: [200],
  },
  {
    name: 'HEAD: the Content-Length is relayed, no body, and the connection carries on',
    steps: req('HEAD /h HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n'),
    respond: (r, s) => (r.method === 'HEAD' ? 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n' : echo(r, s)),
    responses: 2,
    headMethods: ['HEAD', 'GET'],
    forwarded: [
      { method: 'HEAD', target: '/h' },
      { method: 'GET', target: '/after' },
    ],
    status: [200, 200],
    check: (r) =>
      r.responses[0]?.headers.some(([k, v]) => k.toLowerCase() === 'content-length' && v === '100') ? null : 'HEAD lost its Content-Length',
  },
  {
    name: '204 and 304 carry no body',
    steps: req('GET /204 HTTP/1.1\r\nHost: x\r\n\r\nGET /304 HTTP/1.1\r\nHost: x\r\n\r\n'),
    respond: (r, s) =>
      r.target === '/204'
        ? 'HTTP/1.1 204 No Content\r\n\r\n'
        : r.target === '/304'
          ? 'HTTP/1.1 304 Not Modified\r\nETag: "a"\r\n\r\n'
          : echo(r, s),
    responses: 2,
    forwarded: [
      { method: 'GET', target: '/204' },
      { method: 'GET', target: '/304' },
    ],
    status: [204, 304],
    check: (r) => (r.rest === '' ? null : `bytes after the answers: ${JSON.stringify(r.rest)}`),
  },
  {
    name: 'Expect: 100-continue gets a 100 before the body is sent',
    steps: [
      { send: 'POST /expect HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n' },
      { send: 'hello', afterResponses: 1 },
    ],
    forwarded: [{ method: 'POST', target: '/expect', body: 'hello' }],
    status: [200],
  },
  {
    name: 'HTTP/1.0 without Host is forwarded with one, and the connection closes',
    steps: req('GET /old HTTP/1.0\r\n\r\n'),
    forwarded: [{ method: 'GET', target: '/old' }],
    status: [200],
    check: (r) => (r.closed ? null : 'an HTTP/1.0 connection without keep-alive stayed open'),
  },
  {
    name: 'a WebSocket handshake with a body is refused',
    steps: req(
      'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nContent-Length: 5\r\n\r\n',
      'hello',
    ),
    forwarded: [],
    status: [400],
    nginx: 'stricter: without a websocket map nginx forwards it as a plain request with its body',
  },
  // Broken backends.
  {
    name: 'a response with Content-Length and Transfer-Encoding is a 502',
    steps: req('GET /clte HTTP/1.1\r\nHost: x\r\n\r\n'),
    respond: scripted('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'),
    forwarded: [{ method: 'GET', target: '/clte' }],
    status: [502],
  },
  {
    name: 'a gzip transfer-coding from the backend is a 502',
    steps: req('GET /gz HTTP/1.1\r\nHost: x\r\n\r\n'),
    respond: scripted('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'),
    forwarded: [{ method: 'GET', target: '/gz' }],
    status: [502],
    nginx: 'nginx relays "gzip, chunked" unchanged; the router would have to re-frame what it cannot decode, so it refuses',
  },
  {
    name: 'a 101 to a request that asked for no upgrade is a 502',
    steps: req('GET /101 HTTP/1.1\r\nHost: x\r\n\r\n'),
    respond: scripted('HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\nGARBAGE'),
    forwarded: [{ method: 'GET', target: '/101' }],
    status: [502],
  },
  {
    name: 'a second, unasked-for response never reaches the next exchange',
    steps: req('GET /two HTTP/1.1\r\nHost: x\r\n\r\n'),
    respond: scripted(
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 8\r\nSet-Cookie: sid=ATTACKER\r\n\r\nATTACKER',
    ),
    forwarded: [{ method: 'GET', target: '/two' }],
    status: [200],
    check: noAttacker,
  },
];
