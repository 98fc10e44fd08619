import assert from 'node:assert/strict';
import { Agent, createServer, type ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { get, route, startRouter, startUpstream, type RouterFixture } from './helpers.js';
import { waitFor } from '../../src/core/wait-for.js';

/** A port nothing listens on (bound by the OS, then released). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('router balancing', () => {
  let fx: RouterFixture;
  before(async () => {
    fx = await startRouter();
  });
  after(async () => {
    await fx.close();
  });

  test('splits traffic between pools by weight', async () => {
    const a = await startUpstream('A');
    const b = await startUpstream('B');
    const c = await startUpstream('C');
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    try {
      const r = await fx.router.applyRoute(
        route('weighted', [
          { release: 1, weight: 3, backends: [a.backend('a1')] },
          { release: 2, weight: 1, backends: [b.backend('b1')] },
          { release: 3, weight: 0, backends: [c.backend('c1')] },
        ]),
      );
      const n = 400;
      for (let i = 0; i < n; i += 4) await Promise.all([0, 1, 2, 3].map(() => get(r.listen.port, '/', { agent })));
      assert.equal(a.hits + b.hits, n);
      assert.equal(c.hits, 0, 'a pool of weight 0 gets nothing');
      // Expected share 0.75; ±0.08 is 3.7 standard deviations at n = 400.
      const share = a.hits / n;
      assert.ok(Math.abs(share - 0.75) < 0.08, `release 1 got ${(share * 100).toFixed(1)}% (expected 75%)`);
    } finally {
      agent.destroy();
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  test('sends requests to the backend with the fewest in flight (counted per proxy worker)', async () => {
    // Each worker balances by the requests it has in flight itself (ADR 0014, as nginx's least_conn
    // without a shared zone): one worker shows the property exactly.
    const one = await startRouter(['--grace-ms', '3000', '--workers', '1']);
    const held: ServerResponse[] = [];
    const hold = (name: string) => (req: { url?: string }, res: ServerResponse) => {
      if (req.url === '/hold') held.push(res);
      else res.end(name);
    };
    const x = await startUpstream('X', hold('X'));
    const y = await startUpstream('Y', hold('Y'));
    try {
      const r = await one.router.applyRoute(route('least', [{ release: 1, weight: 1, backends: [x.backend('x'), y.backend('y')] }]));
      const busy = get(r.listen.port, '/hold');
      await waitFor('one backend busy', () => held.length === 1);
      const idle = x.active === 1 ? 'Y' : 'X';
      const replies = [];
      for (let i = 0; i < 10; i++) replies.push((await get(r.listen.port, '/')).body);
      assert.deepEqual(replies, Array(10).fill(idle), 'every request went to the idle backend');
      held[0]!.end('done');
      await busy;
      // With both idle again, ties rotate between them.
      const after = [];
      for (let i = 0; i < 4; i++) after.push((await get(r.listen.port, '/')).body);
      assert.deepEqual(new Set(after), new Set(['X', 'Y']));
    } finally {
      await x.close();
      await y.close();
      await one.close();
    }
  });

  test('a backend that refuses connections is retried on another, with no client errors', async () => {
    const alive = await startUpstream('alive');
    const other = await startUpstream('other-pool');
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    try {
      const r = await fx.router.applyRoute(
        route('refusing', [
          {
            release: 1,
            weight: 1,
            backends: [
              { id: 'dead1', host: '127.0.0.1', port: await deadPort() },
              { id: 'dead2', host: '127.0.0.1', port: await deadPort() },
              alive.backend('ok'),
            ],
          },
        ]),
      );
      const replies = [];
      for (let i = 0; i < 60; i++)
        replies.push(
          await get(r.listen.port, '/', { agent, method: i % 2 === 0 ? 'GET' : 'POST', body: i % 2 === 0 ? undefined : 'body' }),
        );
      assert.deepEqual(
        replies.filter((x) => x.status !== 200).map((x) => x.status),
        [],
      );
      assert.equal(alive.hits, 60);

      // Across pools: the only backend of the chosen pool refuses; another pool serves it.
      await fx.router.setRoute(
        route('refusing', [
          { release: 1, weight: 1, backends: [{ id: 'dead3', host: '127.0.0.1', port: await deadPort() }] },
          { release: 2, weight: 1, backends: [other.backend('ok2')] },
        ]),
      );
      const cross = [];
      for (let i = 0; i < 30; i++) cross.push(await get(r.listen.port, '/', { agent }));
      assert.deepEqual(cross.filter((x) => x.status !== 200 || x.body !== 'other-pool').length, 0);
      const stats = (await fx.router.stats()).services.find((s) => s.service === 'refusing')!;
      assert.equal(stats.pools.find((p) => p.release === 1)!.byClass['5xx'], 0);

      // When every backend refuses, the client gets a 502, not a hang.
      await fx.router.setRoute(
        route('refusing', [{ release: 3, weight: 1, backends: [{ id: 'dead4', host: '127.0.0.1', port: await deadPort() }] }]),
      );
      const lost = await get(r.listen.port, '/');
      assert.equal(lost.status, 502);
      assert.match(lost.body, /ECONNREFUSED/);
    } finally {
      agent.destroy();
      await alive.close();
      await other.close();
    }
  });
});
