/**
 * Zero downtime beyond GETs: non-idempotent POSTs across a rolling update are each executed
 * exactly once and none fails; an open WebSocket and an SSE stream on the old release keep working
 * through the update until the drain deadline, and are then closed cleanly (no reset, no event cut
 * in half), after which new connections reach the new release.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { TestProject } from '../support/project.js';
import { startLoad } from '../support/load.js';
import { openEventStream, openWebSocket } from '../support/streams.js';
import { waitFor } from '../../src/core/wait-for.js';
import { ControllerClient } from '../../src/client/client.js';

describe('rolling update with POSTs and long-lived connections (real processes)', () => {
  const p = new TestProject();
  const workLog = join(p.dir, 'work.log');
  let client: ControllerClient;
  before(async () => {
    await p.writeConfig({ env: { VERSION: 'v1', WORK_LOG: workLog } });
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr);
    client = ControllerClient.connect(p.dir);
  });
  after(() => p.cleanup());

  it('POSTs across a rolling update: none fails, none is executed twice, every one acknowledged was executed', async () => {
    await p.writeConfig({ env: { VERSION: 'v2', WORK_LOG: workLog } });
    const load = startLoad(`${p.url}work`, { method: 'POST', body: (seq) => `job-${seq}`, concurrency: 4, classify: (b) => b.trim() });
    await waitFor('some POSTs before the deploy', () => load.snapshot().ok > 50);
    const deploy = await p.cli(['deploy', 'web', '--wait']);
    await waitFor('some POSTs after the deploy', () => load.snapshot().ok > 50 + 20);
    const result = await load.stop();
    assert.equal(deploy.code, 0, deploy.stderr);
    assert.deepEqual(result.failures, [], 'no POST failed');

    const executed = readFileSync(workLog, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ') as [string, string]);
    const times = new Map<string, number>();
    for (const [job] of executed) times.set(job, (times.get(job) ?? 0) + 1);
    const twice = [...times].filter(([, n]) => n > 1).map(([job]) => job);
    assert.deepEqual(twice, [], 'no job executed twice');
    const acked = [...result.bodies.keys()].map((b) => b.replace(/^done /, ''));
    assert.equal(acked.length, result.ok, 'every answer names a different job');
    assert.deepEqual(
      acked.filter((job) => !times.has(job)),
      [],
      'every acknowledged job was executed',
    );
    assert.equal(times.size, result.sent, 'every job sent was executed once');
    const releases = new Set(executed.map(([, instance]) => instance.split('-')[1]));
    assert.deepEqual([...releases].sort(), ['1', '2'], 'both releases executed jobs');
  });

  it('an open WebSocket and SSE stream survive the update until the drain deadline, then close cleanly', async () => {
    // Given a WebSocket and an event stream on the serving release (3)
    const before = (await client.status()).services[0]!.currentRelease!;
    const ws = await openWebSocket(`${p.url}ws`);
    const first = await ws.send('hello');
    assert.match(first, /^v2 web-\d+-\w+: hello$/);
    const sse = await openEventStream(`${p.url}events`);
    await waitFor('a few events', () => sse.events.length >= 3);
    const sseInstance = sse.events[0]!.split(' ')[1];

    const wsInstance = first.split(' ')[1]!.slice(0, -1);

    // When a new release rolls out, and the old instances holding them are taken out of traffic
    await p.writeConfig({ env: { VERSION: 'v3', WORK_LOG: workLog } });
    const deploying = p.cli(['deploy', 'web', '--wait']);
    const draining = async (id: string) => (await client.status()).services[0]!.instances.find((i) => i.id === id)?.retiring === true;
    await waitFor("the WebSocket's instance to drain", () => draining(wsInstance), 30_000, 10);
    // Then the old connections still work while their instance drains, on the old release
    assert.equal(await ws.send('still there?'), `v2 ${wsInstance}: still there?`);
    await waitFor("the event stream's instance to drain", () => draining(sseInstance!), 30_000, 10);
    const eventsAtDrain = sse.events.length;
    const deploy = await deploying;
    assert.equal(deploy.code, 0, deploy.stderr);
    const web = (await client.status()).services[0]!;
    assert.equal(web.currentRelease, before + 1);
    assert.deepEqual(
      web.traffic.filter((t) => t.backends > 0).map((t) => t.release),
      [before + 1],
      'new requests go to the new release only',
    );

    // And they close cleanly at the drain deadline (stopTimeout 5s), not by a reset
    await waitFor('both long-lived connections to end', () => ws.ended !== undefined && sse.ended !== undefined, 20_000);
    assert.equal(ws.ended!.how, 'clean', `WebSocket: ${ws.ended!.detail}`);
    assert.equal(sse.ended!.how, 'clean', `SSE: ${sse.ended!.detail}`);
    assert.ok(sse.events.length > eventsAtDrain, 'events kept flowing while the instance drained');
    // Every event whole and in order, from the one old instance
    const numbers = sse.events.map((e) => {
      const [version, instance, n] = e.split(' ');
      assert.equal(version, 'v2');
      assert.equal(instance, sseInstance);
      return Number(n);
    });
    assert.deepEqual(
      numbers,
      numbers.map((_, i) => i),
      'no event lost or cut',
    );

    // And new connections reach the new release
    const ws2 = await openWebSocket(`${p.url}ws`);
    assert.match(await ws2.send('hi'), /^v3 /);
    ws2.close();
    const sse2 = await openEventStream(`${p.url}events`);
    await waitFor('an event of the new release', () => sse2.events.length > 0);
    assert.match(sse2.events[0]!, /^v3 /);
    sse2.close();
    assert.ok(existsSync(workLog));
  });
});
