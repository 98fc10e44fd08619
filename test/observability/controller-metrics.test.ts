/**
 * The controller's `/metrics`: what `status` points at, behind the API token, valid for
 * `promtool check metrics`, and scraped by a real Prometheus (with the token as its credentials)
 * after a real deploy and real traffic through the router.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestProject, get } from '../support/project.js';
import { startPrometheus, type PrometheusServer } from '../analysis/prometheus-server.js';
import { waitFor } from '../../src/core/wait-for.js';
import type { StatusResponse } from '../../src/api/types.js';

describe('controller metrics (real controller, router, promtool and Prometheus)', () => {
  const p = new TestProject();
  let prometheus: PrometheusServer | undefined;
  before(async () => {
    await p.writeConfig({ instances: 2 });
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr);
  });
  after(async () => {
    await prometheus?.stop();
    await p.cleanup();
  });

  it('serves rollout, instance and router families that promtool accepts and Prometheus scrapes', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await get(`http://127.0.0.1:${p.port}/`)).status, 200);
    const status = JSON.parse((await p.cli(['status', '--json'])).stdout) as StatusResponse;
    const url = status.controller.metrics!;
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    assert.match((await p.cli(['status'])).stdout, new RegExp(`metrics ${url.replace(/[.]/g, '\\.')}`));
    const { token } = p.controllerInfo();

    assert.equal((await fetch(url)).status, 401, 'no token, no metrics');
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(lint.status, 0, `promtool check metrics:\n${lint.stdout}${lint.stderr}`);
    assert.match(text, /^slipway_rollout_duration_seconds_count\{environment="local",service="web",kind="deploy",outcome="Healthy"\} 1$/m);
    assert.match(text, /^slipway_rollout_phase_transitions_total\{environment="local",service="web",kind="deploy",phase="Healthy"\} 1$/m);
    assert.match(text, /^slipway_instances\{environment="local",service="web",release="1",state="running"\} 2$/m);
    assert.match(text, /^slipway_instance_restarts\{environment="local",service="web",release="1",instance="[^"]+"\} 0$/m);
    const served = /^slipway_router_requests_total\{service="web",release="1",code="2xx"\} (\d+)$/m.exec(text);
    assert.ok(served && Number(served[1]) >= 5, `router requests in the scrape:\n${text}`);

    const credentials = join(p.dir, 'prometheus-token');
    writeFileSync(credentials, token, { mode: 0o600 });
    prometheus = await startPrometheus([new URL(url).host], 60_000, { credentialsFile: credentials });
    await waitFor(
      'Prometheus to scrape the controller',
      async () => {
        const q = await fetch(
          `${prometheus!.url}/api/v1/query?query=${encodeURIComponent('slipway_instances{service="web",state="running"}')}`,
        );
        const body = (await q.json()) as { data?: { result?: { value: [number, string] }[] } };
        return body.data?.result?.[0]?.value[1] === '2';
      },
      30_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${prometheus!.log()}`);
    });
  });
});
