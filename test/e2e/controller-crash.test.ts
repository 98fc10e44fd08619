/**
 * The data plane outlives the control plane: the controller is SIGKILLed while idle and in the
 * middle of a rollout; users notice nothing, and `slipway up` adopts instances and finishes the work.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestProject, get } from '../support/project.js';
import { startLoad } from '../support/load.js';
import { waitFor } from '../../src/core/wait-for.js';
import { ControllerClient } from '../../src/client/client.js';

describe('controller killed with SIGKILL (real processes)', () => {
  const p = new TestProject();
  before(async () => {
    await p.writeConfig({ env: { VERSION: 'v1' } });
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr);
  });
  after(() => p.cleanup());

  // Runs first: the exit status of an instance is known to the controller that started it.
  it('restarts a crashed instance with backoff and shows the restart in status', async () => {
    const victim = (await p.status()).services[0]!.instances[0]!;
    process.kill(victim.pid!, 'SIGKILL');
    const again = await waitFor('the instance to be restarted and healthy', async () => {
      const i = (await p.status()).services[0]!.instances.find((x) => x.id === victim.id);
      return i && i.restarts === 1 && i.healthy && i.pid !== victim.pid ? i : undefined;
    });
    assert.equal(again.state, 'running');
    assert.equal(again.lastExit?.signal, 'SIGKILL');
    assert.equal(again.port, victim.port, 'a restarted instance keeps its port');
  });

  it('keeps serving while the controller is dead, and a new controller adopts the same instances', async () => {
    const before = (await p.status()).services[0]!.instances.map((i) => i.pid).sort();
    const load = startLoad(p.url);
    process.kill(p.controllerPid(), 'SIGKILL');
    await waitFor('some requests while the controller is dead', () => load.snapshot().ok > 100);
    const up = await p.cli(['up']);
    const result = await load.stop();
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /release 1 is current, nothing changed/);
    assert.deepEqual(result.failures, []);
    const after = (await p.status()).services[0]!.instances.map((i) => i.pid).sort();
    assert.deepEqual(after, before, 'instances were restarted instead of adopted');
  });

  it('finishes a rollout interrupted by a SIGKILL of the controller, with zero failed requests', async () => {
    // A slow start keeps the rollout half way long enough to kill the controller there.
    await p.writeConfig({ env: { VERSION: 'v2', STARTUP_MS: '1500' } });
    const load = startLoad(p.url);
    const deploy = await p.cli(['deploy', 'web']);
    assert.equal(deploy.code, 0, deploy.stderr);
    // Kill it once the new release has started to take traffic, i.e. mid-rollout.
    const client = ControllerClient.connect(p.dir);
    const atKill = await waitFor('the rollout to be half way', async () => {
      const web = (await client.status()).services[0]!;
      return web.traffic.some((t) => t.release === 2 && t.backends > 0) && web.rollout?.finishedAt === null && web;
    });
    process.kill(p.controllerPid(), 'SIGKILL');
    // What ran at the kill: the instance processes (by id) and the rollout.
    const pidsAtKill = new Map(atKill.instances.map((i) => [i.id, i.pid]));
    await waitFor('traffic while no controller runs', () => load.snapshot().ok > 50);
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr);
    const web = await waitFor(
      'the rollout to finish',
      async () => {
        const s = (await p.status()).services[0]!;
        return s.rollout?.finishedAt !== null && s.rollout?.toRelease === 2 ? s : undefined;
      },
      30_000,
    );
    const result = await load.stop();
    assert.equal(web.rollout!.phase, 'Healthy');
    assert.equal(web.currentRelease, 2);
    assert.deepEqual(
      web.instances.map((i) => i.release),
      [2, 2],
    );
    assert.deepEqual(result.failures, []);
    assert.match((await get(p.url)).body, /^v2 release=2 /);

    // The same rollout carried on (not a new one), with the same processes: every instance of
    // release 2 started before the kill still runs as the process it was, and none restarted.
    assert.equal(web.rollout!.id, atKill.rollout!.id, 'the rollout that was interrupted is the one that finished');
    const history = (await ControllerClient.connect(p.dir).history('web')).rollouts.filter((r) => r.toRelease === 2);
    assert.deepEqual(
      history.map((r) => r.id),
      [atKill.rollout!.id],
      'no second rollout to release 2 was started',
    );
    const carried = atKill.instances.filter((i) => i.release === 2 && i.state === 'running');
    assert.ok(carried.length >= 1, 'an instance of release 2 ran at the kill');
    for (const i of carried) {
      const now = web.instances.find((x) => x.id === i.id);
      assert.ok(now, `instance ${i.id}, started before the kill, was replaced`);
      assert.equal(now.pid, pidsAtKill.get(i.id), `instance ${i.id} runs as the same process`);
      assert.equal(now.restarts, 0);
    }
  });

  it('slipway down leaves no process behind', async () => {
    const s = await p.status();
    const pids = [p.controllerPid(), ...s.services[0]!.instances.map((i) => i.pid!)];
    const routerPid = (JSON.parse(readFileSync(join(p.dir, '.slipway/router/router.json'), 'utf8')) as { pid: number }).pid;
    // The instances' log writers too (docs/adr/0009-log-writer-and-healing.md).
    const recorded = JSON.parse(readFileSync(join(p.dir, '.slipway/local/instances.json'), 'utf8')) as {
      instances: { logWriter?: { pid: number } | null }[];
    };
    const writers = recorded.instances.flatMap((i) => (i.logWriter ? [i.logWriter.pid] : []));
    assert.equal(writers.length, s.services[0]!.instances.length, 'every instance has a log writer');
    const down = await p.cli(['down']);
    assert.equal(down.code, 0, down.stderr);
    for (const pid of [...pids, routerPid, ...writers]) {
      await waitFor(
        `pid ${pid} to exit`,
        () => {
          try {
            process.kill(pid, 0);
            return false;
          } catch {
            return true;
          }
        },
        5000,
      );
    }
    await assert.rejects(get(p.url));
  });
});
