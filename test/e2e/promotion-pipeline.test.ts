/**
 * The pieces of issue 7 together, as a team uses them: a release proven in staging is shipped to
 * production, where it gets production's own secret, waits for a person's approval, and passes
 * production's policies. Real CLI, controller, age encryption, router and instances.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { writeTwoEnvironments } from '../support/environments.js';
import { TestProject, get, freePort, type CliResult } from '../support/project.js';
import type { HistoryResponse, PlanResponse, ShipResponse, StatusResponse } from '../../src/api/types.js';
import { waitFor } from '../../src/core/wait-for.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('staging → production: ship with secrets, approval and policies (real processes)', () => {
  const p = new TestProject();
  const env = { XDG_CONFIG_HOME: join(p.dir, 'user-config') };
  const STAGING_KEY = `staging-key-${randomBytes(6).toString('hex')}`;
  const PRODUCTION_KEY = `production-key-${randomBytes(6).toString('hex')}`;
  let production = 0;
  const cli = (args: string[], input?: string): Promise<CliResult> => p.cli(args, { env, input });
  const web = async (envName: string) =>
    (JSON.parse((await cli(['status', 'web', '--json', '--env', envName])).stdout) as StatusResponse).services[0]!;

  function config(strategy: 'rolling' | 'recreate'): void {
    writeTwoEnvironments(p, {
      production,
      web: {
        instances: undefined,
        env: { VERSION: 'v1' },
        secrets: ['API_KEY'],
        health: { path: '/healthz', interval: '200ms', timeout: '1s' },
        stopTimeout: '3s',
      },
      staging: { approval: { required: true } },
      productionKeys: { requires: ['staging'], approval: { required: true }, strategy },
      top: {
        policies: [
          {
            name: 'production-rolls',
            when: 'environment.name == "production"',
            deny: 'strategy.type != "rolling"',
            message: 'production replaces instances one by one',
          },
        ],
      },
    });
  }

  before(async () => {
    p.port = await freePort();
    production = await freePort();
    config('recreate');
  });
  after(() => p.cleanup());

  it('ships the staging build to production only through the policy, with its own secret, after approval', async () => {
    for (const [name, value] of [
      ['staging', STAGING_KEY],
      ['production', PRODUCTION_KEY],
    ] as const) {
      const set = await cli(['secrets', 'set', 'API_KEY', '--env', name], value);
      assert.equal(set.code, 0, set.stderr);
    }
    const up = await cli(['up']);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    const qa = await cli(['approve', 'web', '--comment', 'qa passed', '--wait']);
    assert.equal(qa.code, 0, qa.stderr + qa.stdout);
    assert.equal((await get(`http://127.0.0.1:${p.port}/secret-digest?name=API_KEY`)).body, sha(STAGING_KEY));

    // The plan for production shows the policy that would refuse it; shipping is refused by it and records nothing.
    const planned = JSON.parse((await cli(['plan', '--env', 'production', '--json'])).stdout) as PlanResponse;
    assert.deepEqual(
      planned.services[0]!.gates.flatMap((g) => (g.kind === 'policy' ? [[g.policy, g.mode]] : [])),
      [['production-rolls', 'enforce']],
    );
    const refused = await cli(['ship', 'web', '--to', 'production', '--no-wait']);
    assert.equal(refused.code, 5, refused.stderr + refused.stdout);
    assert.match(refused.stderr, /production-rolls: production replaces instances one by one/);
    const none = await cli(['history', 'web', '--env', 'production', '--json']);
    assert.deepEqual(JSON.parse(none.stdout).releases, []);

    config('rolling');
    const shipped = await cli(['ship', 'web', '--to', 'production', '--no-wait', '--json']);
    assert.equal(shipped.code, 0, shipped.stderr + shipped.stdout);
    const res = JSON.parse(shipped.stdout) as ShipResponse;
    const staging = JSON.parse((await cli(['history', 'web', '--json'])).stdout) as HistoryResponse;
    assert.equal(res.digest, staging.releases.find((r) => r.number === 1)?.digest, 'the exact artifact that succeeded in staging');
    assert.deepEqual([res.evidence.environment, res.evidence.release], ['staging', 1]);
    assert.deepEqual(res.evidence.checks, [
      `approved in staging by ${userInfo().username}: qa passed`,
      'requires: succeeded in staging (release 1)',
    ]);
    assert.match(res.approval?.command ?? '', /slipway approve web --env production/);

    // Waiting for approval: production serves nothing yet.
    assert.equal((await web('production')).rollout?.phase, 'AwaitingApproval');
    const approve = await cli(['approve', 'web', '--env', 'production', '--comment', 'staging looked good', '--wait']);
    assert.equal(approve.code, 0, approve.stderr + approve.stdout);
    await waitFor('production answers', async () => (await get(`http://127.0.0.1:${production}/`).catch(() => undefined))?.status === 200);
    assert.equal(
      (await get(`http://127.0.0.1:${production}/secret-digest?name=API_KEY`)).body,
      sha(PRODUCTION_KEY),
      "production runs with production's secret, not staging's",
    );
    const prod = await web('production');
    assert.deepEqual([prod.currentRelease, prod.rollout?.approval?.comment], [1, 'staging looked good']);
    assert.equal((await get(`http://127.0.0.1:${p.port}/secret-digest?name=API_KEY`)).body, sha(STAGING_KEY), 'staging untouched');

    // A changed secret is a change the plan shows (by its keyed hash: the plan never holds the value).
    const unchanged = await cli(['plan', '--env', 'production', '--detailed-exitcode']);
    assert.equal(unchanged.code, 0, unchanged.stdout + unchanged.stderr);
    assert.equal((await cli(['secrets', 'set', 'API_KEY', '--env', 'production'], `${PRODUCTION_KEY}-2`)).code, 0);
    const changed = await cli(['plan', '--env', 'production', '--detailed-exitcode']);
    assert.equal(changed.code, 2, changed.stdout + changed.stderr);
    assert.match(changed.stdout, /a secret changed since release 1/);
    assert.ok(!changed.stdout.includes(PRODUCTION_KEY), 'no value in the plan');
  });
});
