import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { test } from 'node:test';
import { get, route, startRouter, startUpstream } from './helpers.js';
import { waitFor } from '../../src/core/wait-for.js';

test('switching a service from pool A to pool B under steady load fails no request', async () => {
  const fx = await startRouter();
  // Upstreams answer after a short random delay so that requests are in flight at every switch.
  const slowish = (name: string) => (_req: unknown, res: { end(s: string): void }) => {
    setTimeout(() => res.end(name), Math.random() * 5);
  };
  const [a1, a2, b1, b2] = await Promise.all(['A', 'A', 'B', 'B'].map((n) => startUpstream(n, slowish(n))));
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const MAX_REQUESTS = 20_000;
  const deadline = Date.now() + 20_000;
  let sent = 0;
  let stop = false;
  const failures: string[] = [];
  const bodies = { A: 0, B: 0 };
  try {
    const r = await fx.router.applyRoute(route('web', [{ release: 1, weight: 1, backends: [a1!.backend('a1'), a2!.backend('a2')] }]));
    const worker = async () => {
      while (!stop && sent < MAX_REQUESTS && Date.now() < deadline) {
        sent++;
        try {
          const reply = await get(r.listen.port, '/', { agent });
          if (reply.status !== 200) failures.push(`status ${reply.status}: ${reply.body}`);
          else bodies[reply.body as 'A' | 'B']++;
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, worker));

    // Given steady traffic on A...
    await waitFor('300 requests on A', () => sent >= 300, 10_000);
    // ...when B joins as a canary, then takes all traffic, and A is drained and stopped...
    await fx.router.setRoute(
      route('web', [
        { release: 1, weight: 9, backends: [a1!.backend('a1'), a2!.backend('a2')] },
        { release: 2, weight: 1, backends: [b1!.backend('b1'), b2!.backend('b2')] },
      ]),
    );
    await waitFor('300 more requests during the canary', () => sent >= 600, 10_000);
    await fx.router.setRoute(route('web', [{ release: 2, weight: 1, backends: [b1!.backend('b1'), b2!.backend('b2')] }]));
    const drained = await fx.router.drain('web', ['a1', 'a2'], 5000);
    const aHitsAtDrain = a1!.hits + a2!.hits;
    await Promise.all([a1!.close(), a2!.close()]);
    const sentAtStop = sent;
    await waitFor('300 requests after A stopped', () => sent >= sentAtStop + 300, 10_000);
    stop = true;
    await load;

    // ...then no request failed, A got nothing after its drain, and B served the rest.
    assert.deepEqual(failures, []);
    assert.equal(drained.aborted, 0);
    assert.equal(a1!.hits + a2!.hits, aHitsAtDrain, 'no request reached A after the drain');
    assert.ok(bodies.B >= 300, `B served ${bodies.B}`);
    assert.ok(sent < MAX_REQUESTS && Date.now() < deadline, 'the load loop ended on our signal, not on its bounds');
    const stats = (await fx.router.stats()).services.find((s) => s.service === 'web')!;
    const total = stats.pools.reduce((n, p) => n + p.byClass['2xx'], 0);
    assert.equal(total, bodies.A + bodies.B);
    assert.equal(
      stats.pools.reduce((n, p) => n + p.byClass['5xx'], 0),
      0,
    );
  } finally {
    stop = true;
    agent.destroy();
    await Promise.all([a1, a2, b1, b2].map((u) => u!.close()));
    await fx.close();
  }
});
