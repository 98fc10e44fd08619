/**
 * The conformance suite every TrafficRouter passes (as driver-contract.ts is for drivers):
 * `describeRouterContract('builtin', (dir) => new LocalRouter({ stateDir: dir }))`. Real
 * routers, real upstream HTTP servers in this process, loopback only; every test stops what it
 * started and removes its files.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../core/wait-for.js';
import type { TrafficRouter } from './router.js';
import type { ServiceRoute } from './types.js';

interface TestUpstream {
  name: string;
  port: number;
  hits: number;
  /** Requests to /slow wait until release() (or the connection closes). */
  held: number;
  release(): void;
  close(): Promise<void>;
}

async function upstream(name: string): Promise<TestUpstream> {
  const sockets = new Set<Socket>();
  let waiting: (() => void)[] = [];
  const up: TestUpstream = {
    name,
    port: 0,
    hits: 0,
    held: 0,
    release: () => {
      for (const w of waiting) w();
      waiting = [];
    },
    close: () =>
      new Promise<void>((resolve) => {
        up.release();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
  const server: Server = createServer((req, res) => {
    up.hits++;
    if (req.url === '/slow') {
      up.held++;
      waiting.push(() => res.end(name));
      res.on('close', () => up.held--);
      return;
    }
    res.end(name);
  });
  server.keepAliveTimeout = 10_000; // longer than routers keep idle upstream sockets: no race on reuse
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  up.port = (server.address() as AddressInfo).port;
  return up;
}

const agent = new Agent({ keepAlive: false });

function get(port: number, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Sends `n` requests, 4 at a time, and counts the answers by body. */
async function spread(port: number, n: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const r = await get(port);
      const k = r.status === 200 ? r.body : `HTTP ${r.status}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return counts;
}

const backend = (up: TestUpstream) => ({ id: `web-${up.name}`, host: '127.0.0.1', port: up.port });

/** The listen port of the installed route (a route asked with port 0 holds the real one once installed). */
async function installedPort(router: TrafficRouter, service: string): Promise<number> {
  const r = (await router.routes()).find((x) => x.service === service);
  assert.ok(r && r.listen.port > 0, `route ${service} is installed with a real port`);
  return r.listen.port;
}

export function describeRouterContract(name: string, make: (stateDir: string) => TrafficRouter): void {
  describe(`TrafficRouter contract: ${name}`, () => {
    let dir: string;
    let router: TrafficRouter;
    let ups: TestUpstream[];

    beforeEach(async () => {
      dir = mkdtempSync(join(tmpdir(), `slipway-router-contract-${name}-`));
      router = make(join(dir, 'state'));
      ups = [];
      await router.ensureRunning();
    });
    afterEach(async () => {
      await router.shutdown().catch(() => undefined);
      await Promise.all(ups.map((u) => u.close()));
      rmSync(dir, { recursive: true, force: true });
    });
    const up = async (n: string) => {
      const u = await upstream(n);
      ups.push(u);
      return u;
    };
    const route = (pools: { release: number; weight: number; ups: TestUpstream[] }[], extra: Partial<ServiceRoute> = {}): ServiceRoute => ({
      service: 'web',
      listen: { host: '127.0.0.1', port: 0 },
      pools: pools.map((p) => ({ release: p.release, weight: p.weight, backends: p.ups.map(backend) })),
      ...extra,
    });

    it('adopts the running router instead of starting a second one, and reports it alive and healthy', async () => {
      assert.equal(router.alive(), true);
      const again = await router.ensureRunning();
      assert.equal(again.started, false);
      const h = await router.health();
      assert.equal(h.ok, true);
      assert.equal(h.pid, again.pid);
    });

    it('installs a route on a free port and splits traffic between pools by weight', async () => {
      const [a, b, c] = [await up('a'), await up('b'), await up('c')];
      await router.setRoute(
        route([
          { release: 1, weight: 1, ups: [a] },
          { release: 2, weight: 3, ups: [b, c] },
        ]),
      );
      const port = await installedPort(router, 'web');
      const counts = await spread(port, 400);
      const one = counts.get('a') ?? 0;
      const two = (counts.get('b') ?? 0) + (counts.get('c') ?? 0);
      assert.equal(one + two, 400, `every request answered by a backend: ${JSON.stringify([...counts])}`);
      // 25% ± 10 points: far outside the binomial spread (σ ≈ 2.2 points), inside any fair split.
      assert.ok(one > 60 && one < 140, `release 1 (weight 1 of 4) got ${one} of 400`);
      assert.ok((counts.get('b') ?? 0) > 60 && (counts.get('c') ?? 0) > 60, 'both backends of release 2 serve');
      const stats = (await router.stats()).services.find((s) => s.service === 'web');
      const byRelease = new Map(stats?.pools.map((p) => [p.release, p]));
      assert.equal(byRelease.get(1)?.requests, one, 'per-release request counts match what was served');
      assert.equal(byRelease.get(2)?.requests, two);
      assert.equal(byRelease.get(2)?.byClass['2xx'], two);
    });

    it('sends nothing to a pool of weight 0, and every request after a switch to the new pool', async () => {
      const [a, b] = [await up('a'), await up('b')];
      await router.setRoute(
        route([
          { release: 1, weight: 1, ups: [a] },
          { release: 2, weight: 0, ups: [b] },
        ]),
      );
      const port = await installedPort(router, 'web');
      assert.deepEqual([...(await spread(port, 40))], [['a', 40]]);
      await router.setRoute(
        route([
          { release: 1, weight: 0, ups: [a] },
          { release: 2, weight: 1, ups: [b] },
        ]),
      );
      assert.equal(await installedPort(router, 'web'), port, 'a later route with port 0 keeps the port');
      assert.deepEqual([...(await spread(port, 40))], [['b', 40]]);
    });

    it('drains a removed backend: its request in flight finishes, it gets no new one, and its counts are kept', async () => {
      const [a, b] = [await up('a'), await up('b')];
      await router.setRoute(route([{ release: 1, weight: 1, ups: [a] }]));
      const port = await installedPort(router, 'web');
      await spread(port, 10);
      const slow = get(port, '/slow');
      await waitFor('the slow request to reach a', () => a.held === 1);
      await router.setRoute(route([{ release: 2, weight: 1, ups: [b] }]));
      const hitsBefore = a.hits;
      assert.deepEqual([...(await spread(port, 20))], [['b', 20]]);
      assert.equal(a.hits, hitsBefore, 'the draining backend got no new request');
      const draining = router.drain('web', ['web-a'], 10_000);
      setTimeout(() => a.release(), 200);
      const result = await draining;
      assert.deepEqual(result, { completed: 1, aborted: 0 });
      assert.deepEqual(await slow, { status: 200, body: 'a' });
      const pools = (await router.stats()).services.find((s) => s.service === 'web')!.pools;
      assert.equal(pools.find((p) => p.release === 1)?.requests, 11, 'release 1 keeps its counts after its backend left');
      assert.equal(pools.find((p) => p.release === 2)?.requests, 20);
    });

    it('ends a drain at its deadline, counting the request still in flight as aborted', async () => {
      const [a, b] = [await up('a'), await up('b')];
      await router.setRoute(route([{ release: 1, weight: 1, ups: [a] }]));
      const port = await installedPort(router, 'web');
      const slow = get(port, '/slow').catch((err: Error) => ({ status: 0, body: err.message }));
      await waitFor('the slow request to reach a', () => a.held === 1);
      await router.setRoute(route([{ release: 2, weight: 1, ups: [b] }]));
      const result = await router.drain('web', ['web-a'], 300);
      assert.deepEqual(result, { completed: 0, aborted: 1 });
      const answer = await slow;
      assert.notEqual(answer.status, 200, 'the aborted request did not complete as a success');
    });

    it('serves a preview listener from the preview release only, counted apart from user traffic', async () => {
      const [a, b] = [await up('a'), await up('b')];
      await router.setRoute(
        route(
          [
            { release: 1, weight: 1, ups: [a] },
            { release: 2, weight: 0, ups: [b] },
          ],
          { preview: { host: '127.0.0.1', port: 0, release: 2 } },
        ),
      );
      const installed = (await router.routes()).find((r) => r.service === 'web')!;
      assert.ok(installed.preview && installed.preview.port > 0);
      assert.deepEqual([...(await spread(installed.preview.port, 12))], [['b', 12]]);
      assert.deepEqual([...(await spread(installed.listen.port, 12))], [['a', 12]]);
      const s = (await router.stats()).services.find((x) => x.service === 'web')!;
      assert.equal(s.pools.find((p) => p.release === 2)?.requests ?? 0, 0, 'preview traffic is not user traffic');
      assert.equal(s.preview?.find((p) => p.release === 2)?.requests, 12);
    });

    it('stops listening when a route is removed, and restores its routes after a restart', async () => {
      const a = await up('a');
      await router.setRoute(route([{ release: 1, weight: 1, ups: [a] }]));
      await router.setRoute({ ...route([{ release: 1, weight: 1, ups: [a] }]), service: 'api' });
      const web = await installedPort(router, 'web');
      const api = await installedPort(router, 'api');
      await router.removeRoute('api');
      await waitFor('the removed route to refuse connections', () =>
        get(api).then(
          () => false,
          () => true,
        ),
      );
      await router.shutdown();
      assert.equal(router.alive(), false);
      const start = await router.ensureRunning();
      assert.equal(start.started, true);
      assert.deepEqual(
        (await router.routes()).map((r) => r.service),
        ['web'],
      );
      assert.deepEqual(await get(web), { status: 200, body: 'a' });
    });
  });
}
