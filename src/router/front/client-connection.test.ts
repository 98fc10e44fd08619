/**
 * The lean front end on its own, on real loopback sockets: the timeouts (driven through the
 * once-a-second sweep with a clock moved forward, so no test waits a minute), pipelining in
 * order, Expect, closing listeners and the WebSocket hand-over. Proxying through it is covered by
 * test/router/ (conformance, fuzz, streaming, drain, WebSocket).
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { after, before, test } from 'node:test';
import { waitFor } from '../../core/wait-for.js';
import type { ClientConnection } from './client-connection.js';
import { FrontListener, type FrontHandler } from './front-listener.js';
import type { FrontRequest } from './front-request.js';
import { CLIENT_KEEP_ALIVE_MS, HEADERS_TIMEOUT_MS } from './response-head.js';

interface Seen {
  conn: ClientConnection;
  req: FrontRequest;
}

/** Answers `METHOD URL` at once, or holds requests whose path starts with /hold. */
class Handler implements FrontHandler {
  seen: Seen[] = [];
  held: Seen[] = [];
  upgrades: Array<{ req: FrontRequest; head: Buffer; socket: Socket }> = [];
  onRequest(conn: ClientConnection, req: FrontRequest): void {
    const s = { conn, req };
    this.seen.push(s);
    if (req.url.startsWith('/hold')) this.held.push(s);
    else answer(s);
  }
  onUpgrade(req: FrontRequest, socket: Socket, head: Buffer): void {
    this.upgrades.push({ req, head, socket });
  }
}

function answer({ conn, req }: Seen): void {
  const body = `${req.method} ${req.url}`;
  conn.writeHead(200, 'OK', ['Content-Length', String(body.length)]);
  conn.end(body);
}

let handler: Handler;
let listener: FrontListener;
let port = 0;
const sockets: Socket[] = [];

before(async () => {
  handler = new Handler();
  listener = new FrontListener(handler, false);
  await new Promise<void>((resolve) => listener.server.listen(0, '127.0.0.1', resolve));
  port = listener.port;
});

after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => listener.close(resolve));
});

/** A raw client that collects everything it receives. */
async function client(): Promise<{ socket: Socket; text: () => string; closed: () => boolean }> {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  let got = '';
  let closed = false;
  socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
  socket.on('error', () => {});
  socket.on('close', () => (closed = true));
  await new Promise((r) => socket.once('connect', r));
  return { socket, text: () => got, closed: () => closed };
}

function reset(): void {
  handler.seen = [];
  handler.held = [];
  handler.upgrades = [];
}

test('a client that does not finish its request head is answered 408 at the headers timeout', async () => {
  reset();
  const c = await client();
  c.socket.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitFor('the first answer', () => c.text().includes('GET /first'));
  const conn = handler.seen[0]!.conn;
  c.socket.write('GET /slow HTTP/1.1\r\nHost: x\r\nX-Slow: '); // and nothing more
  await waitFor('the head to begin', () => conn.inHead);
  const t = performance.now();
  listener.sweep(t); // stamps when the head began
  listener.sweep(t + HEADERS_TIMEOUT_MS - 1000);
  assert.equal(c.closed(), false, 'still within the headers timeout');
  listener.sweep(t + HEADERS_TIMEOUT_MS + 1);
  await waitFor('the connection to close', () => c.closed());
  assert.match(c.text(), /HTTP\/1\.1 408 Request Timeout\r\nConnection: close/);
  assert.equal(handler.seen.length, 1, 'the slow request reached no handler');
});

test('an idle keep-alive connection is closed after the keep-alive timeout, not before', async () => {
  reset();
  const c = await client();
  c.socket.write('GET /ka HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitFor('the answer', () => c.text().includes('GET /ka'));
  assert.match(c.text(), /Connection: keep-alive\r\nKeep-Alive: timeout=65\r\n/);
  const t = performance.now();
  listener.sweep(t);
  listener.sweep(t + CLIENT_KEEP_ALIVE_MS - 1000);
  c.socket.write('GET /again HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitFor('the second answer on the same connection', () => c.text().includes('GET /again'));
  const t2 = performance.now();
  listener.sweep(t2);
  listener.sweep(t2 + CLIENT_KEEP_ALIVE_MS + 1);
  await waitFor('the idle connection to close', () => c.closed());
});

test('pipelined requests are handed over one at a time and answered in order', async () => {
  reset();
  const c = await client();
  c.socket.write(
    'GET /hold-1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /three HTTP/1.1\r\nHost: x\r\n\r\n',
  );
  await waitFor('the first request', () => handler.held.length === 1);
  assert.equal(handler.seen.length, 1, 'the second request waits for the first answer');
  answer(handler.held[0]!);
  await waitFor('three answers', () => (c.text().match(/HTTP\/1\.1 200/g) ?? []).length === 3);
  const order = [...c.text().matchAll(/(GET|POST) \/[a-z0-9-]+/g)].map((m) => m[0]);
  assert.deepEqual(order, ['GET /hold-1', 'POST /two', 'GET /three']);
});

test('Expect: 100-continue gets a 100 before the request is handled; other expectations a 417', async () => {
  reset();
  const c = await client();
  c.socket.write('POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n');
  await waitFor('the 100', () => c.text().startsWith('HTTP/1.1 100 Continue\r\n\r\n'));
  c.socket.write('hi');
  await waitFor('the answer', () => c.text().includes('POST /e'));
  const d = await client();
  d.socket.write('GET /x HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n');
  await waitFor('the 417', () => d.text().startsWith('HTTP/1.1 417 Expectation Failed\r\n'));
  assert.equal(handler.seen.filter((s) => s.req.url === '/x').length, 0, 'an unmet expectation reaches no handler');
});

test('HTTP/1.0: an answer without a length is delimited by the close; chunked toward HTTP/1.1', async () => {
  reset();
  const unframed = (s: Seen) => {
    s.conn.writeHead(200, 'OK', []);
    s.conn.write(Buffer.from('abc'));
    s.conn.end();
  };
  const old = await client();
  old.socket.write('GET /hold-old HTTP/1.0\r\n\r\n');
  await waitFor('the request', () => handler.held.length === 1);
  unframed(handler.held[0]!);
  await waitFor('the close', () => old.closed());
  assert.match(old.text(), /^HTTP\/1\.1 200 OK\r\n(?![\s\S]*Transfer-Encoding)[\s\S]*Connection: close\r\n\r\nabc$/);
  const c = await client();
  c.socket.write('GET /hold-new HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitFor('the request', () => handler.held.length === 2);
  unframed(handler.held[1]!);
  await waitFor('the last chunk', () => c.text().endsWith('3\r\nabc\r\n0\r\n\r\n'));
  assert.match(c.text(), /Transfer-Encoding: chunked\r\n/);
  assert.equal(c.closed(), false);
});

test('an answer written in batches (one upstream read each) arrives whole and in order, whatever its size', async () => {
  reset();
  const c = await client();
  const big = Buffer.alloc(40 * 1024, 'b'); // past the size a head and body are copied together
  const cases: Array<{ url: string; drive: (conn: ClientConnection) => void; expect: string }> = [
    {
      // head, body and end in one read: one buffer, with the last chunk appended to it
      url: '/hold-1',
      drive: (conn) => {
        conn.cork();
        conn.writeHead(200, 'OK', ['X-A', '1']);
        conn.write(Buffer.from('hello'));
        conn.end();
        conn.uncork();
      },
      expect: '5\r\nhello\r\n0\r\n\r\n',
    },
    {
      // two writes in one read, then the end in the next read
      url: '/hold-2',
      drive: (conn) => {
        conn.cork();
        conn.writeHead(200, 'OK', ['Content-Length', '6']);
        conn.write(Buffer.from('abc'));
        conn.write(Buffer.from('de'));
        conn.uncork();
        conn.cork();
        conn.write(Buffer.from('f'));
        conn.end();
        conn.uncork();
      },
      expect: 'Content-Length: 6\r\n',
    },
    {
      // a first read larger than a copy is worth: the head leaves beside it
      url: '/hold-3',
      drive: (conn) => {
        conn.cork();
        conn.writeHead(200, 'OK', ['Content-Length', String(big.length)]);
        conn.write(big);
        conn.end();
        conn.uncork();
      },
      expect: `Content-Length: ${big.length}\r\n`,
    },
    {
      // the head alone (a stream whose body comes later), then the body outside any batch
      url: '/hold-4',
      drive: (conn) => {
        conn.cork();
        conn.writeHead(200, 'OK', []);
        conn.flushHead();
        conn.uncork();
        conn.write(Buffer.from('later'));
        conn.end();
      },
      expect: '5\r\nlater\r\n0\r\n\r\n',
    },
  ];
  for (const [i, k] of cases.entries()) {
    c.socket.write(`GET ${k.url} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await waitFor(`request ${k.url}`, () => handler.held.length === i + 1);
    k.drive(handler.held[i]!.conn);
    const body = i === 1 ? 'abcdef' : i === 2 ? big.toString('latin1') : '';
    await waitFor(`the answer to ${k.url}`, () => c.text().endsWith(i === 0 || i === 3 ? k.expect : body));
  }
  const answers = c.text().split(/(?=HTTP\/1\.1 200 OK\r\n)/);
  assert.equal(answers.length, 4);
  assert.match(
    answers[0]!,
    /^HTTP\/1\.1 200 OK\r\nX-A: 1\r\nDate: [^\r]+\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\nKeep-Alive: timeout=65\r\n\r\n5\r\nhello\r\n0\r\n\r\n$/,
  );
  assert.match(answers[1]!, /^HTTP\/1\.1 200 OK\r\nContent-Length: 6\r\n[\s\S]*\r\n\r\nabcdef$/);
  assert.equal(answers[2]!.length, answers[2]!.indexOf('\r\n\r\n') + 4 + big.length);
  assert.ok(answers[2]!.endsWith(big.toString('latin1')));
  assert.match(answers[3]!, /\r\n\r\n5\r\nlater\r\n0\r\n\r\n$/);
  assert.equal(c.closed(), false);
});

test('a head with CR or LF in a name, value or reason phrase is refused before a byte leaves', async () => {
  reset();
  const c = await client();
  c.socket.write('GET /hold-bad HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitFor('the request', () => handler.held.length === 1);
  const { conn } = handler.held[0]!;
  for (const [message, headers] of [
    ['OK', ['X-A', 'v\r\nSet-Cookie: x=1']],
    ['OK', ['X-A\nB', 'v']],
    ['OK\r\nX-B: 1', []],
  ] as const) {
    assert.throws(() => conn.writeHead(200, message, headers), { code: 'ERR_INVALID_CHAR' });
  }
  conn.writeHead(200, 'OK', ['Content-Length', '2']);
  conn.end('ok');
  await waitFor('the answer', () => c.text().endsWith('ok'));
  assert.doesNotMatch(c.text(), /Set-Cookie|X-B/);
});

test('a malformed request is answered 400, an oversized head 431, and the connection closes', async () => {
  reset();
  const bad = await client();
  bad.socket.write('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n');
  await waitFor('the close', () => bad.closed());
  assert.match(bad.text(), /^HTTP\/1\.1 400 Bad Request\r\n/);
  const big = await client();
  big.socket.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
  await waitFor('the close', () => big.closed());
  assert.match(big.text(), /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
  assert.equal(handler.seen.length, 0);
});

test('a WebSocket handshake hands the socket over with the bytes after its head', async () => {
  reset();
  const c = await client();
  c.socket.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nFRAME');
  const up = await waitFor('the hand-over', () => handler.upgrades[0]);
  assert.equal(up.req.upgrade, 'websocket');
  assert.equal(up.head.toString(), 'FRAME');
  up.socket.write('HTTP/1.1 101 Switching Protocols\r\n\r\n');
  c.socket.write('MORE');
  const more = await new Promise<string>((resolve) => up.socket.once('data', (d: Buffer) => resolve(d.toString())));
  assert.equal(more, 'MORE', 'what the client sends next reaches the new owner, nothing is lost');
  await waitFor('the 101', () => c.text().startsWith('HTTP/1.1 101'));
  up.socket.destroy();
});

test('a closing listener ends idle connections at once and busy ones after their answer', async () => {
  reset();
  const own = new FrontListener(handler, false);
  await new Promise<void>((resolve) => own.server.listen(0, '127.0.0.1', resolve));
  const open = async () => {
    const socket = connect(own.port, '127.0.0.1');
    sockets.push(socket);
    let got = '';
    let closed = false;
    socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
    socket.on('close', () => (closed = true));
    await new Promise((r) => socket.once('connect', r));
    return { socket, text: () => got, closed: () => closed };
  };
  const idle = await open();
  idle.socket.write('GET /i HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitFor('the answer', () => idle.text().includes('GET /i'));
  const busy = await open();
  busy.socket.write('GET /hold-b HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitFor('the held request', () => handler.held.length === 1);
  let closedAll = false;
  own.close(() => (closedAll = true));
  await waitFor('the idle connection to close', () => idle.closed());
  assert.equal(busy.closed(), false, 'the busy connection is still answered');
  answer(handler.held[0]!);
  await waitFor('the busy connection to close after its answer', () => busy.closed());
  assert.match(busy.text(), /Connection: close\r\n\r\nGET \/hold-b$/);
  await waitFor('the listener to close', () => closedAll);
});
