/**
 * The event stream (GET /v1/events, server-sent events): against a real controller, a client that
 * disconnects and comes back with Last-Event-ID gets every event and audit entry recorded in
 * between, once; `slipway events -f` prints them. Against a real SQLite store and a real HTTP
 * server, a client that stops reading is dropped with a final `dropped` event instead of being
 * buffered for without end.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestProject, CLI } from '../support/project.js';
import { ControllerClient } from '../../src/client/client.js';
import { followEvents, type StreamMessage } from '../../src/client/sse.js';
import { waitFor } from '../../src/core/wait-for.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { serveEventStream } from '../../src/api/event-stream.js';

describe('event stream on a real controller', () => {
  const p = new TestProject();
  let client: ControllerClient;

  before(async () => {
    await p.writeConfig({ instances: 1 });
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    client = ControllerClient.connect(p.dir);
  });
  after(() => p.cleanup());

  it('a reconnect with Last-Event-ID loses nothing and repeats nothing', async () => {
    const seen: StreamMessage[] = [];
    // First connection: from now on; cut once the first restart's events arrive.
    const first = new AbortController();
    let start = '';
    const firstDone = followEvents(client, { signal: first.signal }, (m) => {
      if (m.type === 'ready') start = m.id;
      else seen.push(m);
    });
    await waitFor('the stream to open', () => start !== '', 10_000);
    const r1 = await p.cli(['restart', 'web', '--wait']);
    assert.equal(r1.code, 0, r1.stderr);
    await waitFor(
      'the first restart to be seen healthy on the stream',
      () => seen.some((m) => m.type === 'event' && m.data.type === 'rollout.healthy'),
      20_000,
    );
    first.abort();
    await firstDone;
    const lastId = seen.at(-1)!.id;
    const firstCount = seen.length;

    // While disconnected: another restart and a token change (an audit entry of no service).
    const r2 = await p.cli(['restart', 'web', '--wait']);
    assert.equal(r2.code, 0, r2.stderr);
    const t = await p.cli(['tokens', 'create', '--role', 'viewer', '--name', 'stream-test']);
    assert.equal(t.code, 0, t.stderr);

    // The store now holds everything; the second connection must bring exactly the rest.
    const startEvent = Number(start.split('.')[0]);
    const startAudit = Number(start.split('.')[1]);
    const stored = (await client.events({ after: startEvent })).events.map((e) => e.id);
    const audited = (await client.audit({})).entries.filter((a) => a.id > startAudit).map((a) => a.id);
    assert.ok(stored.length > 0 && audited.length > 0);
    const lastStored = `${stored.at(-1)}.${audited.at(-1)}`;
    const second = new AbortController();
    const secondDone = followEvents(client, { after: lastId, signal: second.signal }, (m) => {
      if (m.type !== 'ready') seen.push(m);
    });
    await waitFor(`the second connection to reach ${lastStored}`, () => seen.at(-1)?.id === lastStored, 10_000);
    second.abort();
    await secondDone;

    assert.ok(seen.length > firstCount, 'the second connection brought what happened in between');
    const events = seen.flatMap((m) => (m.type === 'event' ? [m.data.id] : []));
    const audits = seen.flatMap((m) => (m.type === 'audit' ? [m.data.id] : []));
    assert.deepEqual(events, stored, 'every event once, in order');
    assert.deepEqual(audits, audited, 'every audit entry once, in order');
    assert.ok(
      seen.some((m) => m.type === 'audit' && m.data.action === 'token.create'),
      'the token change made while disconnected is there',
    );
    // Ids only grow: a client may resume from any of them.
    const ids = seen.map((m) => m.id.split('.').map(Number) as [number, number]);
    for (let i = 1; i < ids.length; i++)
      assert.ok(ids[i]![0] >= ids[i - 1]![0] && ids[i]![1] >= ids[i - 1]![1], `ids grow: ${seen[i - 1]!.id} then ${seen[i]!.id}`);
  });

  it("a token limited to other environments sees none of this one's events, only entries of no environment", async () => {
    const made = await p.cli(['tokens', 'create', '--role', 'viewer', '--env', 'elsewhere', '--name', 'limited', '--json']);
    assert.equal(made.code, 0, made.stderr);
    const limited = new ControllerClient(client.info, undefined, (JSON.parse(made.stdout) as { value: string }).value);
    const got: StreamMessage[] = [];
    let ready = false;
    const stop = new AbortController();
    const done = followEvents(limited, { signal: stop.signal }, (m) => {
      if (m.type === 'ready') ready = true;
      else got.push(m);
    });
    await waitFor('the limited stream to open', () => ready, 10_000);
    const r = await p.cli(['restart', 'web', '--wait']);
    assert.equal(r.code, 0, r.stderr);
    const t = await p.cli(['tokens', 'create', '--role', 'viewer', '--name', 'seen-by-all']);
    assert.equal(t.code, 0, t.stderr);
    await waitFor(
      'the token change on the limited stream',
      () => got.some((m) => m.type === 'audit' && m.data.action === 'token.create'),
      10_000,
    );
    stop.abort();
    await done;
    assert.deepEqual(
      got.filter((m) => m.type === 'event' || (m.type === 'audit' && m.data.environment !== null)).map((m) => m.id),
      [],
      'nothing of environment "local"',
    );
    await assert.rejects(
      limited.inEnv('local').eventStream({}, () => undefined),
      (err: { code?: string }) => err.code === 'FORBIDDEN',
    );
  });

  it('slipway events -f prints events as they happen, and a bad Last-Event-ID is refused with its code', async () => {
    const child = spawn(process.execPath, [CLI, 'events', '-f', 'web', '--json'], { cwd: p.dir, env: { ...process.env, NO_COLOR: '1' } });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    const lines = () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as StreamMessage);
    try {
      // The stream is open once the CLI printed `ready`; a restart then shows up in its output.
      await waitFor('events -f to connect', () => lines().some((m) => m.type === 'ready'), 10_000);
      const r = await p.cli(['restart', 'web', '--wait']);
      assert.equal(r.code, 0, r.stderr);
      await waitFor(
        'events -f to print the restart',
        () => lines().some((m) => m.type === 'event' && m.data.type === 'rollout.healthy'),
        20_000,
      );
      const types = lines().flatMap((m) => (m.type === 'event' ? [m.data.type] : m.type === 'audit' ? [`audit:${m.data.action}`] : []));
      assert.ok(types.includes('rollout.started'), types.join(', '));
      assert.ok(types.includes('audit:restart'), types.join(', '));
    } finally {
      child.kill('SIGINT');
      await new Promise((r) => child.once('exit', r));
    }
    await assert.rejects(
      client.eventStream({ after: 'yesterday' }, () => undefined),
      (err: { code?: string }) => err.code === 'EVENT_CURSOR_INVALID',
    );
  });
});

describe('event stream and a client that stops reading (real SQLite, real HTTP)', () => {
  let dir: string;
  let store: SqliteStore;
  let server: Server;
  let ended: Promise<void>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-sse-'));
    store = new SqliteStore(join(dir, 'state.db'));
    await store.migrate();
    // ~16 MB of events: far more than the socket buffers of loopback hold.
    const blob = 'x'.repeat(4000);
    for (let i = 0; i < 4000; i++)
      await store.appendEvent({
        environment: 'local',
        service: 'web',
        rolloutId: null,
        type: 'test.big',
        message: `event ${i}`,
        data: { blob },
      });
    let serverDone!: () => void;
    ended = new Promise((r) => (serverDone = r));
    server = createServer((req, res) => {
      void serveEventStream(
        store,
        req,
        res,
        { allowed: null },
        { event: 0, audit: 0 },
        {
          pollMs: 50,
          heartbeatMs: 60_000,
          drainTimeoutMs: 500,
        },
      ).finally(serverDone);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ends the stream with a `dropped` event naming where to resume, holding no more than a socket buffer', async () => {
    const port = (server.address() as { port: number }).port;
    const socket = connect(port, '127.0.0.1');
    socket.write(`GET /v1/events HTTP/1.1\r\nhost: x\r\naccept: text/event-stream\r\n\r\n`);
    socket.pause(); // reads nothing
    await Promise.race([ended, new Promise((_, rej) => setTimeout(() => rej(new Error('the slow client was never dropped')), 20_000))]);
    // Now read what it was sent: it ends with the `dropped` event, whose cursor is the last id sent.
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    socket.resume();
    await waitFor('the dropped event', () => /event: dropped\ndata: .*\n\n/.test(text), 10_000);
    socket.destroy();
    const ids = [...text.matchAll(/^id: (\d+)\.0$/gm)].map((m) => Number(m[1]));
    const dropped = JSON.parse(/event: dropped\ndata: (.*)\n/.exec(text)![1]!) as { cursor: string; reason: string };
    assert.equal(dropped.reason, 'slow-client');
    assert.equal(dropped.cursor, `${ids.at(-1)}.0`, 'the cursor is the last event sent');
    assert.ok(ids.length < 4000, `it stopped before sending everything (${ids.length} sent)`);
  });
});
