/**
 * Environments end to end with the real CLI, controller, router and instances: two environments of
 * one project serve side by side on their own ports with their own env values, releases and
 * history; `--env` picks one, and a wrong or missing one is a usage error naming the choices.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeTwoEnvironments } from '../support/environments.js';
import { TestProject, get, freePort } from '../support/project.js';
import type { HistoryResponse, StatusResponse } from '../../src/api/types.js';
import { waitFor } from '../../src/core/wait-for.js';

/** A project with environments staging and production (production on its own port, 2 instances). */
export function twoEnvironments(
  p: TestProject,
  production: number,
  o: { defaultEnv?: boolean; staging?: Record<string, unknown> } = {},
): void {
  writeTwoEnvironments(p, {
    production,
    web: { env: { VERSION: 'base', GREETING: 'hello' } },
    staging: { env: { VERSION: 'staging-v1' } },
    productionKeys: { requires: ['staging'], stopTimeout: '3s' },
    productionWeb: { instances: 2, env: { VERSION: 'prod-v1' } },
    ...o,
  });
}

describe('two environments side by side (real processes)', () => {
  const p = new TestProject();
  let production = 0;
  before(async () => {
    p.port = await freePort();
    production = await freePort();
    twoEnvironments(p, production);
  });
  after(() => p.cleanup());

  it('each environment serves on its own port with its own env values, instances, releases and history', async () => {
    const staging = await p.cli(['up']);
    assert.equal(staging.code, 0, staging.stderr + staging.stdout);
    const prod = await p.cli(['up', '--env', 'production']);
    assert.equal(prod.code, 0, prod.stderr + prod.stdout);

    assert.match((await get(`http://127.0.0.1:${p.port}/`)).body, /^staging-v1 release=1 \(instance web\.staging-1-[0-9a-f]+\)/);
    assert.match((await get(`http://127.0.0.1:${production}/`)).body, /^prod-v1 release=1 \(instance web\.production-1-[0-9a-f]+\)/);

    const s = JSON.parse((await p.cli(['status', '--json', '--env', 'production'])).stdout) as StatusResponse;
    assert.equal(s.environment, 'production');
    assert.equal(s.services[0]!.instances.length, 2);
    assert.ok(s.services[0]!.instances.every((i) => i.id.startsWith('web.production-')));
    const st = JSON.parse((await p.cli(['status', '--json'])).stdout) as StatusResponse;
    assert.equal(st.environment, 'staging', 'default: staging');
    assert.equal(st.services[0]!.instances.length, 1);
    const text = await p.cli(['status', '--env', 'production']);
    assert.match(text.stdout, /\(production\)/);

    // A deploy of staging makes release 2 there and leaves production's release 1 serving.
    const deploy = await p.cli(['deploy', 'web', '-m', 'second']);
    assert.equal(deploy.code, 0, deploy.stderr + deploy.stdout);
    const hs = JSON.parse((await p.cli(['history', 'web', '--json'])).stdout) as HistoryResponse;
    const hp = JSON.parse((await p.cli(['history', 'web', '--json', '--env', 'production'])).stdout) as HistoryResponse;
    assert.equal(hs.environment, 'staging');
    assert.deepEqual(
      hs.releases.map((r) => r.number),
      [2, 1],
    );
    assert.equal(hp.environment, 'production');
    assert.deepEqual(
      hp.releases.map((r) => r.number),
      [1],
    );
    assert.match((await p.cli(['history', 'web', '--env', 'production'])).stdout, /web \(production\): releases/);
    assert.match((await get(`http://127.0.0.1:${production}/`)).body, /^prod-v1 release=1 /);
    assert.match((await get(`http://127.0.0.1:${p.port}/`)).body, /^staging-v1 release=2 /);
  });

  it('config show prints the effective configuration and where each value came from', async () => {
    const r = await p.cli(['config', 'show', 'web', '--env', 'production', '--json']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const shown = JSON.parse(r.stdout) as { environment: string; values: { key: string; value: unknown; source: string }[] };
    const at = (key: string) => shown.values.find((v) => v.key === key);
    assert.equal(shown.environment, 'production');
    assert.deepEqual(at('port'), { key: 'port', value: production, source: 'service in environment' });
    assert.deepEqual(at('instances'), { key: 'instances', value: 2, source: 'service in environment' });
    assert.deepEqual(at('env.VERSION'), { key: 'env.VERSION', value: 'prod-v1', source: 'service in environment' });
    assert.deepEqual(at('env.GREETING'), { key: 'env.GREETING', value: 'hello', source: 'service' });
    assert.deepEqual(at('stopTimeout'), { key: 'stopTimeout', value: 3000, source: 'environment' });
    assert.deepEqual(at('progressDeadline'), { key: 'progressDeadline', value: 300_000, source: 'default' });
    assert.equal(at('dependsOn'), undefined);
    const staging = JSON.parse((await p.cli(['config', 'show', 'web', '--json'])).stdout) as typeof shown;
    assert.equal(staging.environment, 'staging');
    assert.deepEqual(
      staging.values.find((v) => v.key === 'env.VERSION'),
      { key: 'env.VERSION', value: 'staging-v1', source: 'environment' },
    );
    const text = await p.cli(['config', 'show', 'web', '--env', 'production']);
    assert.match(text.stdout, /web in production/);
    assert.match(text.stdout, /stopTimeout\s+3s\s+environment/);
    assert.match(text.stdout, /env\.VERSION\s+prod-v1\s+service in environment/);
    const wrong = await p.cli(['config', 'show', 'web', '--env', 'producton']);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /did you mean "production"/);
  });

  it('an unknown environment is a usage error (exit 2) with a suggestion', async () => {
    const r = await p.cli(['status', '--env', 'prodution']);
    assert.equal(r.code, 2, r.stderr + r.stdout);
    assert.match(r.stderr, /no environment named "prodution" \(did you mean "production"\?\)/);
    assert.match(r.stderr, /staging, production/);
  });

  it('with several environments and no default, a command without --env names the choices', async () => {
    twoEnvironments(p, production, { defaultEnv: false });
    const r = await p.cli(['status']);
    assert.equal(r.code, 2, r.stderr + r.stdout);
    assert.match(r.stderr, /several environments \(staging, production\) and no default/);
    assert.match(r.stderr, /--env/);
    const ok = await p.cli(['status', '--env', 'staging']);
    assert.equal(ok.code, 0, ok.stderr + ok.stdout);
    twoEnvironments(p, production);
  });

  it('promotion: refused until the artifact succeeded in staging, then ships the same digest with evidence', async () => {
    writeFileSync(join(p.dir, 'app/build-id.txt'), 'second build\n');
    // production requires staging: a build that has not succeeded there is refused, even by a direct deploy.
    const direct = await p.cli(['deploy', 'web', '--env', 'production']);
    assert.equal(direct.code, 4, direct.stderr + direct.stdout);
    assert.match(direct.stderr, /has not succeeded in staging, which production requires/);
    assert.match(direct.stderr, /slipway ship web --from staging --to production/);

    // A staging release whose rollout failed proves nothing.
    twoEnvironments(p, production, { staging: { env: { VERSION: 'staging-v1', CRASH: '1' } } });
    const bad = await p.cli(['deploy', 'web', '--wait']);
    assert.equal(bad.code, 1, bad.stderr + bad.stdout);
    const failed = (JSON.parse((await p.cli(['history', 'web', '--json'])).stdout) as HistoryResponse).releases[0]!;
    assert.equal(failed.outcome, 'failed');
    const refused = await p.cli(['ship', 'web', '--from', 'staging', '--to', 'production', '--release', String(failed.number)]);
    assert.equal(refused.code, 4, refused.stderr + refused.stdout);
    assert.match(refused.stderr, new RegExp(`release ${failed.number} of web has not succeeded in staging: its rollout failed there`));
    const itself = await p.cli(['ship', 'web', '--from', 'staging', '--to', 'staging']);
    assert.equal(itself.code, 2, itself.stderr);

    twoEnvironments(p, production);
    const good = await p.cli(['deploy', 'web', '--wait']);
    assert.equal(good.code, 0, good.stderr + good.stdout);
    const verified = (JSON.parse((await p.cli(['history', 'web', '--json'])).stdout) as HistoryResponse).releases[0]!;
    assert.equal(verified.outcome, 'live');

    const shipped = await p.cli(['ship', 'web', '--from', 'staging', '--to', 'production']);
    assert.equal(shipped.code, 0, shipped.stderr + shipped.stdout);
    assert.match(shipped.stdout, new RegExp(`shipped from staging release ${verified.number}`));
    assert.match(shipped.stdout, /passed: requires: succeeded in staging/);
    const prod = JSON.parse((await p.cli(['history', 'web', '--json', '--env', 'production'])).stdout) as HistoryResponse;
    const release = prod.releases[0]!;
    assert.equal(release.digest, verified.digest, 'the same artifact');
    assert.equal(release.outcome, 'live');
    assert.equal(release.evidence?.environment, 'staging');
    assert.equal(release.evidence?.release, verified.number);
    assert.ok((release.evidence?.succeededAt ?? 0) > 0);
    const text = await p.cli(['history', 'web', '--env', 'production']);
    assert.match(text.stdout, new RegExp(`release ${release.number}: shipped from staging release ${verified.number}, healthy there`));
    // With production's configuration, not staging's.
    assert.match((await get(`http://127.0.0.1:${production}/`)).body, new RegExp(`^prod-v1 release=${release.number} `));

    // Staging moving on and pruning the release it shipped leaves production's artifact alone: one artifact store, shared.
    twoEnvironments(p, production, { staging: { env: { VERSION: 'staging-v1' }, keepReleases: 1 } });
    writeFileSync(join(p.dir, 'app/build-id.txt'), 'third build\n');
    // Three deploys: retention runs before the new release is recorded current, so the shipped release stays the rollback target for two.
    for (const n of [1, 2, 3]) {
      const next = await p.cli(['deploy', 'web', '--wait', '-m', `next ${n}`]);
      assert.equal(next.code, 0, next.stderr + next.stdout);
    }
    // Retention runs once the rollout has ended, just after the CLI saw it end.
    await waitFor('staging to prune the release it shipped', async () => {
      const staged = JSON.parse((await p.cli(['history', 'web', '--json'])).stdout) as HistoryResponse;
      return staged.releases.find((r) => r.number === verified.number)!.pruned;
    }).catch((err) => {
      throw new Error(
        `${err}\n${readFileSync(join(p.dir, '.slipway/controller.log'), 'utf8')
          .split('\n')
          .filter((l) => /retention|warn|error/i.test(l))
          .join('\n')}`,
      );
    });
    const restart = await p.cli(['restart', 'web', '--env', 'production']);
    assert.equal(restart.code, 0, restart.stderr + restart.stdout);
    assert.match((await get(`http://127.0.0.1:${production}/`)).body, new RegExp(`^prod-v1 release=${release.number} `));

    // A release rolled back in staging proves nothing there any more, though it was healthy once.
    const newest = (JSON.parse((await p.cli(['history', 'web', '--json'])).stdout) as HistoryResponse).releases[0]!;
    const back = await p.cli(['rollback', 'web', '--wait']);
    assert.equal(back.code, 0, back.stderr + back.stdout);
    const judged = await p.cli(['ship', 'web', '--from', 'staging', '--to', 'production', '--release', String(newest.number)]);
    assert.equal(judged.code, 4, judged.stderr + judged.stdout);
    assert.match(judged.stderr, new RegExp(`release ${newest.number} of web has not succeeded in staging: it was rolled back there`));
  });
});
