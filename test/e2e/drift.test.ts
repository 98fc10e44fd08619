/**
 * Drift, end to end: `slipway status` says per service when slipway.yaml or the source no longer
 * describe what serves (text and --json), and `slipway up` says what it is about to do and why
 * before doing it; after a rollback it does not silently deploy the rolled-back release again.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestProject, freePort } from '../support/project.js';
import type { DriftView, StatusResponse } from '../../src/api/types.js';

describe('drift between slipway.yaml and what serves (real CLI and controller)', () => {
  const p = new TestProject();
  let apiPort = 0;
  const write = (version: string) =>
    p.writeConfig({
      env: { VERSION: version },
      instances: 1,
      // A second service, "api", that never changes: `up` must say so and leave it alone.
      extra: `  api:\n    source: ./app\n    start: node server.js\n    port: ${apiPort}\n    env: { VERSION: "api" }\n    health: { path: /healthz, interval: 200ms, timeout: 1s, healthyAfter: 1 }`,
    });
  const drift = async (service = 'web'): Promise<DriftView> => {
    const r = await p.cli(['status', '--json']);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as StatusResponse).services.find((s) => s.service === service)!.drift!;
  };
  const up = async () => {
    const r = await p.cli(['up'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };

  before(async () => {
    apiPort = await freePort();
    await write('v1');
  });
  after(() => p.cleanup());

  it('up says per service what it will do before doing it; status shows no drift once it is done', async () => {
    const first = await up();
    assert.match(first, /web: not deployed yet → deploying/);
    assert.match(first, /api: not deployed yet → deploying/);
    assert.ok(first.indexOf('web: not deployed yet') < first.indexOf('web: release 1'), `the plan comes before the deploy:\n${first}`);

    const again = await up();
    assert.match(again, /web: unchanged \(release 1 is current, nothing changed\)/);
    assert.match(again, /api: unchanged/);
    assert.doesNotMatch(again, /rolling out/);
    assert.equal((await drift()).state, 'unchanged');
    const text = await p.cli(['status']);
    assert.doesNotMatch(text.stdout, /drift:/);
  });

  it('a changed slipway.yaml: status names the serving release and both config hashes; up deploys it saying why', async () => {
    await write('v2');
    const d = await drift();
    assert.deepEqual([d.state, d.config, d.servingRelease], ['changed', true, 1]);
    assert.notEqual(d.configHash, d.servingConfigHash);
    assert.equal((await drift('api')).state, 'unchanged', 'per service: api did not change');
    const text = await p.cli(['status']);
    assert.match(
      text.stdout,
      new RegExp(
        `web .*\\n  drift: slipway.yaml differs from what serves: release 1 serves; config hash ${d.configHash!.slice(0, 12)} \\(release 1: ${d.servingConfigHash!.slice(0, 12)}\\); run \`slipway up\` to deploy it`,
      ),
    );

    const out = await up();
    assert.match(out, /web: slipway.yaml changed since release 1 → deploying/);
    assert.match(out, /api: unchanged/);
    assert.match(out, /web: release 2 .* rolling out/);
    assert.equal((await drift()).state, 'unchanged');
  });

  it('a changed source: status says it changed since the last build; up builds and deploys it', async () => {
    writeFileSync(join(p.dir, 'app', 'NOTES.txt'), 'a new file in the source\n');
    const d = await drift();
    assert.deepEqual([d.state, d.config, d.source], ['changed', false, null]);
    assert.match(d.message, /^the source differs from what serves: release 2 serves; the source changed since the last build/);
    const out = await up();
    assert.match(out, /web: source touched since release 2 was built → building; deploying only if the build differs/);
    assert.match(out, /web: release 3 .* rolling out/);
    assert.equal((await drift()).state, 'unchanged');
  });

  it('after a rollback, status says slipway.yaml still describes the rolled-back release, and up does not redeploy it; deploy forces it', async () => {
    const back = await p.cli(['rollback', 'web', '--wait'], { timeoutMs: 60_000 });
    assert.equal(back.code, 0, back.stderr);
    const d = await drift();
    assert.deepEqual([d.state, d.servingRelease, d.describes], ['rolled-back', 2, 3]);
    const text = await p.cli(['status', 'web']);
    assert.match(
      text.stdout,
      /drift: release 3 was rolled back; slipway.yaml still describes it → not redeploying; `slipway deploy web` to force; release 2 serves/,
    );

    const out = await up();
    assert.match(out, /web: release 3 was rolled back; slipway.yaml still describes it → not redeploying; `slipway deploy web` to force/);
    assert.doesNotMatch(out, /rolling out/);
    const status = JSON.parse((await p.cli(['status', '--json'])).stdout) as StatusResponse;
    assert.equal(status.services.find((s) => s.service === 'web')!.currentRelease, 2, 'still release 2');

    const forced = await p.cli(['deploy', 'web', '--wait'], { timeoutMs: 60_000 });
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /release 4/);
    assert.equal((await drift()).state, 'unchanged');
  });
});
