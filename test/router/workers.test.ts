/**
 * Several proxy workers on the supervisor's shared sockets (ADR 0014): each accepts connections;
 * the admin worker applies a change and has every other worker apply it before it answers; drains
 * span every worker; counters are summed and never go backwards when a worker is replaced.
 * Which worker served a request shows in its X-Request-Id (`<8 hex of the worker's boot id>-<n>`).
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pidAlive } from '../../src/core/process.js';
import { waitFor } from '../../src/core/wait-for.js';
import type { RouterStats } from '../../src/router/types.js';
import { get, route, startRouter, startUpstream, tempDir, type Reply } from './helpers.js';

const WORKERS = ['--grace-ms', '3000', '--workers', '2'];

const workerOf = (r: Reply): string => String(r.headers['x-request-id']).split('-')[0]!;
const requestsIn = (s: RouterStats, service: string): number =>
  s.services.find((x) => x.service === service)?.pools.reduce((n, p) => n + p.requests, 0) ?? 0;

/** Fresh-connection requests until both workers answered at least once (bounded). */
async function untilBothWorkersServed(port: number, path = '/'): Promise<Reply[]> {
  const replies: Reply[] = [];
  for (let i = 0; i < 400 && new Set(replies.map(workerOf)).size < 2; i++) {
    replies.push(...(await Promise.all([get(port, path), get(port, path), get(port, path), get(port, path)])));
  }
  assert.equal(new Set(replies.map(workerOf)).size, 2, `both workers accept connections (${replies.length} requests)`);
  return replies;
}

test('two workers share the ports; a route change is in every worker before it is acknowledged; counts are summed', async () => {
  const fx = await startRouter(WORKERS);
  const a = await startUpstream('a');
  const b = await startUpstream('b');
  try {
    const h = await fx.router.health();
    assert.equal(h.workerPids.length, 2);
    assert.equal(h.workerPids[0], h.workerPid, 'the admin worker first');
    const r = await fx.router.applyRoute(route('web', [{ release: 1, weight: 1, backends: [a.backend('a1')] }]));
    const first = await untilBothWorkersServed(r.listen.port);
    assert.ok(first.every((x) => x.body === 'a'));

    await fx.router.applyRoute({ ...route('web', [{ release: 2, weight: 1, backends: [b.backend('b1')] }]), listen: r.listen });
    const hitsOnA = a.hits;
    const after = await untilBothWorkersServed(r.listen.port);
    assert.deepEqual([...new Set(after.map((x) => x.body))], ['b'], 'no worker still routes by the old table');
    assert.equal(a.hits, hitsOnA);

    const total = first.length + after.length;
    await waitFor('every request counted', async () => requestsIn(await fx.router.stats(), 'web') === total);
    const stats = await fx.router.stats();
    const pools = stats.services[0]!.pools;
    assert.deepEqual(
      pools.map((p) => [p.release, p.requests, p.byClass['2xx']]),
      [
        [1, first.length, first.length],
        [2, after.length, after.length],
      ],
    );
    assert.equal(stats.bootId, h.bootId);
    const metricsUrl = new URL(fx.router.metricsUrl!);
    const metrics = (await get(Number(metricsUrl.port), metricsUrl.pathname)).body;
    assert.match(metrics, new RegExp(`slipway_router_requests_total\\{service="web",release="2",code="2xx"\\} ${after.length}\\n`));

    // Removing the route closes the port in every worker before the answer.
    await fx.router.removeRoute('web');
    await assert.rejects(get(r.listen.port), /ECONNREFUSED/);
  } finally {
    await a.close();
    await b.close();
    await fx.close();
  }
});

test('a drain waits for the requests in flight in every worker, and its deadline cuts them in every worker', async () => {
  const fx = await startRouter(WORKERS);
  const held: { worker: string; end: () => void }[] = [];
  const up = await startUpstream('slow', (req, res) => {
    if (req.url === '/hold') held.push({ worker: String(req.headers['x-request-id']).split('-')[0]!, end: () => res.end('late') });
    else res.end('quick');
  });
  try {
    const r = await fx.router.applyRoute(route('slow', [{ release: 1, weight: 1, backends: [up.backend('s1')] }]));
    const answers: Promise<Reply>[] = [];
    for (let i = 0; i < 100 && new Set(held.map((x) => x.worker)).size < 2; i++) {
      answers.push(get(r.listen.port, '/hold'));
      await waitFor('request held', () => held.length === answers.length);
    }
    assert.equal(new Set(held.map((x) => x.worker)).size, 2, 'requests held in both workers');
    assert.deepEqual((await fx.router.stats()).services[0]!.inFlightByBackend, { s1: held.length });

    await fx.router.applyRoute({ ...route('slow', []), listen: r.listen });
    const result = await fx.router.drain('slow', ['s1'], 300);
    assert.deepEqual(result, { completed: 0, aborted: held.length });
    const replies = await Promise.all(answers);
    assert.deepEqual(
      replies.map((x) => x.status),
      held.map(() => 504),
    );
    for (const h of held) h.end();
  } finally {
    await up.close();
    await fx.close();
  }
});

test('a killed worker is replaced while the other serves on; the summed counters never go backwards', async () => {
  const fx = await startRouter(WORKERS);
  const up = await startUpstream('up');
  try {
    const r = await fx.router.applyRoute(route('web', [{ release: 1, weight: 1, backends: [up.backend('u1')] }]));
    let sent = (await untilBothWorkersServed(r.listen.port)).length;
    await waitFor('counted', async () => requestsIn(await fx.router.stats(), 'web') === sent);
    const before = await fx.router.health();

    for (const victim of [before.workerPids[1]!, before.workerPids[0]!]) {
      // Read once everything is counted, so that the victim's counts are all in the supervisor's last reading.
      await waitFor('counted', async () => requestsIn(await fx.router.stats(), 'web') === sent);
      const seen = sent;
      const h = await fx.router.health();
      process.kill(victim, 'SIGKILL');
      // The port never stops answering: the other worker (or the kernel's queue) takes new connections.
      for (let i = 0; i < 10; i++) assert.equal((await get(r.listen.port)).body, 'up');
      sent += 10;
      await waitFor('replaced', async () => {
        const now = await fx.router.health().catch(() => undefined);
        return now !== undefined && now.workerPids.length === 2 && !now.workerPids.includes(victim);
      });
      const after = await fx.router.health();
      assert.equal(after.workerRestarts, h.workerRestarts + 1);
      assert.equal(after.bootId, before.bootId, 'the same counters go on');
      assert.ok(!pidAlive(victim));
      const stats = await fx.router.stats();
      assert.equal(stats.bootId, before.bootId);
      assert.ok(requestsIn(stats, 'web') >= seen, `counts went backwards: ${requestsIn(stats, 'web')} < ${seen}`);
    }
    // Everything the live workers counted is there; only what a worker counted after the last read before its death could be lost.
    sent += (await untilBothWorkersServed(r.listen.port)).length;
    await waitFor('counted after the replacements', async () => requestsIn(await fx.router.stats(), 'web') === sent);
  } finally {
    await up.close();
    await fx.close();
  }
});

test('--workers must be a whole number from 1 to 16', () => {
  const main = fileURLToPath(new URL('../../src/router/main.js', import.meta.url));
  const stateDir = tempDir();
  try {
    for (const bad of ['0', '17', '1.5', 'two']) {
      const r = spawnSync(process.execPath, [main, '--state-dir', stateDir, '--workers', bad], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(r.status, 1);
      assert.match(
        r.stderr + r.stdout,
        new RegExp(`ROUTER_USAGE: --workers: expected a whole number from 1 to 16, got "${bad.replace('.', '\\.')}"`),
      );
    }
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
});
