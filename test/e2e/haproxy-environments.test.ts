/**
 * `environments.E.loadBalancer`: one environment behind a HAProxy of its own, the other on the
 * built-in router, side by side in one project (real CLI, controller, HAProxy, router, instances).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestProject, get, freePort } from '../support/project.js';
import { writeTwoEnvironments } from '../support/environments.js';
import { startLoad } from '../support/load.js';
import { pidAlive } from '../../src/core/process.js';
import type { StatusResponse } from '../../src/api/types.js';

describe('an environment behind its own HAProxy beside one on the built-in router', () => {
  const p = new TestProject();
  let production = 0;
  const write = (prodVersion: string) =>
    writeTwoEnvironments(p, {
      production,
      web: { env: { VERSION: 'base' } },
      staging: { env: { VERSION: 'staging-v1' } },
      productionKeys: { loadBalancer: { haproxy: { healthPath: '/healthz', checkInterval: '200ms' } } },
      productionWeb: { instances: 2, env: { VERSION: prodVersion } },
    });
  before(async () => {
    p.port = await freePort();
    production = await freePort();
    write('prod-v1');
  });
  after(() => p.cleanup());

  it('serves production through HAProxy and staging through the router, and rolls production with zero failed requests', async () => {
    assert.equal((await p.cli(['up'])).code, 0);
    const prod = await p.cli(['up', '--env', 'production']);
    assert.equal(prod.code, 0, prod.stderr + prod.stdout);
    assert.match((await get(`http://127.0.0.1:${p.port}/`)).body, /^staging-v1 release=1 /);
    assert.match((await get(`http://127.0.0.1:${production}/`)).body, /^prod-v1 release=1 /);

    const cfg = readFileSync(join(p.dir, '.slipway/haproxy-production/haproxy.cfg'), 'utf8');
    assert.match(cfg, new RegExp(`frontend fe_web\\.production\\n  bind 127\\.0\\.0\\.1:${production}\\n`));
    assert.doesNotMatch(cfg, new RegExp(`:${p.port}\\n`), 'staging is not behind HAProxy');
    const routes = JSON.parse(readFileSync(join(p.dir, '.slipway/router/routes.json'), 'utf8')) as { routes: { service: string }[] };
    assert.deepEqual(
      routes.routes.map((r) => r.service),
      ['web.staging'],
      'production is not on the built-in router',
    );

    write('prod-v2');
    const load = startLoad(`http://127.0.0.1:${production}/`);
    const deploy = await p.cli(['deploy', 'web', '--wait', '--env', 'production']);
    const totals = await load.stop();
    assert.equal(deploy.code, 0, deploy.stderr);
    assert.deepEqual(totals.failures, []);
    assert.ok((totals.bodies.get('prod-v2 release=2') ?? 0) > 0);
    const s = JSON.parse((await p.cli(['status', '--json', '--env', 'production'])).stdout) as StatusResponse;
    assert.equal(s.router.up, true);
    assert.deepEqual(s.router.routeProblems, []);
  });

  it('slipway down stops both the router and the HAProxy', async () => {
    const pid = (JSON.parse(readFileSync(join(p.dir, '.slipway/haproxy-production/haproxy.json'), 'utf8')) as { pid: number }).pid;
    assert.ok(pidAlive(pid));
    const down = await p.cli(['down'], { timeoutMs: 60_000 });
    assert.equal(down.code, 0, down.stderr);
    assert.ok(!pidAlive(pid), 'HAProxy stopped');
    assert.ok(!existsSync(join(p.dir, '.slipway/router/router.json')), 'router stopped');
  });
});
