import assert from 'node:assert/strict';
import { request, type ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { readJsonIfExists } from '../../src/core/atomic-file.js';
import { readToken, type RouterInfoFile } from '../../src/router/state-files.js';
import { get, route, startRouter, startUpstream, type RouterFixture } from './helpers.js';
import { waitFor } from '../../src/core/wait-for.js';
import { join } from 'node:path';

describe('router draining and metrics', () => {
  let fx: RouterFixture;
  before(async () => {
    fx = await startRouter();
  });
  after(async () => {
    await fx.close();
  });

  test('draining lets in-flight requests finish and sends the drained backends nothing new', async () => {
    const held: ServerResponse[] = [];
    const a = await startUpstream('A', (_req, res) => {
      held.push(res);
    });
    const b = await startUpstream('B');
    try {
      const r = await fx.router.applyRoute(route('drainy', [{ release: 1, weight: 1, backends: [a.backend('a1')] }]));
      const slow = [1, 2, 3].map(() => get(r.listen.port, '/slow'));
      await waitFor('three requests in flight on A', () => held.length === 3);

      // Given A's requests in flight, when the table switches to B and A is drained...
      await fx.router.setRoute(route('drainy', [{ release: 2, weight: 1, backends: [b.backend('b1')] }]));
      let drained = false;
      const drain = fx.router.drain('drainy', ['a1'], 10_000).finally(() => {
        drained = true;
      });
      const fresh = await Promise.all(Array.from({ length: 10 }, () => get(r.listen.port, '/new')));

      // ...then new requests go to B only and the drain waits for A's three.
      assert.deepEqual(
        fresh.map((x) => x.body),
        Array(10).fill('B'),
      );
      assert.equal(a.hits, 3);
      const stats = await fx.router.stats();
      assert.equal(stats.services.find((s) => s.service === 'drainy')?.inFlightByBackend['a1'], 3);
      assert.equal(drained, false);

      for (const res of held) res.end('A-done');
      assert.deepEqual(
        (await Promise.all(slow)).map((x) => [x.status, x.body]),
        Array(3).fill([200, 'A-done']),
      );
      assert.deepEqual(await drain, { completed: 3, aborted: 0 });
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('at the drain deadline a stuck request is answered 504 and a streaming one is ended', async () => {
    const stuck = await startUpstream('stuck', (req, res) => {
      if (req.url === '/streaming') res.write('partial-'); // headers and a first chunk, then silence
    });
    try {
      const r = await fx.router.applyRoute(route('stuck', [{ release: 7, weight: 1, backends: [stuck.backend('s1')] }]));
      const noHeaders = get(r.listen.port, '/no-headers');
      const streaming = get(r.listen.port, '/streaming');
      await waitFor('both requests at the upstream', () => stuck.active === 2);
      await fx.router.setRoute(route('stuck', []));
      const started = Date.now();
      assert.deepEqual(await fx.router.drain('stuck', ['s1'], 300), { completed: 0, aborted: 2 });
      assert.ok(Date.now() - started >= 290, 'the drain waited for its deadline');
      const [a, b] = await Promise.all([noHeaders, streaming]);
      assert.equal(a.status, 504);
      assert.equal(b.status, 200);
      assert.equal(b.body, 'partial-');
      const pool = (await fx.router.stats()).services.find((s) => s.service === 'stuck')?.pools.find((p) => p.release === 7);
      assert.equal(pool?.byClass['5xx'], 1, 'the 504 counts against release 7');
      assert.equal(pool?.inFlight, 0);
    } finally {
      await stuck.close();
    }
  });

  test('the router enforces the drain deadline even when the caller disconnects', async () => {
    const stuck = await startUpstream('stuck2', () => {
      /* never answers */
    });
    try {
      const r = await fx.router.applyRoute(route('orphan', [{ release: 1, weight: 1, backends: [stuck.backend('o1')] }]));
      const pending = get(r.listen.port, '/');
      await waitFor('request at the upstream', () => stuck.active === 1);
      await fx.router.setRoute(route('orphan', []));
      const info = readJsonIfExists<RouterInfoFile>(join(fx.stateDir, 'router.json'))!;
      const body = JSON.stringify({ backendIds: ['o1'], timeoutMs: 400 });
      const caller = request({
        host: '127.0.0.1',
        port: info.adminPort,
        method: 'POST',
        path: '/v1/routes/orphan/drain',
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(body),
          Authorization: `Bearer ${readToken(fx.stateDir)}`,
        },
      });
      caller.on('error', () => {
        /* we hang up on purpose */
      });
      caller.end(body);
      await new Promise((r2) => setTimeout(r2, 50));
      caller.destroy();
      const reply = await pending;
      assert.equal(reply.status, 504);
    } finally {
      await stuck.close();
    }
  });

  test('stats count requests by release and status class, with latency and in-flight', async () => {
    const held: ServerResponse[] = [];
    const handler = (tag: string) => (req: { url?: string }, res: ServerResponse) => {
      if (req.url === '/hold') {
        held.push(res);
        return;
      }
      res.statusCode = Number(req.url?.slice(1)) || 200;
      res.end(tag);
    };
    const one = await startUpstream('one', handler('one'));
    const two = await startUpstream('two', handler('two'));
    try {
      const r = await fx.router.applyRoute(
        route('counted', [
          { release: 1, weight: 1, backends: [one.backend('c1')] },
          { release: 2, weight: 0, backends: [two.backend('c2')] },
        ]),
      );
      for (const path of ['/200', '/200', '/204', '/301', '/404', '/500']) await get(r.listen.port, path);
      await fx.router.setRoute(
        route('counted', [
          { release: 1, weight: 0, backends: [one.backend('c1')] },
          { release: 2, weight: 1, backends: [two.backend('c2')] },
        ]),
      );
      for (const path of ['/200', '/503']) await get(r.listen.port, path);
      const hold = get(r.listen.port, '/hold');
      await waitFor('held request', () => held.length === 1);

      const stats = await fx.router.stats();
      assert.match(stats.bootId, /^[0-9a-f]{16}$/);
      const svc = stats.services.find((s) => s.service === 'counted')!;
      const p1 = svc.pools.find((p) => p.release === 1)!;
      const p2 = svc.pools.find((p) => p.release === 2)!;
      assert.equal(p1.requests, 6);
      assert.deepEqual(p1.byClass, { '1xx': 0, '2xx': 3, '3xx': 1, '4xx': 1, '5xx': 1 });
      assert.equal(p1.latencyBuckets.length, 14);
      assert.equal(
        p1.latencyBuckets.reduce((x, y) => x + y, 0),
        6,
      );
      assert.ok(p1.latencySumMs > 0);
      assert.equal(p1.inFlight, 0);
      assert.equal(p2.requests, 2, 'a request in flight is not yet counted');
      assert.deepEqual(p2.byClass, { '1xx': 0, '2xx': 1, '3xx': 0, '4xx': 0, '5xx': 1 });
      assert.equal(p2.inFlight, 1);
      assert.deepEqual(svc.inFlightByBackend, { c1: 0, c2: 1 });

      held[0]!.end('done');
      await hold;
      await waitFor(
        'held request counted',
        async () =>
          (await fx.router.stats()).services.find((s) => s.service === 'counted')!.pools.find((p) => p.release === 2)!.requests === 3,
      );
    } finally {
      await one.close();
      await two.close();
    }
  });

  test('a backend that resets the connection after the request was sent gives 502 against its release, once', async () => {
    const reset = await startUpstream('reset', (req) => {
      req.socket.destroy();
    });
    try {
      const r = await fx.router.applyRoute(
        route('resetty', [{ release: 4, weight: 1, backends: [reset.backend('x1'), reset.backend('x2')] }]),
      );
      const reply = await get(r.listen.port, '/', { method: 'POST', body: 'not idempotent' });
      assert.equal(reply.status, 502);
      assert.match(reply.body, /bad gateway: resetty/);
      assert.equal(reset.hits, 1, 'a POST that reached a backend is not retried');
      const pool = (await fx.router.stats()).services.find((s) => s.service === 'resetty')!.pools[0]!;
      assert.equal(pool.byClass['5xx'], 1);
    } finally {
      await reset.close();
    }
  });
});
