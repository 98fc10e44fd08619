/**
 * `slipway plan` end to end with the real CLI and controller: what a deploy would change per
 * service, as text and JSON, with Terraform's detailed exit codes (0 no changes, 2 changes,
 * 1 error), and nothing recorded, stored or started by planning.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TestProject, freePort } from '../support/project.js';
import type { HistoryResponse, PlanResponse, StatusResponse } from '../../src/api/types.js';

describe('slipway plan (real CLI and controller)', () => {
  const p = new TestProject();
  let apiPort = 0;
  // A Wednesday noon (UTC): the weekend freeze is ahead, closing Saturday 00:00.
  const env = { SLIPWAY_TEST_NOW: '2026-06-10T12:00:00Z' };
  const write = (version: string, instances: number) =>
    p.writeConfig({
      env: { VERSION: version },
      instances,
      extra: `  api:\n    source: ./app\n    start: node server.js\n    port: ${apiPort}\n    env: { VERSION: "api" }\n    health: { path: /healthz, interval: 200ms, timeout: 1s, healthyAfter: 1 }`,
      tail: 'environments:\n  local:\n    windows: { deny: ["Sat,Sun 00:00-24:00"], timezone: UTC }',
    });
  const plan = async (...args: string[]) => {
    const r = await p.cli(['plan', ...args, '--json', '--detailed-exitcode'], { env });
    return { code: r.code, plan: JSON.parse(r.stdout) as PlanResponse, stderr: r.stderr };
  };

  before(async () => {
    apiPort = await freePort();
    await write('v1', 1);
  });
  after(() => p.cleanup());

  it('before any deploy: every service to create (exit 2), digests computed as deploy does, and nothing recorded, stored or started', async () => {
    const { code, plan: res, stderr } = await plan();
    assert.equal(code, 2, stderr);
    assert.deepEqual([res.app, res.environment, res.changes, res.order], ['test', 'local', 2, ['web', 'api']]);
    const web = res.services.find((s) => s.service === 'web')!;
    assert.deepEqual([web.action, web.currentRelease, web.artifact.serving, web.artifact.changed], ['create', null, null, true]);
    assert.match(web.artifact.digest, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(web.instances, { from: null, to: 1 });
    assert.deepEqual(web.strategy, { from: null, to: 'rolling', summary: 'rolling (maxSurge 1, maxUnavailable 0)' });
    assert.deepEqual(web.dependsOn, []);
    assert.deepEqual(web.gates, [
      {
        kind: 'window',
        open: true,
        message: 'deployment window open; closes Sat 2026-06-13 00:00 UTC (2026-06-13T00:00:00Z)',
        timezone: 'UTC',
        deniedBy: null,
        nextAllowed: web.gates[0]!.kind === 'window' ? web.gates[0]!.nextAllowed : null,
        nextAllowedLocal: web.gates[0]!.kind === 'window' ? web.gates[0]!.nextAllowedLocal : null,
        closesAt: '2026-06-13T00:00:00.000Z',
      },
    ]);
    // Nothing kept: no release, no artifact, no instance.
    const history = JSON.parse((await p.cli(['history', 'web', '--json'])).stdout) as HistoryResponse;
    assert.deepEqual(history.releases, []);
    assert.ok(!existsSync(join(p.dir, '.slipway/artifacts/sha256', `${web.artifact.digest.slice(7)}.tar.gz`)), 'artifact not stored');
    const status = JSON.parse((await p.cli(['status', '--json'])).stdout) as StatusResponse;
    assert.deepEqual(
      status.services.flatMap((s) => s.instances),
      [],
    );

    // The digest is the one deploy then builds.
    const up = await p.cli(['up'], { timeoutMs: 60_000 });
    assert.equal(up.code, 0, up.stderr + up.stdout);
    const after = JSON.parse((await p.cli(['history', 'web', '--json'])).stdout) as HistoryResponse;
    assert.equal(after.releases[0]?.digest, web.artifact.digest);
  });

  it('after up: no changes (exit 0), in text too', async () => {
    const { code, plan: res } = await plan();
    assert.equal(code, 0);
    assert.equal(res.changes, 0);
    assert.deepEqual(
      res.services.map((s) => [s.service, s.action, s.currentRelease, s.config]),
      [
        ['web', 'none', 1, []],
        ['api', 'none', 1, []],
      ],
    );
    const text = await p.cli(['plan'], { env });
    assert.equal(text.code, 0, 'without --detailed-exitcode plan exits 0');
    assert.match(text.stdout, /web: no changes \(release 1 serves what slipway.yaml and the source describe\)/);
    assert.match(text.stdout, /Plan: 0 to create, 0 to update, 2 unchanged\. Deploy order: web, api\./);
  });

  it('a changed slipway.yaml: the per-key diff, instance counts and which service changes (exit 2)', async () => {
    await write('v2', 2);
    const { code, plan: res } = await plan();
    assert.equal(code, 2);
    assert.equal(res.changes, 1);
    const web = res.services.find((s) => s.service === 'web')!;
    assert.equal(web.action, 'update');
    assert.equal(web.artifact.changed, false, 'same source, same digest');
    assert.equal(web.artifact.how, 'known');
    assert.deepEqual(web.config, [
      { key: 'env.VERSION', from: '"v1"', to: '"v2"' },
      { key: 'instances', from: '1', to: '2' },
    ]);
    assert.deepEqual(web.instances, { from: 1, to: 2 });
    assert.equal(res.services.find((s) => s.service === 'api')!.action, 'none');
    const text = await p.cli(['plan', 'web'], { env });
    assert.match(
      text.stdout,
      /web: update release 1 → a new release\n {2}artifact: unchanged \(sha256:[0-9a-f]{12}\)\n {2}config:\n {4}~ env\.VERSION: "v1" → "v2"\n {4}~ instances: 1 → 2\n {2}instances: 1 → 2/,
    );
    assert.match(text.stdout, /gate: window: deployment window open; closes Sat 2026-06-13 00:00 UTC/);
    assert.doesNotMatch(text.stdout, /api:/, 'only the services asked for');
    // Planning changed nothing: release 1 still serves, no release 2.
    const history = JSON.parse((await p.cli(['history', 'web', '--json'])).stdout) as HistoryResponse;
    assert.deepEqual(
      history.releases.map((r) => r.number),
      [1],
    );
  });

  it('any error exits 1 with --detailed-exitcode (an unknown service, another environment, a bad flag)', async () => {
    const unknown = await p.cli(['plan', 'web', 'nope', '--detailed-exitcode'], { env });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no service named "nope"/);
    const otherEnv = await p.cli(['plan', '--env', 'production', '--detailed-exitcode'], { env });
    assert.equal(otherEnv.code, 1);
    const badFlag = await p.cli(['plan', '--detailed-exitcode', '--bogus'], { env });
    assert.equal(badFlag.code, 1);
    const plain = await p.cli(['plan', 'nope'], { env });
    assert.equal(plain.code, 3, 'without the flag, errors keep their own exit codes');
  });
});
