/**
 * The router heals (ADR 0006), seen from the controller: a SIGKILLed router is started again by
 * the controller's loop, `slipway up` repairs one that died with the controller, and a deploy
 * whose port another process holds fails at once naming that process.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { TestProject, get, freePort } from '../support/project.js';
import { startLoad } from '../support/load.js';
import { probeOutage } from '../support/outage.js';
import { waitFor } from '../../src/core/wait-for.js';
import { pidAlive } from '../../src/core/process.js';
import { ControllerClient } from '../../src/client/client.js';

function routerPid(p: TestProject): number {
  return (JSON.parse(readFileSync(join(p.dir, '.slipway/router/router.json'), 'utf8')) as { pid: number }).pid;
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
    const s = await p.status();
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
    const s = await waitFor(
      'the controller to start the router again',
      async () => {
        const st = await client.status().catch(() => undefined);
        return st && st.router.up && st.router.pid !== old ? st : undefined;
      },
      15_000,
      10,
    );
    const restartedMs = performance.now() - killedAt;
    await waitFor('traffic again', () =>
      get(p.url).then(
        (r) => r.status === 200,
        () => false,
      ),
    );
    const outage = await probe.stop();
    const result = await load.stop();
    assert.equal(s.router.restarts, 1);
    assert.match(
      s.router.lastProblem ?? '',
      new RegExp(`the router \\(pid ${old}\\) was gone; started it again \\(pid ${s.router.pid}, serving \\d+ ms later\\)`),
    );
    assert.ok(!pidAlive(old));
    const log = readFileSync(join(p.dir, '.slipway/controller.log'), 'utf8');
    assert.doesNotMatch(log, /\n\s+at /, 'no stack trace in the controller log');
    const said = /serving (\d+) ms later/.exec(s.router.lastProblem ?? '')?.[1];
    t.diagnostic(
      `router SIGKILL: status showed the new router ${restartedMs.toFixed(0)} ms after the kill (the restart itself took ${said} ms); longest outage seen by back-to-back fresh connections ${outage.longestMs.toFixed(0)} ms (${outage.failed} of ${outage.sent} probes failed, ${outage.refused} refused); keep-alive load: ${result.failed} of ${result.sent} failed`,
    );
  });

  it('slipway up repairs a router that died with the controller, and says so', async () => {
    const oldRouter = routerPid(p);
    process.kill(p.controllerPid(), 'SIGKILL');
    process.kill(oldRouter, 'SIGKILL');
    await waitFor('both gone', () => !pidAlive(oldRouter));
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr);
    assert.match(
      up.stdout,
      new RegExp(`repaired: the router \\(pid ${oldRouter}\\) found dead when the controller started; started it again \\(pid \\d+\\)`),
    );
    assert.equal((await get(p.url)).status, 200);
  });

  it('while the router cannot be started, a deploy fails at once with why; once it can, the controller brings it back', async () => {
    const routes = join(p.dir, '.slipway/router/routes.json');
    const saved = readFileSync(routes, 'utf8');
    const old = routerPid(p);
    writeFileSync(routes, '{ not json');
    process.kill(old, 'SIGKILL');
    const client = ControllerClient.connect(p.dir);
    const down = await waitFor(
      'status to show the router down',
      async () => {
        const st = await client.status();
        return !st.router.up && /ROUTER_START_FAILED/.test(st.router.lastProblem ?? '') ? st : undefined;
      },
      30_000,
    );
    assert.equal(down.router.pid, null);
    assert.match((await p.cli(['status'])).stdout, /router DOWN/);
    const began = Date.now();
    const deploy = await p.cli(['deploy', 'web']);
    assert.notEqual(deploy.code, 0);
    assert.match(deploy.stdout + deploy.stderr, /ROUTER_START_FAILED|router did not start/);
    assert.match(deploy.stdout + deploy.stderr, /ROUTER_STATE_CORRUPT/, 'the router log tail says why');
    assert.ok(Date.now() - began < 30_000, 'at once, not at the progress deadline');
    writeFileSync(routes, saved);
    await waitFor('the router back', async () => (await client.status()).router.up, 60_000);
    await waitFor('traffic again', () =>
      get(p.url).then(
        (r) => r.status === 200,
        () => false,
      ),
    );
    const log = readFileSync(join(p.dir, '.slipway/controller.log'), 'utf8');
    const lines = log.split('\n').filter((l) => l.includes('router: ROUTER_START_FAILED'));
    assert.equal(lines.length, 1, `one line per distinct error:\n${lines.join('\n')}`);
    assert.match(log, /router: recovered after \d+ failure\(s\)/);
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
      const web = await waitFor(
        'the rollout to end',
        async () => {
          const w = (await p.status()).services[0]!;
          return w.rollout?.toRelease === 2 && w.rollout.finishedAt !== null ? w : undefined;
        },
        60_000,
      );
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
      t.diagnostic(
        `deploy to a held port: failed (RouteRejected) ${tookMs} ms after \`slipway deploy\` began: ${web.rollout!.message.split('\n')[0]}`,
      );
    } finally {
      squatter.close();
      p.port = oldPort;
      await p.writeConfig({ env: { VERSION: 'v1' } });
    }
  });
});
