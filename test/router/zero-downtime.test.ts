import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { get, route, startRouter, startUpstream, tempDir, type Reply, type RouterFixture } from './helpers.js';
import { waitFor } from '../../src/core/wait-for.js';
import { servicePort as freePort } from '../support/ports.js';

const FIXTURE_APP = fileURLToPath(new URL('../../../test/fixtures/app/server.js', import.meta.url));

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

/**
 * The router in front of a real app process (the fixture app, killed by SIGKILL in the test: the
 * kernel closes its sockets under the router's pool) and a live backend answering "B", each with
 * connections idle in the router's pool (warmed through `clients`, kept-alive).
 */
async function withDyingApp(
  clients: Agent,
  body: (s: { fx: RouterFixture; port: number; app: ChildProcess }) => Promise<void>,
): Promise<void> {
  const fx = await startRouter();
  const appPort = await freePort();
  const appDir = tempDir('slipway-app-');
  copyFileSync(FIXTURE_APP, join(appDir, 'server.js')); // outside this package, so that it runs as CommonJS
  const app = spawn(process.execPath, [join(appDir, 'server.js')], {
    env: { ...process.env, PORT: String(appPort), SLOW_MS: '20' },
    stdio: 'ignore',
  });
  const other = await startUpstream('B', (req, res) => {
    req.resume();
    req.on('end', () => setTimeout(() => res.end('B'), 20));
  });
  try {
    await waitFor(
      'the app to listen',
      () =>
        get(appPort, '/healthz').then(
          (r) => r.status === 200,
          () => false,
        ),
      10_000,
    );
    const a = { id: 'a', host: '127.0.0.1', port: appPort };
    const r = await fx.router.applyRoute(route('web', [{ release: 1, weight: 1, backends: [a, other.backend('b')] }]));
    const warm = await Promise.all(Array.from({ length: 8 }, () => get(r.listen.port, '/', { agent: clients })));
    assert.ok(
      warm.some((w) => w.body.startsWith('v1')),
      'the app served some of the warm-up',
    );
    await body({ fx, port: r.listen.port, app });
  } finally {
    clients.destroy();
    app.kill('SIGKILL');
    await other.close();
    await fx.close();
    rmSync(appDir, { recursive: true, force: true });
  }
}

test('a request with a body never goes to a dead instance over a connection the pool still holds', async () => {
  const clients = new Agent({ keepAlive: true, maxSockets: 8 });
  await withDyingApp(clients, async ({ fx, port, app }) => {
    // With the router's worker stopped, the app dies and its connections' FINs wait for the router,
    // and so do the requests sent next on the kept-alive client connections: the router reads
    // both in one turn of its loop.
    const worker = (await fx.router.health()).workerPid;
    process.kill(worker, 'SIGSTOP');
    let posts: Promise<Reply>[];
    try {
      app.kill('SIGKILL');
      await once(app, 'exit');
      posts = Array.from({ length: 8 }, (_, i) => get(port, '/work', { method: 'POST', body: `job-${i}`, agent: clients }));
      await new Promise((resolve) => setTimeout(resolve, 200)); // the requests reach the router's sockets (it cannot read them yet)
    } finally {
      process.kill(worker, 'SIGCONT');
    }
    const replies = await Promise.all(posts);
    assert.deepEqual(
      replies.map((x) => `${x.status} ${x.body.trim()}`),
      replies.map(() => '200 B'),
      'every POST went to the live instance',
    );
  });
});

test('an instance killed with idle kept-alive connections fails at most one request with a body; the next go to the other backend', async () => {
  await withDyingApp(new Agent({ keepAlive: true, maxSockets: 8 }), async ({ port, app }) => {
    app.kill('SIGKILL');
    const failures: string[] = [];
    for (let i = 0; i < 20; i++) {
      const reply = await get(port, '/work', { method: 'POST', body: `job-${i}` });
      if (reply.status !== 200) failures.push(`job-${i}: ${reply.status} ${reply.body.trim()}`);
    }
    assert.ok(failures.length <= 1, `more than the request that found the instance gone failed: ${failures.join('; ')}`);
  });
});
