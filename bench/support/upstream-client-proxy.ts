/**
 * The upstream-client comparison of `bench/router.ts`: one minimal proxy shell (Node's http server,
 * the router's header rewriting, no balancing or metrics) whose upstream side is either undici's
 * `Pool.dispatch` or the router's own `UpstreamPool` (llhttp on pooled sockets). Everything but the
 * upstream client is the same, so the ratio of the two is the cost of the client alone.
 *
 * Run: `node dist/bench/support/upstream-client-proxy.js undici|slipway UPSTREAM_PORT` (prints "port N").
 */
import { createServer, type ServerResponse } from 'node:http';
import { Pool } from 'undici';
import {
  clientResponseHeaders,
  isRejection,
  serializeRequestHead,
  upstreamRequestHeaders,
  type UpstreamHead,
} from '../../src/router/headers.js';
import { UpstreamPool, type ResponseFraming, type UpstreamSink } from '../../src/router/upstream-connection.js';

const [mode, upPortText] = process.argv.slice(2);
const upPort = Number(upPortText);
if ((mode !== 'undici' && mode !== 'slipway') || !Number.isInteger(upPort)) {
  console.error('usage: upstream-client-proxy.js undici|slipway UPSTREAM_PORT');
  process.exit(2);
}

let seq = 0;
const newId = () => `b-${++seq}`;

function viaUndici(): (head: UpstreamHead, method: string, url: string, res: ServerResponse) => void {
  const pool = new Pool(`http://127.0.0.1:${upPort}`, { connections: 128, keepAliveTimeout: 4000, pipelining: 1 });
  return (head, method, url, res) => {
    // undici frames the body itself and refuses framing headers among the ones it is given.
    const headers = head.headers.filter((_, i, a) => !/^(content-length|transfer-encoding)$/i.test(a[i - (i % 2)]!));
    pool.dispatch(
      { path: url, method, headers, body: null },
      {
        onConnect() {
          /* nothing to abort */
        },
        onHeaders(status: number, raw: Buffer[], _resume: () => void, statusText: string) {
          const strings = raw.map((b) => b.toString('latin1'));
          res.writeHead(status, statusText, clientResponseHeaders(strings, head.requestId) as unknown as Record<string, string>);
          return true;
        },
        onData(chunk: Buffer) {
          return res.write(chunk);
        },
        onComplete() {
          res.end();
        },
        onError() {
          if (res.headersSent) res.destroy();
          else res.writeHead(502).end();
        },
      },
    );
  };
}

function viaSlipway(): (head: UpstreamHead, method: string, url: string, res: ServerResponse) => void {
  const pool = new UpstreamPool('127.0.0.1', upPort);
  return (head, method, url, res) => {
    const sink: UpstreamSink = {
      onUpstreamHead(status: number, msg: string, raw: string[], framing: ResponseFraming) {
        res.writeHead(status, msg, clientResponseHeaders(raw, head.requestId, framing.length, status) as unknown as Record<string, string>);
        return method === 'HEAD';
      },
      onUpstreamBody(chunk: Buffer) {
        res.write(chunk);
      },
      onUpstreamEnd() {
        res.end();
      },
      onUpstreamError() {
        if (res.headersSent) res.destroy();
        else res.writeHead(502).end();
      },
      requestComplete: () => true,
      beginBatch() {
        /* one write per read already */
      },
      endBatch() {
        /* idem */
      },
    };
    pool.acquire().send(sink, serializeRequestHead(method, url, head.headers, `127.0.0.1:${upPort}`));
  };
}

const forward = mode === 'undici' ? viaUndici() : viaSlipway();
const server = createServer({ keepAliveTimeout: 65_000, noDelay: true }, (req, res) => {
  const head = upstreamRequestHeaders(req.rawHeaders, req.socket.remoteAddress ?? '', 'http', newId);
  if (isRejection(head) || head.hasBody) {
    res.writeHead(400).end(); // the benchmark sends GETs only
    return;
  }
  forward(head, req.method!, req.url!, res);
});
server.listen(0, '127.0.0.1', () => console.log(`port ${(server.address() as { port: number }).port}`));
