/**
 * dependsOn end to end: `slipway up` deploys a service only after the services it depends on are
 * healthy; a dependency that fails stops its dependents (reported as skipped, not deployed); a
 * cycle is a config error with its position.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestProject, freePort } from '../support/project.js';
import type { HistoryResponse } from '../../src/api/types.js';

const HEALTH = 'health: { path: /healthz, interval: 200ms, timeout: 1s, healthyAfter: 1, unhealthyAfter: 2 }';

async function write(p: TestProject, o: { apiEnv: string; webDeps?: string; apiDeps?: string }): Promise<void> {
  if (p.port === 0) p.port = await freePort();
  const api = await freePort();
  writeFileSync(
    join(p.dir, 'slipway.yaml'),
    `app: test
services:
  web:
    source: ./app
    start: node server.js
    port: ${p.port}
    env: { VERSION: web }
    ${HEALTH}
    stopTimeout: 5s
    dependsOn: ${o.webDeps ?? '[api]'}
  api:
    source: ./app
    start: node server.js
    port: ${api}
    env: ${o.apiEnv}
    ${HEALTH}
    stopTimeout: 5s
    progressDeadline: 20s
${o.apiDeps ? `    dependsOn: ${o.apiDeps}\n` : ''}`,
  );
}

async function history(p: TestProject, service: string): Promise<HistoryResponse> {
  const r = await p.cli(['history', service, '--json']);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as HistoryResponse;
}

describe('dependsOn (real processes)', () => {
  const ok = new TestProject();
  const failing = new TestProject();
  after(async () => {
    await ok.cleanup();
    await failing.cleanup();
  });

  it('up deploys a dependent only after its dependency is healthy, though it comes first in the file', async () => {
    await write(ok, { apiEnv: '{ VERSION: api }' });
    const up = await ok.cli(['up']);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    const api = (await history(ok, 'api')).rollouts[0]!;
    const web = (await history(ok, 'web')).rollouts[0]!;
    assert.equal(api.phase, 'Healthy');
    assert.equal(web.phase, 'Healthy');
    assert.ok(
      api.finishedAt !== null && web.startedAt >= api.finishedAt,
      `web started ${web.startedAt}, api became healthy ${api.finishedAt}`,
    );

    // Deploying several at once follows the same order, whatever order they are named in.
    const both = await ok.cli(['deploy', 'web', 'api', '--wait']);
    assert.equal(both.code, 0, both.stderr + both.stdout);
    const api2 = (await history(ok, 'api')).rollouts[0]!;
    const web2 = (await history(ok, 'web')).rollouts[0]!;
    assert.deepEqual([api2.toRelease, web2.toRelease], [2, 2]);
    assert.ok(
      api2.finishedAt !== null && web2.startedAt >= api2.finishedAt,
      `web started ${web2.startedAt}, api became healthy ${api2.finishedAt}`,
    );
  });

  it('a dependency that fails stops its dependents: skipped, not deployed, and up exits 1', async () => {
    await write(failing, { apiEnv: '{ CRASH: "1" }' });
    const up = await failing.cli(['up']);
    assert.equal(up.code, 1, up.stderr + up.stdout);
    assert.match(up.stdout, /web: skipped, not deployed: dependency api failed \(rollout #\d+ ended Failed/);
    const web = await failing.cli(['history', 'web', '--json']);
    const releases = web.code === 0 ? (JSON.parse(web.stdout) as HistoryResponse).releases : [];
    assert.deepEqual(releases, [], 'web has no release');
    const json = await failing.cli(['up', '--json']);
    const body = JSON.parse(json.stdout) as { skipped: { service: string; reason: string }[] };
    assert.deepEqual(
      body.skipped.map((s) => s.service),
      ['web'],
    );
    const several = await failing.cli(['deploy', 'web', 'api']);
    assert.equal(several.code, 1, several.stderr + several.stdout);
    assert.match(several.stdout, /web: skipped, not deployed: dependency api failed/);
  });

  it('a cycle is a config error with its position', async () => {
    const p = new TestProject();
    try {
      await write(p, { apiEnv: '{ VERSION: api }', apiDeps: '[web]' });
      const r = await p.cli(['validate']);
      assert.equal(r.code, 2, r.stderr + r.stdout);
      assert.match(r.stderr, /slipway\.yaml:\d+:\d+/);
      assert.match(r.stderr, /dependency cycle: (web → api → web|api → web → api)/);
    } finally {
      await p.cleanup();
    }
  });
});
