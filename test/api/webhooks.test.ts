/**
 * Webhooks end to end: a real local receiver that fails (500), then hangs, then succeeds gets every
 * rollout event it subscribed to, retried with backoff; a second receiver that never answers holds
 * a request open while the rollout goes on to the end, so neither holds a rollout up. Loopback only.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestProject } from '../support/project.js';
import { waitFor } from '../../src/core/wait-for.js';
import type { WebhookPayload } from '../../src/notifications/payload.js';

interface Received {
  attempt: number;
  headers: IncomingMessage['headers'];
  body: string;
}

async function receiver(
  answer: (attempt: number, res: ServerResponse) => void,
): Promise<{ server: Server; url: string; got: Map<string, Received[]> }> {
  const got = new Map<string, Received[]>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const id = String(req.headers['x-slipway-delivery']);
      const list = got.get(id) ?? [];
      list.push({ attempt: list.length + 1, headers: req.headers, body });
      got.set(id, list);
      answer(list.length, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got };
}

describe('webhooks (real controller, real receivers)', () => {
  const p = new TestProject();
  let flaky: Awaited<ReturnType<typeof receiver>>;
  let blackHole: Awaited<ReturnType<typeof receiver>>;
  const held: ServerResponse[] = [];
  before(async () => {
    // Each delivery: the first attempt fails, the second hangs past the timeout, the third succeeds.
    flaky = await receiver((attempt, res) => {
      if (attempt === 1) res.writeHead(500).end('down');
      else if (attempt === 2) held.push(res);
      else res.writeHead(204).end();
    });
    blackHole = await receiver((_attempt, res) => held.push(res));
    await p.writeConfig({
      instances: 1,
      tail: `notifications:
  webhooks:
    - url: ${flaky.url}
      events: [started, succeeded, failed]
      timeout: 500ms
    - url: ${blackHole.url}?secret=s3cr3t
      format: slack
      timeout: 1m
`,
    });
  });
  after(async () => {
    for (const res of held) res.destroy();
    await p.cleanup();
    flaky.server.close();
    blackHole.server.close();
  });

  it('delivers started and succeeded through a failure and a hang, while a receiver that never answers holds nothing up', async () => {
    const up = await p.cli(['up']); // --wait: returns once the rollout is Healthy
    assert.equal(up.code, 0, up.stderr + up.stdout);
    // The black hole got "started" and has not answered it, yet the rollout has ended.
    await waitFor(
      'the black hole to hold the started event',
      () => [...blackHole.got.values()].some((l) => l.some((r) => /:rocket:/.test(r.body))),
      15_000,
    );
    const s = await p.status();
    assert.equal(s.services[0]!.rollout?.phase, 'Healthy');

    const delivered = await waitFor(
      'started and succeeded delivered to the flaky receiver',
      () => {
        const done = [...flaky.got.values()].filter((l) => l.length >= 3).map((l) => JSON.parse(l[2]!.body) as WebhookPayload);
        return done.length >= 2 ? done : undefined;
      },
      30_000,
    ).catch((err: unknown) => {
      // What each side saw: the receiver's attempts per delivery, the controller's account of them.
      const seen = [...flaky.got.entries()].map(([id, l]) => `${id}: ${l.length} attempt(s)`).join('; ');
      const log = readFileSync(join(p.dir, '.slipway/controller.log'), 'utf8')
        .split('\n')
        .filter((l) => /webhook/.test(l))
        .join('\n');
      throw new Error(`${String(err)}\nreceiver: ${seen}\ncontroller:\n${log}`);
    });
    const events = delivered.map((d) => d.event).sort();
    assert.deepEqual(events, ['rollout.started', 'rollout.succeeded']);
    for (const list of flaky.got.values()) {
      assert.equal(list.length, 3, 'one failure, one hang, one success: no more attempts');
      // The same payload each attempt, so a receiver can drop duplicates by id.
      assert.equal(new Set(list.map((r) => r.body)).size, 1);
      assert.equal(list[0]!.headers['content-type'], 'application/json');
    }
    const succeeded = delivered.find((d) => d.event === 'rollout.succeeded')!;
    assert.equal(succeeded.version, 1);
    assert.equal(succeeded.app, 'test');
    assert.equal(succeeded.environment, 'local');
    assert.equal(succeeded.service, 'web');
    assert.equal(succeeded.rollout?.phase, 'Healthy');
    assert.equal(succeeded.rollout?.toRelease, 1);
    assert.ok(!Number.isNaN(Date.parse(succeeded.at)));

    // Slack format: { text } with the app, service, environment and what happened.
    const slack = JSON.parse([...blackHole.got.values()][0]![0]!.body) as { text: string };
    assert.match(slack.text, /^:rocket: \*test\/web\* in local: deploy #\d+ started \(release – → 1\)/);
  });

  it('logs failed attempts naming the receiver by its origin only (a webhook URL often holds a secret)', () => {
    const log = readFileSync(join(p.dir, '.slipway/controller.log'), 'utf8');
    assert.match(log, /webhook http:\/\/127\.0\.0\.1:\d+: rollout\.started \S+ attempt 1 failed \(answered 500\); retrying in 1000ms/);
    assert.match(log, /attempt 2 failed \(no answer within 500ms\)/);
    assert.ok(!log.includes('s3cr3t') && !log.includes('/hook'));
  });
});
