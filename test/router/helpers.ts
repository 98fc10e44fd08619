/**
 * Shared fixtures for the router's integration tests: tiny upstream servers, a router daemon in a
 * temp directory and an HTTP client (waiting on conditions: src/core/wait-for.ts).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import {
  Agent,
  createServer,
  request,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRouter } from '../../src/router/local-router.js';
import type { Backend, Pool, ServiceRoute } from '../../src/router/types.js';

export function tempDir(prefix = 'slipway-router-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface Upstream {
  port: number;
  server: Server;
  /** Requests received so far. */
  hits: number;
  /** TCP connections accepted so far. */
  connections: number;
  /** Requests being handled right now. */
  active: number;
  backend(id: string): Backend;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1:0. The default handler answers 200 with its name. */
export async function startUpstream(name: string, handler?: RequestListener): Promise<Upstream> {
  const sockets = new Set<Socket>();
  const up: Upstream = {
    port: 0,
    server: undefined as unknown as Server,
    hits: 0,
    connections: 0,
    active: 0,
    backend: (id) => ({ id, host: '127.0.0.1', port: up.port }),
    close: () =>
      new Promise<void>((resolve) => {
        up.server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
  const server = createServer((req, res) => {
    up.hits++;
    up.active++;
    res.on('close', () => {
      up.active--;
    });
    if (handler) handler(req, res);
    else res.end(name);
  });
  server.on('connection', (s: Socket) => {
    up.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  up.server = server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  up.port = (server.address() as { port: number }).port;
  return up;
}

export interface RouterFixture {
  router: LocalRouter;
  stateDir: string;
  /** Shuts the daemon down and removes the state directory. */
  close(): Promise<void>;
}

/** A router daemon in a fresh temp directory (short grace so failing tests end quickly). */
export async function startRouter(args: string[] = ['--grace-ms', '3000']): Promise<RouterFixture> {
  const stateDir = tempDir();
  const router = new LocalRouter({ stateDir, args });
  await router.ensureRunning();
  return {
    router,
    stateDir,
    close: async () => {
      try {
        await router.shutdown();
      } finally {
        rmSync(stateDir, { recursive: true, force: true });
      }
    },
  };
}

/** A route on 127.0.0.1 with an OS-chosen port. */
export function route(service: string, pools: Pool[]): ServiceRoute {
  return { service, listen: { host: '127.0.0.1', port: 0 }, pools };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  reusedSocket: boolean;
}

/** One request to 127.0.0.1:port; resolves with the whole answer. */
export function get(
  port: number,
  path = '/',
  opts: { method?: string; headers?: Record<string, string>; body?: string; agent?: Agent | false } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent ?? false },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            reusedSocket: req.reusedSocket,
          }),
        );
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error(`request to ${path} timed out`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A handler that echoes what it received as JSON. */
export function echoHandler(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.stringify({
      method: req.method,
      url: req.url,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: Buffer.concat(chunks).toString('utf8'),
    });
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'X-Upstream': 'echo',
      'Keep-Alive': 'timeout=5',
      'X-Hop': 'secret',
      Connection: 'X-Hop',
    });
    res.end(body);
  });
}

// A minimal WebSocket (RFC 6455) for tests: text frames under 126 bytes, enough to prove the tunnel.
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Makes `server` answer WebSocket upgrades by echoing every text frame back. */
export function acceptWebSockets(server: Server): void {
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    const accept = createHash('sha1')
      .update(`${String(req.headers['sec-websocket-key'])}${WS_GUID}`)
      .digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    let buf = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 6) {
        const len = buf[1]! & 0x7f;
        if (buf.length < 6 + len) break;
        const mask = buf.subarray(2, 6);
        const payload = Buffer.from(buf.subarray(6, 6 + len).map((b, i) => b ^ mask[i % 4]!));
        buf = buf.subarray(6 + len);
        socket.write(Buffer.concat([Buffer.from([0x81, payload.length]), payload]));
      }
    });
    socket.on('error', () => socket.destroy());
  });
}

/** Opens a WebSocket through `port`; `send` resolves with the echoed text. */
export function openWebSocket(port: number): Promise<{ send(text: string): Promise<string>; headers: IncomingHttpHeaders; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path: '/ws',
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version': '13',
      },
      agent: false,
    });
    req.on('upgrade', (res: IncomingMessage, socket: Socket) => {
      let pending: ((s: string) => void) | undefined;
      let buf = Buffer.alloc(0);
      socket.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + (buf[1]! & 0x7f)) {
          const text = buf.subarray(2, 2 + (buf[1]! & 0x7f)).toString('utf8');
          buf = buf.subarray(2 + (buf[1]! & 0x7f));
          pending?.(text);
        }
      });
      resolve({
        headers: res.headers,
        send: (text) =>
          new Promise((res2) => {
            pending = res2;
            const payload = Buffer.from(text);
            const mask = Buffer.from([1, 2, 3, 4]);
            socket.write(
              Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!))]),
            );
          }),
        close: () => socket.destroy(),
      });
    });
    req.on('response', (res) => reject(new Error(`expected 101, got ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
}
