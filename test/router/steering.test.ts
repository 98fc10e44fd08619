import { freePort } from '../../src/core/free-port.js';
import assert from 'node:assert/strict';
import { Agent, createServer } from 'node:http';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { SlipwayError } from '../../src/core/errors.js';
import { LocalRouter } from '../../src/router/local-router.js';
import { pidAlive as isProcessAlive } from '../../src/core/process.js';
import { get, route, startRouter, startUpstream, tempDir, type RouterFixture } from './helpers.js';
import { waitFor } from '../../src/core/wait-for.js';

async function bodies(port: number, n: number, headers: Record<string, string> = {}): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await get(port, '/', { headers })).body);
  return out;
}

describe('router steering', () => {
  let fx: RouterFixture;
  before(async () => {
    fx = await startRouter();
  });
  after(async () => {
    await fx.close();
  });

  test('header rules send matching requests to their release, whatever its weight', async () => {
    const a = await startUpstream('A');
    const b = await startUpstream('B');
    try {
      const r = await fx.router.applyRoute({
        ...route('ruled', [
          { release: 1, weight: 1, backends: [a.backend('a1')] },
          { release: 2, weight: 0, backends: [b.backend('b1')] },
          { release: 3, weight: 0, backends: [] },
        ]),
        rules: [
          { match: { header: { 'X-Canary': 'yes', 'X-User': 'qa' } }, release: 2 },
          { match: { header: { 'X-Beta': '1' } }, release: 3 },
        ],
      });
      assert.deepEqual(new Set(await bodies(r.listen.port, 10, { 'x-canary': 'yes', 'x-user': 'qa' })), new Set(['B']));
      assert.deepEqual(new Set(await bodies(r.listen.port, 5, { 'X-Canary': 'yes' })), new Set(['A']), 'every listed header must match');
      assert.deepEqual(new Set(await bodies(r.listen.port, 5, { 'X-Canary': 'Yes', 'X-User': 'qa' })), new Set(['A']), 'values are exact');
      assert.deepEqual(
        new Set(await bodies(r.listen.port, 5, { 'X-Beta': '1' })),
        new Set(['A']),
        'a rule whose release has no backends falls back to weights',
      );
      assert.deepEqual(new Set(await bodies(r.listen.port, 5)), new Set(['A']));
      const stats = (await fx.router.stats()).services.find((s) => s.service === 'ruled')!;
      assert.equal(stats.pools.find((p) => p.release === 2)!.byClass['2xx'], 10);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('a sticky cookie keeps a client on the release that served it; rules win over it', async () => {
    const a = await startUpstream('A');
    const b = await startUpstream('B');
    const release = { A: '1', B: '2' } as Record<string, string>;
    try {
      const pools = [
        { release: 1, weight: 1, backends: [a.backend('a1')] },
        { release: 2, weight: 1, backends: [b.backend('b1')] },
      ];
      const r = await fx.router.applyRoute({
        ...route('sticky', pools),
        stickiness: 'cookie',
        rules: [{ match: { header: { 'X-Canary': 'yes' } }, release: 2 }],
      });
      const port = r.listen.port;
      const first = await get(port, '/');
      assert.deepEqual(first.headers['set-cookie'], [`slipway_sticky=${release[first.body]}; Path=/; HttpOnly; SameSite=Lax`]);

      for (const [cookie, want] of [
        ['slipway_sticky=2', 'B'],
        ['a=1; slipway_sticky=1; z=2', 'A'],
      ] as const) {
        const replies = await Promise.all(Array.from({ length: 12 }, () => get(port, '/', { headers: { Cookie: cookie } })));
        assert.deepEqual(new Set(replies.map((x) => x.body)), new Set([want]), `cookie ${cookie}`);
      }
      assert.equal(
        (await get(port, '/', { headers: { Cookie: 'slipway_sticky=1', 'X-Canary': 'yes' } })).body,
        'B',
        'the header rule wins',
      );

      // Weight 0: the cookie no longer applies; the client is balanced normally and the cookie rewritten.
      await fx.router.setRoute({ ...route('sticky', [pools[0]!, { ...pools[1]!, weight: 0 }]), listen: r.listen, stickiness: 'cookie' });
      for (const cookie of ['slipway_sticky=2', 'slipway_sticky=9']) {
        const moved = await get(port, '/', { headers: { Cookie: cookie } });
        assert.equal(moved.body, 'A');
        assert.deepEqual(moved.headers['set-cookie'], ['slipway_sticky=1; Path=/; HttpOnly; SameSite=Lax']);
      }
      // Without stickiness no cookie is set.
      await fx.router.setRoute({ ...route('sticky', pools), listen: r.listen });
      assert.equal((await get(port, '/')).headers['set-cookie'], undefined);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('the preview listener serves only its release, even at weight 0, and is counted apart', async () => {
    const a = await startUpstream('A');
    const b = await startUpstream('B');
    const squatter = createServer();
    try {
      const pools = [
        { release: 1, weight: 1, backends: [a.backend('a1')] },
        { release: 2, weight: 0, backends: [b.backend('b1')] },
      ];
      const r = await fx.router.applyRoute({
        ...route('pv', pools),
        stickiness: 'cookie',
        preview: { host: '127.0.0.1', port: 0, release: 2 },
      });
      const pport = r.preview!.port;
      assert.ok(pport > 0 && pport !== r.listen.port);
      assert.deepEqual(new Set(await bodies(pport, 10)), new Set(['B']));
      assert.deepEqual(new Set(await bodies(r.listen.port, 5)), new Set(['A']));
      const viaPreview = await get(pport, '/');
      assert.equal(viaPreview.headers['set-cookie'], undefined, 'preview responses pin no user to a release');

      let stats = (await fx.router.stats()).services.find((s) => s.service === 'pv')!;
      assert.equal(stats.pools.find((p) => p.release === 2)?.byClass['2xx'] ?? 0, 0, 'no preview request in user-traffic counts');
      assert.equal(stats.preview!.find((p) => p.release === 2)!.byClass['2xx'], 11);

      // Port 0 keeps the port; a release without backends is a 503 naming service and release.
      const again = await fx.router.applyRoute({
        ...route('pv', pools),
        listen: r.listen,
        preview: { host: '127.0.0.1', port: 0, release: 3 },
      });
      assert.equal(again.preview!.port, pport);
      const none = await get(pport, '/');
      assert.equal(none.status, 503);
      assert.match(none.body, /service pv release 3/);
      stats = (await fx.router.stats()).services.find((s) => s.service === 'pv')!;
      assert.equal(stats.previewUnrouted, 1);
      assert.equal(stats.unrouted, 0);

      // A port in use is a clear error and changes nothing.
      await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
      const taken = (squatter.address() as { port: number }).port;
      const err = await fx.router
        .applyRoute({ ...route('pv', pools), listen: r.listen, preview: { host: '127.0.0.1', port: taken, release: 2 } })
        .then(
          () => undefined,
          (e: SlipwayError) => e,
        );
      assert.equal(err?.code, 'ROUTER_PORT_IN_USE');
      assert.match(err.message, new RegExp(`preview listener.*port ${taken}`));
      const other = await fx.router.applyRoute(route('pv-other', pools)).then(() => undefined);
      assert.equal(other, undefined);
      const clash = await fx.router.applyRoute({ ...route('pv-other', pools), listen: { host: '127.0.0.1', port: pport } }).then(
        () => undefined,
        (e: SlipwayError) => e,
      );
      assert.match(clash?.message ?? '', /already used by service "pv"'s preview listener/);
      assert.equal((await get(pport, '/')).status, 503, 'the preview still serves release 3');

      // Moving opens the new port and closes the old; removing the field closes it.
      const moveTo = await freePort();
      await fx.router.setRoute({ ...route('pv', pools), listen: r.listen, preview: { host: '127.0.0.1', port: moveTo, release: 2 } });
      assert.equal((await get(moveTo, '/')).body, 'B');
      await waitFor('old preview port closed', () =>
        get(pport, '/').then(
          () => false,
          () => true,
        ),
      );
      await fx.router.setRoute({ ...route('pv', pools), listen: r.listen });
      await waitFor('preview port closed', () =>
        get(moveTo, '/').then(
          () => false,
          () => true,
        ),
      );
      assert.equal((await get(r.listen.port, '/')).body, 'A');
    } finally {
      squatter.close();
      await a.close();
      await b.close();
    }
  });

  test('after setRoute resolves, no new request reaches the pool that lost its weight', async () => {
    // Given steady load on pool A (B present at weight 0), with every request numbered by the client...
    let seq = 0;
    let maxSeqOnA = 0;
    const onA = (req: { headers: Record<string, unknown> }, res: { end(s: string): void }) => {
      maxSeqOnA = Math.max(maxSeqOnA, Number(req.headers['x-seq']));
      setTimeout(() => res.end('A'), Math.random() * 3);
    };
    const [a1, a2] = await Promise.all([startUpstream('A', onA), startUpstream('A', onA)]);
    const b1 = await startUpstream('B');
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const deadline = Date.now() + 20_000;
    let stop = false;
    let outstanding = 0;
    let done = 0;
    const failures: string[] = [];
    try {
      const aPool = { release: 1, backends: [a1!.backend('a1'), a2!.backend('a2')] };
      const bPool = { release: 2, backends: [b1.backend('b1')] };
      const r = await fx.router.applyRoute(
        route('switch', [
          { ...aPool, weight: 1 },
          { ...bPool, weight: 0 },
        ]),
      );
      const worker = async () => {
        while (!stop && done < 10_000 && Date.now() < deadline) {
          outstanding++;
          const reply = await get(r.listen.port, '/', { agent, headers: { 'X-Seq': String(++seq) } }).catch((e: Error) => ({
            status: 0,
            body: e.message,
          }));
          outstanding--;
          done++;
          if (reply.status !== 200) failures.push(`${reply.status} ${reply.body}`);
        }
      };
      const load = Promise.all(Array.from({ length: 8 }, worker));
      await waitFor('200 requests on A', () => done >= 200, 10_000);

      // ...when all weight moves to B (A's backends stay in the table and up)...
      await fx.router.setRoute(
        route('switch', [
          { ...aPool, weight: 0 },
          { ...bPool, weight: 1 },
        ]),
      );
      const seqAtSwitch = seq;
      const inFlightAtSwitch = outstanding;
      const aHitsAtSwitch = a1!.hits + a2!.hits;
      await waitFor('400 more requests', () => done >= 600, 10_000);
      stop = true;
      await load;

      // ...then A saw no request that started after the switch, and only those already in flight.
      assert.deepEqual(failures, []);
      assert.ok(maxSeqOnA <= seqAtSwitch, `A got request #${maxSeqOnA}, started after the switch (#${seqAtSwitch})`);
      assert.ok(
        a1!.hits + a2!.hits - aHitsAtSwitch <= inFlightAtSwitch,
        `A got ${a1!.hits + a2!.hits - aHitsAtSwitch} requests after the switch, with ${inFlightAtSwitch} in flight`,
      );
      assert.ok(b1.hits >= 300, `B served ${b1.hits}`);
    } finally {
      stop = true;
      agent.destroy();
      await Promise.all([a1!.close(), a2!.close(), b1.close()]);
    }
  });
});

test('a restarted router reopens the preview listener on its port', async () => {
  const stateDir = tempDir();
  const b = await startUpstream('B');
  const router = new LocalRouter({ stateDir });
  let again: LocalRouter | undefined;
  try {
    await router.ensureRunning();
    const r = await router.applyRoute({
      ...route('pvr', [{ release: 2, weight: 0, backends: [b.backend('b1')] }]),
      preview: { host: '127.0.0.1', port: 0, release: 2 },
    });
    assert.equal((await get(r.preview!.port, '/')).body, 'B');
    const oldPid = router.pid!;
    process.kill(oldPid, 'SIGKILL');
    await waitFor('old router gone', () => !isProcessAlive(oldPid));
    again = new LocalRouter({ stateDir });
    await again.ensureRunning();
    assert.deepEqual(await again.routes(), [r]);
    assert.equal((await get(r.preview!.port, '/')).body, 'B');
    assert.equal((await get(r.listen.port, '/')).status, 503, 'weight 0 on the main listener: no backends');
  } finally {
    await again?.shutdown().catch(() => undefined);
    await router.shutdown().catch(() => undefined);
    await b.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
});
