/**
 * A serving release heals: an instance killed again and again is marked failed (crash loop), then
 * tried again with a growing backoff until it runs, and the service returns to full strength by
 * itself, with no deploy. Status shows the failure, the restarts and the next retry meanwhile.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestProject } from '../support/project.js';
import { waitFor } from '../../src/core/wait-for.js';
import { ControllerClient } from '../../src/client/client.js';
import type { InstanceView, ServiceStatus } from '../../src/api/types.js';

describe('self-healing of a serving release (real processes)', () => {
  const p = new TestProject();
  let client: ControllerClient;
  before(async () => {
    await p.writeConfig({ env: { VERSION: 'v1' } });
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr);
    client = ControllerClient.connect(p.dir);
  });
  after(() => p.cleanup());

  const web = async (): Promise<ServiceStatus> => (await client.status()).services[0]!;

  it('an instance killed 5 times quickly comes back on its own: 2/2 healthy, restarts and backoff shown meanwhile', async () => {
    const victim = (await web()).instances[0]!;
    const seen: InstanceView[] = [];
    const degraded: string[] = [];
    let pid = victim.pid!;
    // Given a serving 2-instance service, when one instance is SIGKILLed five times, each time as
    // soon as its new process exists
    for (let kill = 1; kill <= 5; kill++) {
      process.kill(pid, 'SIGKILL');
      if (kill === 5) break;
      const next = await waitFor(
        `the instance's process after kill ${kill}`,
        async () => {
          const s = await web();
          const i = s.instances.find((x) => x.id === victim.id);
          if (i) seen.push(i);
          if (s.health !== 'Healthy') degraded.push(s.health);
          return i?.state === 'running' && i.pid !== null && i.pid !== pid && i;
        },
        20_000,
      );
      pid = next.pid!;
    }
    // Then status shows it failed (a crash loop), with its restarts and when it is tried next
    const failed = await waitFor(
      'the crash loop in status',
      async () => {
        const s = await web();
        const i = s.instances.find((x) => x.id === victim.id);
        if (s.health !== 'Healthy') degraded.push(s.health);
        return i?.state === 'failed' && i.restarts >= 4 && i;
      },
      10_000,
    ).catch(() => seen.find((i) => i.state === 'failed'));
    assert.ok(failed, `the instance was never shown failed; states seen: ${[...new Set(seen.map((i) => i.state))].join(', ')}`);
    assert.ok(
      typeof failed.nextRestartAt === 'number' && failed.nextRestartAt > failed.lastExit!.at,
      'a failed instance of the serving release has a next retry time',
    );
    assert.equal(failed.lastExit?.signal ?? 'SIGKILL', 'SIGKILL');
    assert.ok(degraded.includes('Degraded'), 'the service is shown degraded while an instance is down');

    // And it comes back by itself: two healthy instances, the same one (same id and port)
    const healed = await waitFor(
      'the service back at 2/2 healthy',
      async () => {
        const s = await web();
        const ok = s.instances.filter((i) => i.state === 'running' && i.healthy && !i.retiring);
        return s.health === 'Healthy' && ok.length === 2 && s;
      },
      30_000,
    );
    const again = healed.instances.find((i) => i.id === victim.id)!;
    assert.equal(again.port, victim.port);
    assert.ok(again.restarts >= 5, `restarts: ${again.restarts}`);
    assert.equal(again.nextRestartAt, null);
    const events = await client.events({ service: 'web' });
    assert.ok(
      events.events.some((e) => e.type === 'instance.failed' && /next try in/.test(e.message)),
      'the event says when it is tried next',
    );
  });
});
