/**
 * Approvals and deployment windows end to end, with the real CLI, controller, router and
 * instances: a deploy to an environment that requires approval waits in AwaitingApproval (across
 * a controller restart) until approved, or ends untouched when rejected; outside a deployment
 * window a deploy is refused with the next allowed time, and `--override --reason` goes through,
 * recorded. The controller judges windows by SLIPWAY_TEST_NOW (test only), so the verdicts do
 * not depend on today's date.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { userInfo } from 'node:os';
import { TestProject, get } from '../support/project.js';
import { waitFor } from '../../src/core/wait-for.js';
import { pidAlive } from '../../src/core/process.js';
import { ControllerClient } from '../../src/client/client.js';
import type { EventRecord } from '../../src/store/types.js';
import type { DeployResponse, PlanResponse, ServiceStatus, StatusResponse } from '../../src/api/types.js';

async function web(p: TestProject): Promise<ServiceStatus> {
  const r = await p.cli(['status', 'web', '--json']);
  return (JSON.parse(r.stdout) as StatusResponse).services[0]!;
}

async function events(p: TestProject): Promise<EventRecord[]> {
  const all: EventRecord[] = [];
  for (let page = 0; page < 100; page++) {
    const { events: batch } = await ControllerClient.connect(p.dir).events({ service: 'web', after: all.at(-1)?.id ?? 0 });
    if (!batch.length) break;
    all.push(...batch);
  }
  return all;
}

const me = userInfo().username;

describe('approvals (real controller and instances)', () => {
  const p = new TestProject();
  const write = (version: string) =>
    p.writeConfig({
      env: { VERSION: version },
      instances: 1,
      tail: 'environments:\n  local:\n    target: local\n    approval: { required: true }',
    });
  before(() => write('v1'));
  after(() => p.cleanup());

  it('a deploy waits in AwaitingApproval, starting nothing, and still waits after the controller is killed and started again', async () => {
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    assert.match(up.stdout, /web: release 1 waits for approval: slipway approve web --env local --comment "…"/);
    const s = await web(p);
    assert.equal(s.rollout?.phase, 'AwaitingApproval');
    assert.equal(s.rollout?.approval?.state, 'pending');
    assert.deepEqual(s.instances, [], 'nothing started');
    await assert.rejects(get(p.url), 'not even a route: the router does not listen for web yet');
    const text = await p.cli(['status']);
    assert.match(text.stdout, /rollout #\d+ deploy - → 1: AwaitingApproval/);
    assert.match(text.stdout, /release 1 waits for approval; approve with `slipway approve web --env local --comment "…"`/);

    // Given a controller killed while the rollout waits, when another one starts, then it still waits.
    const pid = p.controllerPid();
    process.kill(pid, 'SIGKILL');
    await waitFor('the controller to die', () => !pidAlive(pid));
    const again = await p.cli(['up']);
    assert.equal(again.code, 0, again.stderr + again.stdout);
    assert.notEqual(p.controllerPid(), pid);
    const after = await web(p);
    assert.equal(after.rollout?.id, s.rollout?.id);
    assert.equal(after.rollout?.phase, 'AwaitingApproval');
    assert.deepEqual(after.instances, []);

    // Promote is not approve: refused, naming the command that is.
    const promote = await p.cli(['promote', 'web']);
    assert.equal(promote.code, 4);
    assert.match(
      promote.stderr,
      /has not started: it waits for approval\nhint: Approve it with `slipway approve web --env local --comment "…"`/,
    );
  });

  it('approve: who and why are recorded; the rollout proceeds to live', async () => {
    const r = await p.cli(['approve', 'web', '--comment', 'checked the diff', '--wait']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /release 1 is live/);
    assert.match((await get(p.url)).body, /v1/);
    const s = await web(p);
    assert.deepEqual(
      [s.rollout?.phase, s.rollout?.approval?.state, s.rollout?.approval?.by, s.rollout?.approval?.comment],
      ['Healthy', 'approved', me, 'checked the diff'],
    );
    const approved = (await events(p)).find((e) => e.type === 'rollout.approved');
    assert.ok(approved, 'an approval event');
    assert.deepEqual([approved.data.by, approved.data.comment], [me, 'checked the diff']);
    assert.match((await p.cli(['status'])).stdout, new RegExp(`approved by ${me} \\d+s ago: checked the diff`));
    assert.match((await p.cli(['history', 'web'])).stdout, new RegExp(`#\\d+ approved by ${me} \\d+s ago: checked the diff`));
  });

  it('reject: needs a comment; ends the rollout without touching the serving release', async () => {
    await write('v2');
    const d = await p.cli(['deploy', 'web', '--json']);
    assert.equal(d.code, 0, d.stderr);
    const res = JSON.parse(d.stdout) as DeployResponse;
    assert.match(res.approval?.command ?? '', /^slipway approve web --env local/);

    // The plan shows the gate, and that a deploy now would be refused while this one waits.
    const plan = JSON.parse((await p.cli(['plan', 'web', '--json'])).stdout) as PlanResponse;
    assert.deepEqual(plan.services[0]?.gates, [
      { kind: 'approval', required: true, message: 'the rollout waits for `slipway approve` before anything starts' },
    ]);
    assert.match(
      plan.services[0]!.notes.join('\n'),
      new RegExp(`rollout #${res.rolloutId} to release 2 is AwaitingApproval: a deploy now is refused`),
    );

    const bare = await p.cli(['reject', 'web']);
    assert.equal(bare.code, 2, 'a rejection without --comment is a usage error');
    assert.match(bare.stderr, /--comment/);

    const r = await p.cli(['reject', String(res.rolloutId), '--comment', 'not during the sale']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, new RegExp(`rollout #${res.rolloutId} \\(release 2\\) rejected by ${me}; nothing was changed`));
    const s = await waitFor('the rejected rollout to end', async () => {
      const w = await web(p);
      return w.rollout?.finishedAt !== null && w;
    });
    assert.deepEqual([s.rollout?.phase, s.rollout?.reason, s.currentRelease], ['Failed', 'Rejected', 1]);
    assert.match(
      s.rollout!.message,
      new RegExp(`release 2 was rejected by ${me}: not during the sale; release 1 goes on serving, untouched`),
    );
    assert.deepEqual(
      s.instances.map((i) => i.release),
      [1],
      'no instance of release 2 was ever started',
    );
    assert.match((await get(p.url)).body, /v1/);
    const all = await events(p);
    assert.ok(!all.some((e) => e.type === 'instance.started' && e.data.release === 2));
    const rejected = all.find((e) => e.type === 'rollout.rejected');
    assert.deepEqual([rejected?.data.by, rejected?.data.comment], [me, 'not during the sale']);

    const late = await p.cli(['approve', String(res.rolloutId)]);
    assert.equal(late.code, 4);
    assert.match(late.stderr, /NOT_AWAITING_APPROVAL|was already rejected by/);
    const other = await p.cli(['approve', 'web', '--env', 'production']);
    assert.equal(other.code, 2, 'an environment slipway.yaml does not define is a usage error');
    assert.match(other.stderr, /no environment named "production"/);
  });
});

describe('deployment windows (real controller, calendar set by SLIPWAY_TEST_NOW)', () => {
  const p = new TestProject();
  // Friday 2026-03-27 16:30 in Berlin (CET): inside the weekend freeze, which ends after the clocks change.
  const env = { SLIPWAY_TEST_NOW: '2026-03-27T15:30:00Z' };
  before(() =>
    p.writeConfig({
      instances: 1,
      tail: 'environments:\n  local:\n    windows: { deny: ["Fri 16:00-Mon 06:00"], timezone: Europe/Berlin }',
    }),
  );
  after(() => p.cleanup());

  it('outside the window a deploy is refused with the next allowed time, in the window zone and in UTC; nothing is built into a release', async () => {
    const up = await p.cli(['up'], { env });
    assert.equal(up.code, 5, up.stderr + up.stdout);
    assert.match(
      up.stderr,
      /error: deploys to local are not allowed at Fri 2026-03-27 16:3\d Europe\/Berlin \(2026-03-27T15:3\d:\d\dZ\): inside deny window "Fri 16:00-Mon 06:00" \(Europe\/Berlin\)/,
    );
    assert.match(
      up.stderr,
      /hint: The next allowed time is Mon 2026-03-30 06:00 Europe\/Berlin \(2026-03-30T04:00:00Z\); or deploy now with --override --reason/,
    );

    const json = await p.cli(['deploy', 'web', '--json']);
    assert.equal(json.code, 5);
    const body = JSON.parse(json.stdout) as { error: { code: string; details: { nextAllowed: string; window: string } } };
    assert.equal(body.error.code, 'DEPLOY_WINDOW_CLOSED');
    assert.deepEqual([body.error.details.nextAllowed, body.error.details.window], ['2026-03-30T04:00:00.000Z', 'Fri 16:00-Mon 06:00']);
    const history = JSON.parse((await p.cli(['history', 'web', '--json'])).stdout) as { releases: unknown[] };
    assert.deepEqual(history.releases, []);
  });

  it('--override needs a reason; with one the deploy goes through and the override is recorded', async () => {
    const bare = await p.cli(['deploy', 'web', '--override']);
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /--override needs a reason/);

    const r = await p.cli(['deploy', 'web', '--override', '--reason', 'hotfix for checkout', '--wait']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stderr, /deployment window "Fri 16:00-Mon 06:00" overridden \(recorded\): hotfix for checkout/);
    assert.match(r.stdout, /release 1 is live/);
    const overridden = (await events(p)).find((e) => e.type === 'gate.window-overridden');
    assert.ok(overridden, 'an override event');
    assert.deepEqual(
      [overridden.data.by, overridden.data.reason, overridden.data.window],
      [me, 'hotfix for checkout', 'Fri 16:00-Mon 06:00'],
    );
    assert.match(overridden.message, /overridden by .*: hotfix for checkout/);

    // Unchanged: `up` has nothing to deploy and is not refused.
    const up = await p.cli(['up'], { env });
    assert.equal(up.code, 0, up.stderr + up.stdout);
  });
});
