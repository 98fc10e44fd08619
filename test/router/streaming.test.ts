import assert from 'node:assert/strict';
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { acceptWebSockets, openWebSocket, route, startRouter, startUpstream, type RouterFixture } from './helpers.js';
import { waitFor } from '../../src/core/wait-for.js';

describe('router streaming and upgrades', () => {
  let fx: RouterFixture;
  before(async () => {
    fx = await startRouter();
  });
  after(async () => {
    await fx.close();
  });

  test('server-sent events reach the client one by one', async () => {
    let stream: ServerResponse | undefined;
    const up = await startUpstream('sse', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      res.flushHeaders();
      stream = res;
    });
    try {
      const r = await fx.router.applyRoute(route('sse', [{ release: 1, weight: 1, backends: [up.backend('e1')] }]));
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: r.listen.port, path: '/events', agent: false }, resolve);
        req.on('error', reject);
        req.end();
      });
      // Headers arrived before any event was written.
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], 'text/event-stream');
      let received = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        received += d;
      });
      await waitFor('upstream stream open', () => stream !== undefined);
      // The next event is only written once the previous one reached the client: a buffering proxy deadlocks here.
      for (let i = 1; i <= 5; i++) {
        stream!.write(`data: event ${i}\n\n`);
        await waitFor(`event ${i} at the client`, () => received.includes(`data: event ${i}\n\n`), 3000);
      }
      stream!.end();
      await new Promise((resolve) => res.on('end', resolve));
      assert.equal(received, [1, 2, 3, 4, 5].map((i) => `data: event ${i}\n\n`).join(''));
    } finally {
      await up.close();
    }
  });

  test('a chunked request body streams to the upstream as it is sent', async () => {
    let got = '';
    const up = await startUpstream('upload', (req, res) => {
      req.setEncoding('utf8');
      req.on('data', (d: string) => {
        got += d;
      });
      req.on('end', () => res.end(`got ${got.length}`));
    });
    try {
      const r = await fx.router.applyRoute(route('upload', [{ release: 1, weight: 1, backends: [up.backend('u1')] }]));
      const reply = new Promise<string>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port: r.listen.port,
            method: 'POST',
            path: '/up',
            agent: false,
            headers: { 'Transfer-Encoding': 'chunked' },
          },
          (res) => {
            let body = '';
            res.on('data', (d: Buffer) => {
              body += d.toString();
            });
            res.on('end', () => resolve(body));
          },
        );
        req.on('error', reject);
        void (async () => {
          for (let i = 0; i < 3; i++) {
            req.write(`part${i};`);
            await waitFor(`part ${i} at the upstream`, () => got.includes(`part${i};`), 3000);
          }
          req.end();
        })().catch(reject);
      });
      assert.equal(await reply, 'got 18');
    } finally {
      await up.close();
    }
  });

  test('WebSocket upgrade is tunnelled both ways', async () => {
    const up = await startUpstream('ws');
    acceptWebSockets(up.server);
    try {
      const r = await fx.router.applyRoute(route('ws', [{ release: 5, weight: 1, backends: [up.backend('w1')] }]));
      const ws = await openWebSocket(r.listen.port);
      assert.ok(ws.headers['x-request-id'], 'handshake answer carries a request id');
      assert.equal(await ws.send('hello'), 'hello');
      assert.equal(await ws.send('through the router'), 'through the router');
      let stats = (await fx.router.stats()).services.find((s) => s.service === 'ws')!;
      assert.equal(stats.inFlightByBackend['w1'], 1, 'an open tunnel is in flight');
      assert.equal(stats.pools[0]!.byClass['1xx'], 1);
      ws.close();
      await waitFor('tunnel closed', async () => {
        stats = (await fx.router.stats()).services.find((s) => s.service === 'ws')!;
        return stats.inFlightByBackend['w1'] === 0;
      });
    } finally {
      await up.close();
    }
  });
});
