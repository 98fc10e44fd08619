/**
 * HAProxy in front of local instances, driven by Slipway (ADR 0021), end to end with the real CLI,
 * controller, HAProxy and instances, under steady loopback load: a rolling update, a canary rolled
 * back by analysis on HAProxy's counters, a blue-green switch, a reload when a service is added,
 * the read-back check catching a change made behind Slipway, and HAProxy killed and restarted.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestProject, freePort, get } from '../support/project.js';
import { startLoad } from '../support/load.js';
import { waitFor } from '../../src/core/wait-for.js';
import { pidAlive } from '../../src/core/process.js';
import { ControllerClient } from '../../src/client/client.js';
import { RuntimeApi } from '../../src/loadbalancer/haproxy/runtime-api.js';
import type { ServiceStatus } from '../../src/api/types.js';

const LB = `loadBalancer:
  haproxy: { healthPath: /healthz, checkInterval: 200ms }`;

const CANARY = `    strategy:
      canary:
        steps:
          - weight: 30
          - analysis: [errors]
          - weight: 60
        analysis: [guard]`;

const ANALYSIS = `analysis:
  guard: { metric: error_rate, max: 0.05, interval: 1s, minRequests: 20 }
  errors: { metric: error_rate, max: 0.01, interval: 1s, minRequests: 20, count: 2, inconclusiveLimit: 2 }`;

function haproxyPid(p: TestProject): number {
  return (JSON.parse(readFileSync(join(p.dir, '.slipway/haproxy/haproxy.json'), 'utf8')) as { pid: number }).pid;
}

describe('HAProxy as the load balancer (real HAProxy, instances and traffic)', () => {
  const p = new TestProject();
  let client: ControllerClient;
  const web = async (): Promise<ServiceStatus> => (await client.status()).services.find((s) => s.service === 'web')!;

  before(async () => {
    await p.writeConfig({ env: { VERSION: 'v1' }, tail: LB });
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    client = ControllerClient.connect(p.dir);
  });
  after(() => p.cleanup());

  it('serves the first release through a HAProxy that Slipway started, and status shows it', async () => {
    assert.match((await get(p.url)).body, /^v1 release=1 /);
    const pid = haproxyPid(p);
    assert.ok(pidAlive(pid));
    assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /haproxy/);
    const s = await p.status();
    assert.equal(s.router.up, true);
    assert.equal(s.router.pid, pid);
    assert.deepEqual(s.router.routeProblems, []);
    const cfg = readFileSync(join(p.dir, '.slipway/haproxy/haproxy.cfg'), 'utf8');
    assert.match(cfg, new RegExp(`bind 127\\.0\\.0\\.1:${p.port}`));
  });

  it('rolls a new release out through HAProxy with zero failed requests, without reloading it', async () => {
    const pid = haproxyPid(p);
    await p.writeConfig({ env: { VERSION: 'v2' }, tail: LB });
    const load = startLoad(p.url);
    const deploy = await p.cli(['deploy', 'web', '--wait']);
    const result = await load.stop();
    assert.equal(deploy.code, 0, deploy.stderr);
    assert.deepEqual(result.failures, []);
    assert.ok(result.ok > 50, `only ${result.ok} requests succeeded`);
    assert.ok((result.bodies.get('v2 release=2') ?? 0) > 0);
    assert.match((await get(p.url)).body, /^v2 release=2 /);
    assert.equal(haproxyPid(p), pid, 'weights and servers changed over the Runtime API, no reload');
    const api = new RuntimeApi(join(p.dir, '.slipway/haproxy/admin.sock'));
    const servers = await api.serverStates('be_web');
    assert.deepEqual(
      servers.map((s) => s.name.split('-')[0]),
      ['r2', 'r2'],
      'the old release’s servers were drained and deleted',
    );
  });

  it('rolls a canary that answers 500 back on analysis of HAProxy’s counters; no failure but the canary’s own', async () => {
    await p.writeConfig({ env: { VERSION: 'v3', FAIL_RATE: '1' }, extra: CANARY, tail: `${ANALYSIS}\n${LB}` });
    const load = startLoad(p.url);
    const result = await p.cli(['deploy', 'web', '--wait'], { timeoutMs: 120_000 });
    const totals = await load.stop();
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stderr, /rolled back \(AnalysisFailed\)/);
    assert.match(result.stderr, /analysis "guard" failed: hard failure: \d+ errors in \d+ requests/);
    assert.ok(totals.failed > 0, 'the canary got traffic');
    assert.ok(
      totals.failures.every((f) => f.startsWith('HTTP 500: v3 failed')),
      `failures not from the canary: ${totals.failures.join('; ')}`,
    );
    const s = await web();
    assert.equal(s.currentRelease, 2);
    assert.deepEqual(
      s.traffic.filter((t) => t.share > 0).map((t) => t.release),
      [2],
    );
    assert.match((await get(p.url)).body, /^v2 release=2 /);
  });

  it('switches blue to green at once with zero failed requests', async () => {
    const preview = await freePort();
    const strategy = `    strategy:\n      blueGreen: { previewPort: ${preview}, autoPromote: true, scaleDownDelay: 0s }`;
    await p.writeConfig({ env: { VERSION: 'v4' }, extra: strategy, tail: LB });
    const load = startLoad(p.url);
    const deploy = await p.cli(['deploy', 'web', '--wait'], { timeoutMs: 120_000 });
    const totals = await load.stop();
    assert.equal(deploy.code, 0, deploy.stderr);
    assert.deepEqual(totals.failures, []);
    assert.ok((totals.bodies.get('v4 release=4') ?? 0) > 0, `bodies: ${JSON.stringify([...totals.bodies])}`);
    const after = startLoad(p.url, { maxRequests: 100 });
    await waitFor('100 requests', () => after.snapshot().sent >= 100);
    const res = await after.stop();
    assert.deepEqual([...res.bodies.keys()], ['v4 release=4'], 'every request after the switch reaches green');
  });

  it('reloads HAProxy without a failed request when a service is added', async () => {
    const before = haproxyPid(p);
    const apiPort = await freePort();
    const api = `  api:
    source: ./app
    start: node server.js
    port: ${apiPort}
    env: { VERSION: api1 }
    health: { path: /healthz, interval: 200ms, timeout: 1s }`;
    await p.writeConfig({ env: { VERSION: 'v4' }, extra: api, tail: LB });
    const load = startLoad(p.url);
    await waitFor('steady load', () => load.snapshot().ok > 50);
    const up = await p.cli(['up']);
    await waitFor('more load after the reload', () => load.snapshot().ok > 150);
    const totals = await load.stop();
    assert.equal(up.code, 0, up.stderr);
    assert.match((await get(`http://127.0.0.1:${apiPort}/`)).body, /^api1 release=1 /);
    assert.notEqual(haproxyPid(p), before, 'a new listener needs a new HAProxy process (-sf, -x)');
    await waitFor('the old HAProxy to finish and exit', () => !pidAlive(before));
    assert.deepEqual(totals.failures, []);
  });

  it('reads back HAProxy’s state: a server changed behind Slipway shows up in status', async () => {
    const sock = new RuntimeApi(join(p.dir, '.slipway/haproxy/admin.sock'));
    // Slipway sets every server of a route again whenever it changes the route (an instance's health
    // flapping on a loaded machine): a change behind its back shows only if no route change came
    // between. A try is discounted only when the controller's events say it did change web's route.
    for (let attempt = 1; ; attempt++) {
      const cursor = (await client.eventsAfter()).at(-1)?.id ?? 0;
      const [server] = await sock.serverStates('be_web');
      await sock.setWeight('be_web', server!.name, 0);
      const s = await p.status();
      const between = (await client.eventsAfter({ after: cursor })).map((e) => `${e.service} ${e.type}: ${e.message}`);
      const routeChanged = between.some((e) => e.startsWith('web traffic.shifted') || e.startsWith('web instance.'));
      if (s.router.up && routeChanged && attempt < 3) continue;
      assert.equal(s.router.up, false, `status: ${JSON.stringify(s.router)}; events meanwhile: ${between.join('; ') || 'none'}`);
      assert.equal(s.router.routeProblems.length, 1, JSON.stringify(s.router));
      assert.match(s.router.routeProblems[0]!, new RegExp(`be_web/${server!.name} has weight 0, expected \\d+`));
      break;
    }
    // The next change sets HAProxy from the desired state again.
    await p.writeConfig({ env: { VERSION: 'v5' }, tail: LB });
    const deploy = await p.cli(['deploy', 'web', '--wait']);
    assert.equal(deploy.code, 0, deploy.stderr);
    assert.deepEqual((await p.status()).router.routeProblems, []);
  });

  it('a SIGKILLed HAProxy is noticed and started again by the controller, serving its routes', async () => {
    const old = haproxyPid(p);
    process.kill(old, 'SIGKILL');
    const s = await waitFor(
      'the controller to start HAProxy again',
      async () => {
        const st = await client.status().catch(() => undefined);
        return st && st.router.up && st.router.pid !== old ? st : undefined;
      },
      15_000,
    );
    assert.equal(s.router.restarts, 1);
    assert.match(s.router.lastProblem ?? '', new RegExp(`\\(pid ${old}\\) was gone; started it again`));
    await waitFor('traffic again', () =>
      get(p.url).then(
        (r) => r.status === 200 && r.body.startsWith('v5 release='),
        () => false,
      ),
    );
    const load = startLoad(p.url, { maxRequests: 200 });
    await waitFor('200 requests', () => load.snapshot().sent >= 200);
    assert.deepEqual((await load.stop()).failures, []);
  });
});
