/**
 * The conformance suite every Store implementation passes. Call it from a test file with a
 * factory that returns a fresh, empty store.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { SlipwayError } from '../core/errors.js';
import type { Store } from './store.js';
import type { NewRelease, Rollout } from './types.js';
import { configSchema } from '../config/schema.js';

const spec = configSchema.parse({ app: 'a', services: { web: { source: '.', start: 'node s.js', port: 8080 } } }).services.web!;

function release(service = 'web', environment = 'local'): NewRelease {
  return {
    environment,
    service,
    digest: 'sha256:' + 'a'.repeat(64),
    configHash: 'c'.repeat(64),
    spec,
    message: 'm',
    createdBy: 'tester',
    rollbackOf: null,
  };
}

function rollout(toRelease: number, service = 'web'): Omit<Rollout, 'id' | 'updatedAt' | 'finishedAt'> {
  return {
    environment: 'local',
    service,
    kind: 'deploy',
    fromRelease: null,
    toRelease,
    targetRelease: toRelease,
    phase: 'Progressing',
    reason: 'Started',
    message: '',
    progress: {},
    startedAt: 1000,
  };
}

export function describeStoreContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
      await store.migrate();
    });
    afterEach(async () => {
      await store.close();
    });

    it('migrating twice is harmless', async () => {
      await store.migrate();
      assert.deepEqual(await store.listReleases('local', 'web'), []);
    });

    it("keeps a release's secrets (ciphertext and hash) as given; none is null", async () => {
      const secrets = { hash: 'hmac-sha256:' + 'f'.repeat(64), values: { API_KEY: '-----BEGIN AGE ENCRYPTED FILE-----\nx\n' }, app: 'a' };
      const a = await store.createRelease({ ...release(), secrets });
      const b = await store.createRelease(release());
      assert.deepEqual((await store.getRelease('local', 'web', a.number))!.secrets, secrets);
      assert.equal((await store.getRelease('local', 'web', b.number))!.secrets, null);
      assert.deepEqual(
        (await store.listReleases('local', 'web')).map((r) => r.secrets?.hash ?? null),
        [null, secrets.hash],
      );
    });

    it('numbers releases per service and environment, newest first, keeping the spec intact', async () => {
      const a = await store.createRelease(release());
      const b = await store.createRelease(release());
      const other = await store.createRelease(release('api'));
      const staging = await store.createRelease(release('web', 'staging'));
      assert.deepEqual([a.number, b.number, other.number, staging.number], [1, 2, 1, 1]);
      const list = await store.listReleases('local', 'web');
      assert.deepEqual(
        list.map((r) => r.number),
        [2, 1],
      );
      assert.deepEqual(list[0]!.spec, spec);
      assert.equal(list[0]!.outcome, 'pending');
      await store.setReleaseOutcome('local', 'web', 1, 'live');
      assert.equal((await store.getRelease('local', 'web', 1))!.outcome, 'live');
      assert.equal(await store.getRelease('local', 'web', 9), undefined);
      assert.deepEqual(await store.listServices('local'), ['api', 'web']);
      assert.deepEqual(await store.listServices('staging'), ['web']);
      assert.deepEqual(await store.listEnvironments(), ['local', 'staging']);
    });

    it('keeps the evidence of a promoted release with it, and none on others', async () => {
      const evidence = {
        environment: 'staging',
        release: 4,
        digest: 'sha256:abc',
        succeededAt: 1000,
        rolloutId: 7,
        checks: ['requires: staging'],
      };
      const plain = await store.createRelease(release('web', 'production'));
      const shipped = await store.createRelease({ ...release('web', 'production'), evidence });
      assert.deepEqual(shipped.evidence, evidence);
      assert.deepEqual((await store.getRelease('production', 'web', shipped.number))!.evidence, evidence);
      assert.equal((await store.getRelease('production', 'web', plain.number))!.evidence, undefined);
      const list = await store.listReleases('production', 'web');
      assert.deepEqual(
        list.map((r) => r.evidence?.release ?? null),
        [4, null],
      );
    });

    it('skips to atLeast when asked (numbers still in use by instances the store forgot)', async () => {
      await store.createRelease(release());
      const r = await store.createRelease({ ...release(), atLeast: 5 });
      assert.equal(r.number, 5);
      assert.equal('atLeast' in r, false);
      assert.equal((await store.createRelease({ ...release(), atLeast: 2 })).number, 6);
    });

    it('remembers the current release', async () => {
      assert.equal(await store.getCurrentRelease('local', 'web'), null);
      await store.setCurrentRelease('local', 'web', 3);
      await store.setCurrentRelease('local', 'web', 4);
      assert.equal(await store.getCurrentRelease('local', 'web'), 4);
    });

    it('refuses a second active rollout of the same service with a conflict naming the first', async () => {
      const first = await store.createRollout(rollout(1));
      await assert.rejects(store.createRollout(rollout(2)), (err: unknown) => {
        assert.ok(err instanceof SlipwayError);
        assert.equal(err.kind, 'conflict');
        assert.equal(err.code, 'ROLLOUT_IN_PROGRESS');
        assert.match(err.message, new RegExp(`#${first.id}`));
        return true;
      });
      await store.createRollout(rollout(1, 'api'));
      await store.updateRollout(first.id, { phase: 'Healthy', finishedAt: 2000 }, 2000);
      assert.equal(await store.activeRollout('local', 'web'), undefined);
      const second = await store.createRollout(rollout(2));
      assert.equal((await store.activeRollout('local', 'web'))!.id, second.id);
      assert.deepEqual((await store.activeRollouts()).map((r) => r.service).sort(), ['api', 'web']);
      assert.deepEqual(
        (await store.listRollouts('local', 'web')).map((r) => r.id),
        [second.id, first.id],
      );
    });

    it('updates rollout progress durably', async () => {
      const r = await store.createRollout(rollout(1));
      await store.updateRollout(r.id, { progress: { ready: 2 }, targetRelease: 7, reason: 'X', message: 'y' }, 5000);
      const got = (await store.getRollout(r.id))!;
      assert.deepEqual(got.progress, { ready: 2 });
      assert.equal(got.targetRelease, 7);
      assert.equal(got.updatedAt, 5000);
    });

    it('appends events and lists them by service and after an id', async () => {
      const e1 = await store.appendEvent({
        environment: 'local',
        service: 'web',
        rolloutId: null,
        type: 'a',
        message: 'one',
        data: { n: 1 },
      });
      await store.appendEvent({ environment: 'local', service: 'api', rolloutId: null, type: 'b', message: 'two', data: {} });
      const e3 = await store.appendEvent({ environment: 'local', service: 'web', rolloutId: 9, type: 'c', message: 'three', data: {} });
      assert.deepEqual(
        (await store.listEvents({ service: 'web' })).map((e) => e.message),
        ['one', 'three'],
      );
      assert.deepEqual(
        (await store.listEvents({ afterId: e1.id, service: 'web' })).map((e) => e.id),
        [e3.id],
      );
      assert.deepEqual(
        (await store.listEvents({ rolloutId: 9 })).map((e) => e.type),
        ['c'],
      );
      assert.deepEqual((await store.listEvents({}))[0]!.data, { n: 1 });
    });

    it('versions flag changes per flag and environment, and lists the newest of each', async () => {
      const state = (percent: number) => ({ enabled: true, rules: [], rollout: { percent, by: 'user.id' } });
      const change = (flag: string, percent: number, environment = 'production') => ({
        environment,
        flag,
        action: 'set' as const,
        patch: { rollout: { percent, by: 'user.id' } },
        before: state(0),
        after: state(percent),
        by: 'ann',
        at: 1000 + percent,
        reason: `ramp to ${percent}`,
        revertOf: null,
      });
      assert.equal((await store.appendFlagVersion(change('a', 10))).version, 1);
      assert.equal((await store.appendFlagVersion(change('a', 50))).version, 2);
      assert.equal((await store.appendFlagVersion(change('b', 5))).version, 1);
      assert.equal((await store.appendFlagVersion(change('a', 1, 'staging'))).version, 1);
      const history = await store.listFlagVersions('production', 'a');
      assert.deepEqual(
        history.map((v) => [v.version, v.after.rollout.percent, v.reason]),
        [
          [2, 50, 'ramp to 50'],
          [1, 10, 'ramp to 10'],
        ],
      );
      assert.deepEqual(history[0], { ...change('a', 50), version: 2 });
      assert.deepEqual(
        (await store.currentFlagVersions('production')).map((v) => [v.flag, v.version]),
        [
          ['a', 2],
          ['b', 1],
        ],
      );
    });

    it('keeps flag ramps: one active per flag and environment, steps saved as applied, ended with why', async () => {
      const ramp = (environment = 'production') => ({
        environment,
        flag: 'a',
        schedule: '10% now, 50% in 1h',
        steps: [
          { at: 1000, percent: 10 },
          { at: 3_601_000, percent: 50 },
        ],
        createdBy: 'ann',
        createdAt: 1000,
        reason: 'launch',
      });
      const r = await store.createFlagRamp(ramp());
      assert.equal(r.state, 'active');
      await assert.rejects(store.createFlagRamp(ramp()), (e: SlipwayError) => e.code === 'FLAG_RAMP_ACTIVE');
      await store.createFlagRamp(ramp('staging'));
      const steps = [{ at: 1000, percent: 10, appliedAt: 1000, version: 1 }, ramp().steps[1]!];
      await store.updateFlagRamp(r.id, { steps });
      assert.deepEqual((await store.listFlagRamps({ environment: 'production', state: 'active' }))[0], {
        ...ramp(),
        id: r.id,
        steps,
        state: 'active',
        endedAt: null,
        endReason: null,
      });
      await store.updateFlagRamp(r.id, { steps, state: 'cancelled', endedAt: 2000, endReason: 'cancelled by bob' });
      assert.deepEqual(
        (await store.listFlagRamps({ flag: 'a' })).map((x) => [x.environment, x.state, x.endReason]),
        [
          ['staging', 'active', null],
          ['production', 'cancelled', 'cancelled by bob'],
        ],
      );
      assert.equal((await store.createFlagRamp(ramp())).state, 'active', 'a new ramp once the last one ended');
    });
  });
}
