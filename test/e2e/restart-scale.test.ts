/**
 * `slipway restart` and `slipway scale` end to end with the real CLI, controller, router and
 * instances: the serving release gets new instances or a new count, under steady load with zero
 * failed requests, without a new release; the count survives a controller restart and `slipway up`
 * puts slipway.yaml's count back.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestProject } from '../support/project.js';
import { startLoad } from '../support/load.js';
import { waitFor } from '../../src/core/wait-for.js';
import { pidAlive } from '../../src/core/process.js';
import { makeOutput } from '../../src/cli/output.js';
import { ensureController } from '../../src/cli/start-controller.js';
import { ControllerClient } from '../../src/client/client.js';
import type { HistoryResponse, ServiceStatus, StatusResponse } from '../../src/api/types.js';

async function web(p: TestProject): Promise<ServiceStatus> {
  const r = await p.cli(['status', 'web', '--json']);
  return (JSON.parse(r.stdout) as StatusResponse).services[0]!;
}

async function history(p: TestProject): Promise<HistoryResponse> {
  return JSON.parse((await p.cli(['history', 'web', '--json'])).stdout) as HistoryResponse;
}

/** The id of the newest event (the API pages oldest first). */
async function lastEventId(p: TestProject): Promise<number> {
  let after = 0;
  for (let page = 0; page < 1000; page++) {
    const { events } = await ControllerClient.connect(p.dir).events({ service: 'web', after });
    if (!events.length) return after;
    after = events.at(-1)!.id;
  }
  throw new Error('more than 1000 pages of events');
}

/** Instance ids that answered, from "v1 release=1 (instance web-1-abc123)". */
const byInstance = (body: string) => /\(instance ([^)]+)\)/.exec(body)?.[1] ?? body;

describe('restart and scale under load (real processes)', () => {
  const p = new TestProject();
  before(async () => {
    await p.writeConfig({ env: { VERSION: 'v1' }, instances: 2 });
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr + up.stdout);
  });
  after(() => p.cleanup());

  it('restart replaces every instance of the serving release with new ones, zero failed requests, no new release', async () => {
    const before = await web(p);
    const oldIds = before.instances.map((i) => i.id);
    const load = startLoad(p.url, { classify: byInstance });
    // New instances answer before the old ones leave: wait until a new one has served, then stop.
    const res = await p.cli(['restart', 'web', '-m', 'leaky']);
    await waitFor('a request answered by a new instance', () => [...load.snapshot().bodies.keys()].some((id) => !oldIds.includes(id)));
    const result = await load.stop();
    assert.equal(res.code, 0, res.stderr + res.stdout);
    assert.match(res.stdout, /web: restarting release 1, rollout #\d+/);
    assert.match(res.stdout, /release 1 is live \(2\/2 healthy\)/);
    assert.deepEqual(result.failures, []);
    assert.ok(result.ok > 50, `only ${result.ok} requests succeeded`);

    const after = await web(p);
    assert.equal(after.currentRelease, 1);
    assert.equal(after.health, 'Healthy');
    assert.equal(after.instances.length, 2);
    for (const i of after.instances) {
      assert.equal(i.release, 1);
      assert.ok(!oldIds.includes(i.id), `instance ${i.id} was not replaced`);
    }
    const h = await history(p);
    assert.equal(h.releases.length, 1, 'a restart makes no release');
    assert.deepEqual(
      [h.rollouts[0]!.kind, h.rollouts[0]!.phase, h.rollouts[0]!.fromRelease, h.rollouts[0]!.toRelease, h.rollouts[0]!.message],
      ['restart', 'Healthy', 1, 1, 'release 1 restarted: 2 new healthy instance(s)'],
    );
  });

  it('scale grows and shrinks the serving release with zero failed requests, and says slipway.yaml differs', async () => {
    const load = startLoad(p.url, { classify: byInstance });
    const grow = await p.cli(['scale', 'web', '4']);
    assert.equal(grow.code, 0, grow.stderr + grow.stdout);
    assert.match(grow.stdout, /scaling release 1 from 2 to 4 instance\(s\)/);
    assert.match(
      grow.stdout,
      /slipway\.yaml says 2; the next `slipway up` or deploy goes back to 2 \(set instances: 4 in slipway\.yaml to keep it\)/,
    );
    const four = await web(p);
    assert.equal(four.desired, 4);
    assert.deepEqual(four.scaled, { instances: 4, configured: 2, rolloutId: four.rollout!.id });
    assert.deepEqual(
      four.instances.map((i) => [i.release, i.state, i.healthy]),
      Array(4).fill([1, 'running', true]),
    );
    await waitFor('requests answered by all 4 instances', () => four.instances.every((i) => load.snapshot().bodies.has(i.id)));

    const text = await p.cli(['status', 'web']);
    assert.match(
      text.stdout,
      /scaled to 4 instance\(s\) by slipway scale; slipway\.yaml says 2: the next `slipway up` or deploy goes back to 2/,
    );

    const eventsBefore = await lastEventId(p);
    const shrink = await p.cli(['scale', 'web', '1']);
    const result = await load.stop();
    assert.equal(shrink.code, 0, shrink.stderr + shrink.stdout);
    assert.deepEqual(result.failures, []);
    assert.ok(result.ok > 50, `only ${result.ok} requests succeeded`);
    const one = await web(p);
    assert.equal(one.desired, 1);
    assert.equal(one.instances.length, 1);
    const h = await history(p);
    assert.equal(h.releases.length, 1, 'scaling makes no release');
    assert.deepEqual(
      h.rollouts.slice(0, 2).map((r) => [r.kind, r.phase]),
      [
        ['scale', 'Healthy'],
        ['scale', 'Healthy'],
      ],
    );
    // The 3 that left were taken out of traffic and drained before they stopped.
    const { events } = await ControllerClient.connect(p.dir).events({ service: 'web', after: eventsBefore });
    const stopped = events.filter((e) => e.type === 'instance.stopped');
    assert.equal(stopped.length, 3, stopped.map((e) => e.message).join('\n'));
    for (const e of stopped) assert.match(e.message, /\(more instances than desired; \d+ request\(s\) drained\)$/);
  });

  it('scale rejects counts out of 0..100 with a usage error (exit 2), changing nothing', async () => {
    for (const bad of ['101', 'abc', '1.5', '-1']) {
      const r = await p.cli(['scale', 'web', bad]);
      assert.equal(r.code, 2, `scale web ${bad}: ${r.stderr}`);
      assert.match(r.stderr, /error: .*(expected a whole number from 0 to 100|unknown option '-1')/);
    }
    assert.equal((await web(p)).desired, 1);
  });

  it('the scaled count survives a controller restart (a restart rollout uses it)', async () => {
    const pid = p.controllerPid();
    process.kill(pid, 'SIGKILL');
    await waitFor('the controller to be gone', () => !pidAlive(pid));
    // A new controller without `slipway up` (which would go back to slipway.yaml's count).
    const { client } = await ensureController(p.dir, makeOutput({ stdout: { write: () => true }, stderr: { write: () => true } }));
    assert.notEqual(client.info.pid, pid);
    const s = await web(p);
    assert.equal(s.desired, 1);
    assert.equal(s.scaled?.instances, 1);
    const res = await p.cli(['restart', 'web']);
    assert.equal(res.code, 0, res.stderr + res.stdout);
    assert.match(res.stdout, /release 1 is live \(1\/1 healthy\)/);
    const after = await web(p);
    assert.equal(after.instances.length, 1);
    assert.equal(after.scaled?.instances, 1, 'a restart keeps the scaled count');
  });

  it('restart and scale are refused with a conflict (exit 4) while another rollout is in progress', async () => {
    // A release that never turns healthy keeps its rollout in progress until aborted.
    await p.writeConfig({ env: { VERSION: 'v2', HEALTH: 'fail' }, instances: 2, extra: '    progressDeadline: 5m' });
    const deploy = await p.cli(['deploy', 'web', '--no-wait', '--json']);
    assert.equal(deploy.code, 0, deploy.stderr);
    for (const args of [
      ['restart', 'web'],
      ['scale', 'web', '3'],
    ]) {
      const r = await p.cli(args);
      assert.equal(r.code, 4, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /error: rollout #\d+ of web \(to release 2\) is progressing/);
    }
    const abort = await p.cli(['abort', 'web']);
    assert.equal(abort.code, 0, abort.stderr);
    const id = (JSON.parse(deploy.stdout) as { rolloutId: number }).rolloutId;
    await waitFor(
      'the aborted rollout to end',
      async () => {
        const r = (await web(p)).rollout;
        return r?.id === id && r.finishedAt !== null;
      },
      30_000,
    );
    assert.equal((await web(p)).currentRelease, 1);
  });

  it("slipway up puts slipway.yaml's count back and says so", async () => {
    await p.writeConfig({ env: { VERSION: 'v1' }, instances: 2 });
    const load = startLoad(p.url);
    const up = await p.cli(['up']);
    const result = await load.stop();
    assert.equal(up.code, 0, up.stderr + up.stdout);
    assert.match(up.stdout, /web: release 1 is current; back from 1 instance\(s\) \(set by slipway scale\) to slipway\.yaml's 2/);
    assert.deepEqual(result.failures, []);
    const s = await web(p);
    assert.equal(s.scaled, undefined);
    assert.equal(s.desired, 2);
    assert.equal(s.instances.length, 2);
    const again = await p.cli(['up']);
    assert.match(again.stdout, /web: unchanged \(release 1 is current, nothing changed\)/);
  });
});

describe('a restart interrupted by a SIGKILL of the controller (real processes)', () => {
  const p = new TestProject();
  before(async () => {
    // Instances take 1.5 s to listen, so that the restart is surely in progress when the controller dies.
    await p.writeConfig({ env: { VERSION: 'v1', STARTUP_MS: '1500' }, instances: 2 });
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr + up.stdout);
  });
  after(() => p.cleanup());

  it('a new controller finishes it: every instance replaced once, zero failed requests', async () => {
    const oldIds = (await web(p)).instances.map((i) => i.id);
    const load = startLoad(p.url);
    const res = await p.cli(['restart', 'web', '--no-wait']);
    assert.equal(res.code, 0, res.stderr);
    await waitFor('a new instance of the restart', async () => (await web(p)).instances.some((i) => !oldIds.includes(i.id)));
    const pid = p.controllerPid();
    process.kill(pid, 'SIGKILL');
    await waitFor('the controller to be gone', () => !pidAlive(pid));
    await ensureController(p.dir, makeOutput({ stdout: { write: () => true }, stderr: { write: () => true } }));
    const done = await waitFor(
      'the restart to finish',
      async () => {
        const s = await web(p);
        return s.rollout?.kind === 'restart' && s.rollout.finishedAt !== null ? s : undefined;
      },
      60_000,
    );
    const result = await load.stop();
    assert.equal(done.rollout!.phase, 'Healthy', done.rollout!.message);
    assert.deepEqual(result.failures, []);
    const now = await waitFor('the replaced instances to be stopped', async () => {
      const s = await web(p);
      return s.instances.length === 2 ? s : undefined;
    });
    for (const i of now.instances) assert.ok(!oldIds.includes(i.id), `instance ${i.id} was not replaced`);
    assert.equal((await history(p)).releases.length, 1);
  });
});
