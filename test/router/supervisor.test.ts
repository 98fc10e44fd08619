/**
 * The router's process model (ADR 0006): the supervisor owns the listening sockets, the proxy
 * worker serves them. A SIGKILLed worker is replaced from routes.json while the kernel queues new
 * connections on the sockets the supervisor holds: nothing is refused, and only what was in flight
 * in the dead worker fails.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { pidAlive } from '../../src/core/process.js';
import type { SlipwayError } from '../../src/core/errors.js';
import { LocalRouter } from '../../src/router/local-router.js';
import { startLoad } from '../support/load.js';
import { probeOutage } from '../support/outage.js';
import { processesWithArg } from '../support/processes.js';
import { get, route, startRouter, startUpstream } from './helpers.js';
import { waitFor } from '../../src/core/wait-for.js';

test('a SIGKILLed proxy worker is replaced at once; under load nothing is refused and only requests in flight fail', async (t) => {
  const fx = await startRouter();
  const up = await startUpstream('steady');
  const concurrency = 8;
  try {
    const r = await fx.router.applyRoute(route('web', [{ release: 1, weight: 1, backends: [up.backend('w1')] }]));
    const before = await fx.router.health();
    assert.equal(before.pid, fx.router.pid, 'health names the supervisor');
    assert.notEqual(before.workerPid, before.pid, 'the worker is another process');

    // The supervisor, the workers (one per core by default, ADR 0014) and the standby worker that will take over.
    await waitFor('standby worker forked', () => processesWithArg(fx.stateDir).length === 2 + before.workerPids.length);
    const load = startLoad(`http://127.0.0.1:${r.listen.port}/`, { concurrency, maxMs: 60_000 });
    await waitFor('steady load', () => load.snapshot().ok > 300, 20_000);
    const atKill = load.snapshot();
    const inFlight = atKill.sent - atKill.ok - atKill.failed;
    const killedAt = performance.now();
    process.kill(before.workerPid, 'SIGKILL');
    // A fresh connection right after the kill is queued by the kernel and served by the replacement.
    const probe = await get(r.listen.port, '/probe');
    const servedAfterMs = performance.now() - killedAt;
    assert.equal(probe.status, 200);
    const okAtProbe = load.snapshot().ok;
    await waitFor('load served by the new worker', () => load.snapshot().ok > okAtProbe + 300, 20_000);
    const result = await load.stop();

    const after = await fx.router.health();
    assert.notEqual(after.workerPid, before.workerPid);
    assert.equal(after.pid, before.pid, 'the supervisor stayed');
    assert.equal(after.workerRestarts, 1);
    assert.match(after.lastProblem ?? '', new RegExp(`worker pid ${before.workerPid} exited \\(SIGKILL\\)`));
    assert.deepEqual(
      (await fx.router.routes()).map((x) => x.listen.port),
      [r.listen.port],
      'restored from routes.json',
    );
    assert.ok(!pidAlive(before.workerPid));

    const refused = result.failures.filter((f) => /ECONNREFUSED/.test(f));
    assert.deepEqual(refused, [], 'no connection refused');
    assert.ok(
      result.failed <= concurrency,
      `failed ${result.failed} > ${concurrency} connections (in flight at the kill: ${inFlight}): ${result.failures.join('; ')}`,
    );
    t.diagnostic(
      `worker kill under load: ${result.sent} sent, ${result.failed} failed (in flight at the kill: ${inFlight}, connections: ${concurrency}), 0 refused; a new connection was served ${servedAfterMs.toFixed(0)} ms after the kill`,
    );
  } finally {
    await up.close();
    await fx.close();
  }
});

test('a worker that keeps dying is restarted with a growing pause, and the sockets stay open throughout', async () => {
  const fx = await startRouter();
  const up = await startUpstream('again');
  try {
    const r = await fx.router.applyRoute(route('again', [{ release: 1, weight: 1, backends: [up.backend('a1')] }]));
    for (let i = 1; i <= 3; i++) {
      const h = await fx.router.health();
      process.kill(h.workerPid, 'SIGKILL');
      assert.equal((await get(r.listen.port)).body, 'again', `served after kill ${i}`);
    }
    const h = await fx.router.health();
    assert.equal(h.workerRestarts, 3);
  } finally {
    await up.close();
    await fx.close();
  }
});

test('a SIGKILLed supervisor leaves its worker serving until the next router takes the ports over: nothing refused', async (t) => {
  const fx = await startRouter();
  const held: import('node:http').ServerResponse[] = [];
  const up = await startUpstream('served', (req, res) => {
    if (req.url === '/hold') held.push(res);
    else res.end('served');
  });
  const concurrency = 4;
  try {
    const r = await fx.router.applyRoute(route('orphan', [{ release: 1, weight: 1, backends: [up.backend('o1')] }]));
    const h = await fx.router.health();
    const inflight = get(r.listen.port, '/hold');
    await waitFor('request in flight', () => held.length === 1);
    const load = startLoad(`http://127.0.0.1:${r.listen.port}/`, { concurrency, maxMs: 60_000 });
    await waitFor('steady load', () => load.snapshot().ok > 100, 20_000);
    process.kill(h.pid, 'SIGKILL');
    await waitFor('supervisor gone', () => !pidAlive(h.pid));
    assert.equal((await get(r.listen.port)).body, 'served', 'the orphaned workers still serve');
    assert.ok(h.workerPids.every(pidAlive));

    const probe = probeOutage(r.listen.port, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const next = new LocalRouter({ stateDir: fx.stateDir, args: ['--grace-ms', '3000'] });
    const how = await next.ensureRunning();
    assert.deepEqual([how.started, how.replaced], [true, h.pid]);
    const okAfter = load.snapshot().ok;
    await waitFor('load served by the new router', () => load.snapshot().ok > okAfter + 200, 20_000);
    const outage = await probe.stop();
    const after = await next.health();
    assert.ok(!after.workerPids.some((p) => h.workerPids.includes(p)));
    // The old worker that holds the request (either of them, with several: ADR 0014) finishes it.
    assert.ok(h.workerPids.some(pidAlive), 'the old worker still finishes its request in flight');
    held[0]!.end('finished');
    assert.equal((await inflight).body, 'finished');
    await waitFor('old workers exited', () => !h.workerPids.some(pidAlive));
    const result = await load.stop();
    // Between the old worker closing its sockets and the new one listening, a connection may be refused (ADR 0006).
    const others = result.failures.filter((f) => !/ECONNREFUSED/.test(f));
    assert.ok(others.length <= concurrency, `failed other than refused: ${others.join('; ')}`);
    t.diagnostic(
      `supervisor SIGKILL, the old worker serving until the next router took over: keep-alive load ${result.sent} sent, ${result.failed} failed (${result.failed - others.length} refused); fresh connections: longest outage ${outage.longestMs.toFixed(0)} ms, ${outage.refused} of ${outage.sent} refused`,
    );
  } finally {
    await up.close();
    await fx.close();
  }
});

test('a port held by another process is refused at once, naming the port and the process holding it', async () => {
  const fx = await startRouter();
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  const port = (squatter.address() as { port: number }).port;
  try {
    const err = await fx.router.applyRoute({ ...route('taken', []), listen: { host: '127.0.0.1', port } }).then(
      () => undefined,
      (e: SlipwayError) => e,
    );
    assert.ok(err);
    assert.equal(err.code, 'ROUTER_PORT_IN_USE');
    assert.match(err.message, new RegExp(`port ${port} is already in use by pid ${process.pid} \\(.*node`));
    assert.deepEqual(await fx.router.routes(), [], 'nothing installed');
    // The supervisor let go of the socket it bound for the failed attempt: once the squatter leaves, the port works.
    await new Promise<void>((resolve) => squatter.close(() => resolve()));
    const ok = await fx.router.applyRoute({ ...route('taken', []), listen: { host: '127.0.0.1', port } });
    assert.equal(ok.listen.port, port);
  } finally {
    squatter.close();
    await fx.close();
  }
});
