/**
 * On-premises blue-green: three real sshd hosts in two groups (`labels: { group: blue|green }`)
 * behind HAProxy. The new release comes up on the idle group alone, taken out of HAProxy first;
 * it is checked there (pre-promotion analysis on the idle hosts, HAProxy's preview port) while
 * users keep the old release on the other group; `slipway promote` is one HAProxy change, and
 * `slipway rollback` switches back as fast to the group kept warm, with no failed request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/core/wait-for.js';
import { FleetProject } from '../support/fleet/fleet-project.js';
import { startLoad } from '../support/load.js';
import { freePort, get } from '../support/project.js';

const skip = FleetProject.skipReason({ haproxy: true });

describe('blue-green between two host groups behind HAProxy', { skip }, () => {
  let previewPort = 0;
  const p = new FleetProject({ hosts: 3 });
  const write = (version: string) =>
    p.writeConfig({
      env: { VERSION: version },
      extra: `    strategy:
      blueGreen:
        previewPort: ${previewPort}
        prePromotionAnalysis: [smoke]
        autoPromote: false
        scaleDownDelay: 60s`,
      tail: `analysis:
  smoke: { http: { path: /healthz, expect: 200 }, count: 3, interval: 200ms }`,
      haproxy: true,
      groups: ['blue', 'blue', 'green'],
    });

  before(async () => {
    await p.start();
    previewPort = await freePort();
    await write('v1');
    await p.ok(['up', '--env', 'production']);
  });
  after(() => p.stop());

  it('brings the release up on the idle group, previews it, switches to it in one HAProxy change and back, with zero failed requests', async () => {
    await write('v2');
    const load = startLoad(p.url, { concurrency: 4, maxMs: 120_000 });
    const deploying = p.cli(['deploy', 'web', '--env', 'production', '--wait'], { timeoutMs: 120_000 });
    const waiting = await p.waitingForPromotion(2);
    assert.equal(waiting.rollout!.analysis.find((a) => a.key === 'pre:smoke')?.phase, 'Successful');
    // The green host runs release 2 alone; the blue ones keep release 1 and all the users.
    assert.deepEqual(await p.answers(), ['v1 release=1', 'v1 release=1', 'v2 release=2']);
    assert.match((await get(`http://127.0.0.1:${previewPort}/`)).body, /^v2 release=2 /, "HAProxy's preview port serves release 2");
    for (let i = 0; i < 20; i++) assert.match((await get(p.url)).body, /^v1 release=1 /, 'users still get release 1');

    assert.equal((await p.cli(['promote', 'web', '--env', 'production'])).code, 0);
    await waitFor(
      'HAProxy to send every request to release 2',
      async () => {
        for (let i = 0; i < 10; i++) if (!(await get(p.url)).body.startsWith('v2 release=2')) return false;
        return true;
      },
      30_000,
      50,
    );
    // Still warm: the blue group runs release 1 for the scale-down delay.
    assert.equal(await p.answer(0), 'v1 release=1');
    await p.ok(['rollback', 'web', '--env', 'production']);
    const res = await deploying;
    const totals = await load.stop();
    assert.equal(res.code, 1, res.stdout + res.stderr);
    assert.match(res.stderr, /rolled back \(SwitchedBack\)/);
    assert.deepEqual(totals.failures, []);
    assert.ok((totals.bodies.get('v2 release=2') ?? 0) > 20, 'release 2 served users after the switch');
    for (let i = 0; i < 20; i++) assert.match((await get(p.url)).body, /^v1 release=1 /);
    const s = await p.web();
    assert.equal(s.currentRelease, 1);
    // The green host ran release 2 only: it is the idle group again, not a host down.
    assert.equal(s.health, 'Healthy');
    assert.deepEqual(
      s.hosts?.map((h) => [h.release, h.serving, h.idle ?? false]),
      [
        [1, 2, false],
        [1, 2, false],
        [null, 0, true],
      ],
    );
  });
});
