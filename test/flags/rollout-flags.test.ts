/**
 * Flags meet rollouts, end to end (real CLI, controller, router, instances and traffic): a canary
 * step sets a flag, which goes back as it was when the rollout is aborted; a failed analysis
 * (driven by real traffic through the router) switches the check's `onFailure.flagOff` flag off as
 * part of the rollback. Each change is a flag version authored by the rollout, and audited.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TestProject } from '../support/project.js';
import { startLoad } from '../support/load.js';
import { waitFor } from '../../src/core/wait-for.js';
import { ControllerClient } from '../../src/client/client.js';
import type { ServiceStatus } from '../../src/api/types.js';
import type { FlagView } from '../../src/flags/service.js';
import type { FlagHistoryResponse } from '../../src/client/flags-client.js';

const STRATEGY = `    strategy:
      canary:
        steps:
          - weight: 50
          - flag: { new-checkout: 25 }
          - analysis: [errors]
          - pause: {}`;

const TAIL = `analysis:
  errors:
    metric: error_rate
    max: 0.01
    interval: 1s
    minRequests: 20
    count: 2
    inconclusiveLimit: 2
    onFailure: { flagOff: [checkout-v2] }
flags:
  new-checkout: { type: boolean, default: false }
  checkout-v2: { type: boolean, default: false, rollout: 100 }`;

describe('flags in rollouts (real processes and traffic)', () => {
  const p = new TestProject();
  let client: ControllerClient;
  const web = async (): Promise<ServiceStatus> => (await client.status()).services[0]!;
  const flag = async (key: string) => {
    const r = await p.cli(['flags', 'get', key, '--json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as FlagView;
  };
  const history = async (key: string) => {
    const r = await p.cli(['flags', 'history', key, '--json']);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as FlagHistoryResponse).versions;
  };
  const write = (env: Record<string, string>) => p.writeConfig({ env, extra: STRATEGY, tail: TAIL });

  before(async () => {
    await write({ VERSION: 'v1' });
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr);
    client = ControllerClient.connect(p.dir);
  });
  after(() => p.cleanup());

  it('a canary step sets a flag; aborting the rollout puts it back as it was', async () => {
    assert.deepEqual((await flag('new-checkout')).state.rollout.percent, 0);
    await write({ VERSION: 'v2' });
    const load = startLoad(p.url);
    const deploying = p.cli(['deploy', 'web', '--wait'], { timeoutMs: 120_000 });
    let last: ServiceStatus | undefined;
    const held = await waitFor(
      'the canary to wait for promotion after its flag and analysis steps',
      async () => {
        const s = (last = await web());
        if (s.rollout?.toRelease === 2 && s.rollout.finishedAt !== null) throw new Error(`rollout ended: ${s.rollout.message}`);
        return s.rollout?.toRelease === 2 && s.rollout.reason === 'WaitingForPromotion' ? s : undefined;
      },
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last status: ${JSON.stringify(last?.rollout)}`);
    });
    const actor = `rollout #${held.rollout!.id}`;
    const set = await flag('new-checkout');
    assert.equal(set.state.rollout.percent, 25);
    assert.equal(set.state.enabled, true);
    assert.equal(set.changedBy, actor);
    assert.deepEqual(set.differs, ['rollout']);

    const abort = await p.cli(['abort', 'web', '--reason', 'not today']);
    assert.equal(abort.code, 0, abort.stderr);
    const result = await deploying;
    const totals = await load.stop();
    assert.equal(result.code, 1);
    assert.match(result.stderr, /rolled back \(Aborted\)/);
    assert.deepEqual(totals.failures, []);

    const restored = await flag('new-checkout');
    assert.equal(restored.state.rollout.percent, 0, 'back to slipway.yaml');
    assert.deepEqual(restored.differs, []);
    assert.deepEqual(
      (await history('new-checkout')).map((v) => [v.version, v.action, v.by, v.after.rollout.percent]),
      [
        [2, 'revert', actor, 0],
        [1, 'set', actor, 25],
      ],
    );
    assert.equal((await flag('checkout-v2')).version, 0, 'a flag no step names is left alone');
    const audit = await client.audit({ service: 'web' });
    assert.deepEqual(
      audit.entries.filter((e) => e.actor === actor).map((e) => [e.action, (e.after as { flag: string }).flag]),
      [
        ['flag.change', 'new-checkout'],
        ['flag.revert', 'new-checkout'],
      ],
    );
  });

  it('a failed analysis switches its onFailure flag off as part of the rollback, and the step flag goes back', async () => {
    assert.equal((await flag('checkout-v2')).state.enabled, true);
    await write({ VERSION: 'v3', FAIL_RATE: '1' });
    const load = startLoad(p.url);
    const result = await p.cli(['deploy', 'web', '--wait'], { timeoutMs: 120_000 });
    const totals = await load.stop();
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stderr, /rolled back \(AnalysisFailed\)/);
    assert.match(result.stderr, /analysis "errors" failed/);
    assert.ok(totals.failed > 0, 'the canary answered 500 to real traffic');
    const s = await web();
    assert.equal(s.currentRelease, 1);
    const actor = `rollout #${s.rollout!.id}`;

    const killed = await flag('checkout-v2');
    assert.equal(killed.state.enabled, false, 'the kill switch is thrown');
    assert.equal(killed.changedBy, actor);
    assert.match(killed.reason ?? '', /analysis "errors" failed: .*\(onFailure\.flagOff\)/);
    // Evaluated over OFREP as an application would: the default, reason DISABLED.
    const info = p.controllerInfo();
    const res = await fetch(`http://127.0.0.1:${info.port}/ofrep/v1/evaluate/flags/checkout-v2`, {
      method: 'POST',
      headers: { authorization: `Bearer ${info.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ context: { targetingKey: 'user-1' } }),
    });
    assert.deepEqual(await res.json(), { key: 'checkout-v2', value: false, reason: 'DISABLED', variant: 'false', metadata: {} });
    const restored = await flag('new-checkout');
    assert.equal(restored.state.rollout.percent, 0);
    assert.deepEqual(
      (await history('new-checkout')).slice(0, 2).map((v) => [v.action, v.by, v.after.rollout.percent]),
      [
        ['revert', actor, 0],
        ['set', actor, 25],
      ],
    );
    const audit = await client.audit({ service: 'web' });
    assert.ok(
      audit.entries.some((e) => e.actor === actor && e.action === 'flag.change' && (e.after as { flag: string }).flag === 'checkout-v2'),
      'the kill is audited with the rollout as actor',
    );
  });
});
