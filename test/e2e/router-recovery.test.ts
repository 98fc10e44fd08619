/**
 * The router heals (ADR 0006), seen from the controller: a SIGKILLed router is started again by
 * the controller's loop, `slipway up` repairs one that died with the controller, and a deploy
 * whose port another process holds fails at once naming that process.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { TestProject, get, freePort } from '../support/project.js';
import { startLoad } from '../support/load.js';
import { waitFor } from '../../src/core/wait-for.js';
import { pidAlive } from '../../src/core/process.js';
import type { StatusResponse } from '../../src/api/types.js';
import { ControllerClient } from '../../src/client/client.js';

function routerPid(p: TestProject): number {
  return (JSON.parse(readFileSync(join(p.dir, '.slipway/router/router.json'), 'utf8')) as { pid: number }).pid;
}

function controllerPid(p: TestProject): number {
  return (JSON.parse(readFileSync(join(p.dir, '.slipway/controller.json'), 'utf8')) as { pid: number }).pid;
}

async function status(p: TestProject): Promise<StatusResponse> {
  const r = await p.cli(['status', '--json']);
  return JSON.parse(r.stdout) as StatusResponse;
}

/** One fresh connection per request, back to back: the longest span without an answer is the outage. */
function probeOutage(port: number, maxMs: number): { stop(): Promise<{ longestMs: number; failed: number; refused: number; sent: number }> } {
  let stopped = false;
  let longestMs = 0;
  let failed = 0;
  let refused = 0;
  let sent = 0;
  const deadline = Date.now() + maxMs;
  const one = () => new Promise<boolean>((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 5000 }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode === 200)); });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => { if (err.code === 'ECONNREFUSED') refused++; resolve(false); });
    req.end();
  });
  const loop = (async () => {
    let lastOk = performance.now();
    while (!stopped && Date.now() < deadline) {
      sent++;
      if (await one()) {
        longestMs = Math.max(longestMs, performance.now() - lastOk);
        lastOk = performance.now();
      } else {
        failed++;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  })();
  return { stop: async () => { stopped = true; await loop; return { longestMs, failed, refused, sent }; } };
}

describe('router recovery (real processes)', () => {
  const p = new TestProject();
  before(async () => {
    await p.writeConfig({ env: { VERSION: 'v1' } });
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr);
  });
  after(() => p.cleanup());

  it('status shows the router: supervisor pid, worker pid, no restarts', async () => {
    const s = await status(p);
    assert.equal(s.router.up, true);
    assert.equal(s.router.pid, routerPid(p));
    assert.ok(s.router.workerPid !== null && s.router.workerPid !== s.router.pid);
    assert.equal(s.router.restarts, 0);
    const text = await p.cli(['status']);
    assert.match(text.stdout, new RegExp(`router pid ${s.router.pid} \\(worker ${s.router.workerPid}\\)`));
  });

  it('a SIGKILLed router is started again by the controller and serves its routes', async (t) => {
    const old = routerPid(p);
    const load = startLoad(p.url, { concurrency: 4, maxMs: 60_000 });
    await waitFor('steady load', () => load.snapshot().ok > 100);
    const probe = probeOutage(p.port, 60_000);
    await new Promise((r) => setTimeout(r, 100));
    const killedAt = performance.now();
    process.kill(old, 'SIGKILL');
    // Polled over the API, not by spawning CLIs: those would compete for the CPU with the restart being measured.
    const client = ControllerClient.connect(p.dir);
    const s = await waitFor('the controller to start the router again', async () => {
      const st = await client.status().catch(() => undefined);
      return st && st.router.up && st.router.pid !== old ? st : undefined;
    }, 15_000, 10);
    const restartedMs = performance.now() - killedAt;
    await waitFor('traffic again', () => get(p.url).then((r) => r.status === 200, () => false));
    const outage = await probe.stop();
    const result = await load.stop();
    assert.equal(s.router.restarts, 1);
    assert.match(s.router.lastProblem ?? '', new RegExp(`the router \\(pid ${old}\\) was gone; started it again \\(pid ${s.router.pid}, serving \\d+ ms later\\)`));
    assert.ok(!pidAlive(old));
    const log = readFileSync(join(p.dir, '.slipway/controller.log'), 'utf8');
    assert.doesNotMatch(log, /\n\s+at /, 'no stack trace in the controller log');
    const said = /serving (\d+) ms later/.exec(s.router.lastProblem ?? '')?.[1];
    t.diagnostic(`router SIGKILL: status showed the new router ${restartedMs.toFixed(0)} ms after the kill (the restart itself took ${said} ms); longest outage seen by back-to-back fresh connections ${outage.longestMs.toFixed(0)} ms (${outage.failed} of ${outage.sent} probes failed, ${outage.refused} refused); keep-alive load: ${result.failed} of ${result.sent} failed`);
  });

  it('slipway up repairs a router that died with the controller, and says so', async () => {
    const oldRouter = routerPid(p);
    process.kill(controllerPid(p), 'SIGKILL');
    process.kill(oldRouter, 'SIGKILL');
    await waitFor('both gone', () => !pidAlive(oldRouter));
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, new RegExp(`repaired: the router \\(pid ${oldRouter}\\) found dead when the controller started; started it again \\(pid \\d+\\)`));
    assert.equal((await get(p.url)).status, 200);
  });

  it('a deploy whose new port another process holds fails at once, naming the port and the process; the old release keeps serving', async (t) => {
    const oldPort = p.port;
    const taken = await freePort();
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(taken, '127.0.0.1', resolve));
    try {
      p.port = taken;
      await p.writeConfig({ env: { VERSION: 'v2' } });
      p.port = oldPort;
      const began = Date.now();
      const deploy = await p.cli(['deploy', 'web']);
      assert.equal(deploy.code, 0, deploy.stderr);
      const web = await waitFor('the rollout to end', async () => {
        const w = (await status(p)).services[0]!;
        return w.rollout?.toRelease === 2 && w.rollout.finishedAt !== null ? w : undefined;
      }, 60_000);
      const tookMs = Date.now() - began;
      assert.equal(web.rollout!.phase, 'Failed');
      assert.equal(web.rollout!.reason, 'RouteRejected');
      assert.match(web.rollout!.message, new RegExp(`port ${taken} is already in use by pid ${process.pid} \\(`));
      assert.ok(tookMs < 60_000, `failed at once, not at the 5 min deadline (${tookMs} ms)`);
      assert.equal(web.currentRelease, 1);
      assert.match((await get(p.url)).body, /^v1 /);
      const log = readFileSync(join(p.dir, '.slipway/controller.log'), 'utf8');
      const lines = log.split('\n').filter((l) => l.includes('ROUTER_PORT_IN_USE'));
      assert.ok(lines.length <= 3, `logged once per distinct error, not every tick:\n${lines.join('\n')}`);
      t.diagnostic(`deploy to a held port: failed (RouteRejected) ${tookMs} ms after \`slipway deploy\` began: ${web.rollout!.message.split('\n')[0]}`);
    } finally {
      squatter.close();
      p.port = oldPort;
      await p.writeConfig({ env: { VERSION: 'v1' } });
    }
  });
});
