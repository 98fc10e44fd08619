import assert from 'node:assert/strict';
import { Agent, createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { SlipwayError } from '../../src/core/errors.js';
import { echoHandler, get, route, startRouter, startUpstream, type RouterFixture } from './helpers.js';

describe('router proxying', () => {
  let fx: RouterFixture;
  before(async () => {
    fx = await startRouter();
  });
  after(async () => {
    await fx.close();
  });

  test('keeps connections alive on both sides', async () => {
    const up = await startUpstream('up');
    const r = await fx.router.applyRoute(route('keepalive', [{ release: 1, weight: 1, backends: [up.backend('k1')] }]));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const replies = [];
      for (let i = 0; i < 20; i++) replies.push(await get(r.listen.port, `/${i}`, { agent }));
      assert.ok(replies.every((x) => x.status === 200 && x.body === 'up'));
      assert.ok(
        replies.slice(1).every((x) => x.reusedSocket),
        'client connection to the router is reused',
      );
      assert.equal(up.hits, 20);
      assert.equal(up.connections, 1, 'router reuses its connection to the upstream');
    } finally {
      agent.destroy();
      await up.close();
    }
  });

  test('sets X-Forwarded-*, X-Request-Id and drops hop-by-hop headers both ways', async () => {
    const up = await startUpstream('echo', echoHandler);
    try {
      const r = await fx.router.applyRoute(route('headers', [{ release: 1, weight: 1, backends: [up.backend('h1')] }]));
      const reply = await get(r.listen.port, '/a/b?c=d', {
        headers: {
          'X-Forwarded-For': '203.0.113.9',
          'X-Forwarded-Proto': 'https',
          Connection: 'keep-alive, X-Private',
          'X-Private': 'hop',
          'Keep-Alive': 'timeout=1',
          'X-Custom': 'kept',
        },
      });
      const seen = JSON.parse(reply.body) as { url: string; headers: Record<string, string> };
      assert.equal(seen.url, '/a/b?c=d');
      assert.equal(seen.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
      assert.equal(seen.headers['x-forwarded-proto'], 'http');
      assert.equal(seen.headers['x-forwarded-host'], `127.0.0.1:${r.listen.port}`);
      assert.equal(seen.headers['host'], `127.0.0.1:${r.listen.port}`);
      assert.equal(seen.headers['x-custom'], 'kept');
      assert.equal(seen.headers['x-private'], undefined, 'headers named by Connection are hop-by-hop');
      assert.equal(seen.headers['keep-alive'], undefined);
      assert.match(seen.headers['x-request-id'] ?? '', /^[0-9a-f]{8}-[0-9a-z]+$/);
      assert.equal(reply.headers['x-request-id'], seen.headers['x-request-id'], 'request id is returned to the client');
      assert.equal(reply.headers['x-upstream'], 'echo');
      assert.equal(reply.headers['x-hop'], undefined, 'upstream hop-by-hop header dropped');

      const mine = await get(r.listen.port, '/', { headers: { 'X-Request-Id': 'client-chosen-42' } });
      assert.equal((JSON.parse(mine.body) as { headers: Record<string, string> }).headers['x-request-id'], 'client-chosen-42');
      assert.equal(mine.headers['x-request-id'], 'client-chosen-42');

      const post = await get(r.listen.port, '/upload', { method: 'POST', body: 'payload-123', headers: { 'Content-Type': 'text/plain' } });
      assert.equal((JSON.parse(post.body) as { body: string }).body, 'payload-123');
    } finally {
      await up.close();
    }
  });

  test('answers 503 naming the service when it has no backends', async () => {
    const r = await fx.router.applyRoute(route('empty', [{ release: 3, weight: 1, backends: [] }]));
    const reply = await get(r.listen.port);
    assert.equal(reply.status, 503);
    assert.match(reply.body, /no backends for service empty/);
    const stats = await fx.router.stats();
    const svc = stats.services.find((s) => s.service === 'empty');
    assert.equal(svc?.unrouted, 1);
    assert.equal(svc?.pools.find((p) => p.release === 3)?.byClass['5xx'] ?? 0, 0, 'not attributed to a release');
  });

  test('rejects an invalid route with 400 listing every problem', async () => {
    const bad = {
      service: 'bad',
      listen: { host: '127.0.0.1', port: 70000 },
      pools: [{ release: 1, weight: -1, backends: [{ id: '', host: 'x', port: 1 }] }],
    };
    const err = await fx.router.setRoute(bad as never).then(
      () => undefined,
      (e: SlipwayError) => e,
    );
    assert.ok(err, 'setRoute must fail');
    assert.equal(err.code, 'ROUTE_INVALID');
    assert.equal(err.httpStatus, 400);
    assert.match(err.message, /listen\.port/);
    assert.match(err.message, /pools\.0\.weight/);
    assert.match(err.message, /pools\.0\.backends\.0\.id/);
    assert.ok(!(await fx.router.routes()).some((x) => x.service === 'bad'));
  });

  test('a port in use is a clear error naming the port and the service', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const err = await fx.router.setRoute({ service: 'clash', listen: { host: '127.0.0.1', port }, pools: [] }).then(
        () => undefined,
        (e: SlipwayError) => e,
      );
      assert.ok(err);
      assert.equal(err.code, 'ROUTER_PORT_IN_USE');
      assert.match(err.message, new RegExp(`"clash".*port ${port}`));
    } finally {
      blocker.close();
    }
  });

  test('moves the listener when the port changes and closes it on removal', async () => {
    const up = await startUpstream('mover');
    try {
      const first = await fx.router.applyRoute(route('mover', [{ release: 1, weight: 1, backends: [up.backend('m1')] }]));
      assert.equal((await get(first.listen.port)).body, 'mover');
      const same = await fx.router.applyRoute(route('mover', [{ release: 2, weight: 1, backends: [up.backend('m2')] }]));
      assert.equal(same.listen.port, first.listen.port, 'port 0 keeps the current port');
      const probe = createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const newPort = (probe.address() as { port: number }).port;
      await new Promise<void>((resolve) => probe.close(() => resolve()));
      const moved = await fx.router.applyRoute({ ...same, listen: { host: '127.0.0.1', port: newPort } });
      assert.equal(moved.listen.port, newPort);
      assert.equal((await get(newPort)).body, 'mover');
      await assert.rejects(get(first.listen.port), /ECONNREFUSED/);
      await fx.router.removeRoute('mover');
      await assert.rejects(get(newPort), /ECONNREFUSED/);
      assert.ok(!(await fx.router.routes()).some((x) => x.service === 'mover'));
      await assert.rejects(fx.router.removeRoute('mover'), /no route for service "mover"/);
    } finally {
      await up.close();
    }
  });
});
