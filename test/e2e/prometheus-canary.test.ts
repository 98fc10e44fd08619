/**
 * A canary judged by a real Prometheus scraping Slipway's router: the check's PromQL (with
 * {{release}} substituted) sees the canary's 5xx rate and the rollout is rolled back on it.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestProject } from '../support/project.js';
import { startLoad } from '../support/load.js';
import { startPrometheus, type PrometheusServer } from '../analysis/prometheus-server.js';

describe('canary analysis through a real Prometheus', () => {
  const p = new TestProject();
  let prometheus: PrometheusServer | undefined;
  const strategy = `    strategy:
      canary:
        steps: [ { weight: 50 }, { analysis: [prom] }, { pause: {} } ]`;
  const analysis = (url: string) => `analysis:
  prom:
    prometheus:
      url: ${url}
      query: 'sum(rate(slipway_router_requests_total{service="web",release="{{release}}",code="5xx"}[5s])) / sum(rate(slipway_router_requests_total{service="web",release="{{release}}"}[5s]))'
    max: 0.1
    interval: 2s
    count: 3
    inconclusiveLimit: 10`;

  before(async () => {
    await p.writeConfig({ env: { VERSION: 'v1' } });
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr);
    const router = JSON.parse(readFileSync(join(p.dir, '.slipway/router/router.json'), 'utf8')) as { adminPort: number };
    prometheus = await startPrometheus([`127.0.0.1:${router.adminPort}`]);
  });
  after(async () => {
    await prometheus?.stop();
    await p.cleanup();
  });

  it('rolls back a canary whose error ratio Prometheus reports above the limit', async () => {
    await p.writeConfig({ env: { VERSION: 'v2', FAIL_RATE: '0.5' }, extra: strategy, tail: analysis(prometheus!.url) });
    const load = startLoad(p.url);
    const result = await p.cli(['deploy', 'web', '--wait'], { timeoutMs: 120_000 });
    await load.stop();
    assert.equal(result.code, 1, `${result.stdout}\n${prometheus!.log()}`);
    assert.match(result.stderr, /rolled back \(AnalysisFailed\)/);
    assert.match(result.stderr, /analysis "prom" failed: .*0\.\d+.*0\.1/);
    const status = JSON.parse((await p.cli(['status', '--json'])).stdout) as { services: { currentRelease: number }[] };
    assert.equal(status.services[0]!.currentRelease, 1);
  });
});
