import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probe } from '../../src/health/probe.js';
import { HealthMonitor } from '../../src/health/health-monitor.js';
import { waitFor } from '../../src/core/wait-for.js';
import { pidAlive as processAlive } from '../../src/core/process.js';

function listen(server: { listen: (port: number, host: string, cb: () => void) => unknown; address: () => unknown }): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

/** A port where nothing listens: bound by the OS, then released. */
async function closedPort(): Promise<number> {
  const s = createTcpServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

describe('probe (real servers and commands)', () => {
  let server: Server;
  let port: number;
  let dir: string;
  const hung = new Set<import('node:http').ServerResponse>();
  let connections = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-probe-'));
    server = createServer((req, res) => {
      connections++;
      if (req.url === '/healthz') {
        res.end('ok');
        return;
      }
      if (req.url === '/down') {
        res.statusCode = 503;
        res.end('database   unreachable\n');
        return;
      }
      if (req.url === '/big') {
        res.statusCode = 500;
        res.end('x'.repeat(1_000_000));
        return;
      }
      if (req.url === '/hang') {
        hung.add(res);
        return;
      }
      res.statusCode = 404;
      res.end();
    });
    port = await listen(server);
  });
  after(async () => {
    for (const res of hung) res.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });
  const target = () => ({ host: '127.0.0.1', port, cwd: dir, env: {} });

  it('HTTP 2xx passes and does not keep the connection open', async () => {
    const r = await probe({ kind: 'http', path: '/healthz', timeoutMs: 2000 }, target());
    assert.equal(r.ok, true);
    assert.match(r.detail, /^GET \/healthz → 200 in \d+ms: ok$/);
    await waitFor(
      'server to see the probe connection closed',
      async () => {
        const n = await new Promise<number>((res) => server.getConnections((_e, c) => res(c)));
        return n === 0;
      },
      2000,
    );
  });

  it('HTTP non-2xx fails with status and a body excerpt', async () => {
    const r = await probe({ kind: 'http', path: '/down', timeoutMs: 2000 }, target());
    assert.equal(r.ok, false);
    assert.match(r.detail, /^GET \/down → 503 in \d+ms: database unreachable$/);
  });

  it('HTTP reads only an excerpt of a large body', async () => {
    const r = await probe({ kind: 'http', path: '/big', timeoutMs: 2000 }, target());
    assert.equal(r.ok, false);
    assert.ok(r.detail.length < 400, `detail too long: ${r.detail.length}`);
  });

  it('HTTP connection refused', async () => {
    const r = await probe({ kind: 'http', path: '/', timeoutMs: 2000 }, { ...target(), port: await closedPort() });
    assert.equal(r.ok, false);
    assert.equal(r.detail, 'GET /: ECONNREFUSED');
  });

  it('HTTP times out on a server that never answers', async () => {
    const before = connections;
    const r = await probe({ kind: 'http', path: '/hang', timeoutMs: 150 }, target());
    assert.equal(r.ok, false);
    assert.equal(r.detail, 'timed out after 150ms');
    assert.ok(r.durationMs >= 140 && r.durationMs < 2000, `durationMs ${r.durationMs}`);
    assert.equal(connections, before + 1);
  });

  it('an aborted probe fails at once', async () => {
    const ac = new AbortController();
    const p = probe({ kind: 'http', path: '/hang', timeoutMs: 10_000 }, target(), ac.signal);
    ac.abort();
    const r = await p;
    assert.deepEqual([r.ok, r.detail], [false, 'aborted']);
  });

  it('TCP connect passes on a listening port and fails on a closed one', async () => {
    const ok = await probe({ kind: 'tcp', timeoutMs: 2000 }, target());
    assert.equal(ok.ok, true);
    assert.match(ok.detail, /^connected in \d+ms$/);
    const refused = await probe({ kind: 'tcp', timeoutMs: 2000 }, { ...target(), port: await closedPort() });
    assert.deepEqual([refused.ok, refused.detail], [false, 'connect ECONNREFUSED']);
  });

  it('command runs in cwd with PORT and target env; exit 0 passes', async () => {
    writeFileSync(join(dir, 'marker'), 'here');
    const r = await probe(
      { kind: 'command', command: 'test "$(cat marker)" = here && test "$PORT" = 4321 && echo "$GREETING"', timeoutMs: 5000 },
      { ...target(), port: 4321, env: { GREETING: 'hi' } },
    );
    assert.deepEqual([r.ok, r.detail], [true, 'exit 0: hi']);
  });

  it('command with a non-zero exit fails with the end of its output', async () => {
    const r = await probe({ kind: 'command', command: 'echo "not ready: migrations pending" >&2; exit 1', timeoutMs: 5000 }, target());
    assert.deepEqual([r.ok, r.detail], [false, 'exit 1: not ready: migrations pending']);
  });

  it('command that outlives its timeout is killed with its whole process group', async () => {
    const r = await probe({ kind: 'command', command: 'sleep 30 & echo $! > sleeper.pid; wait', timeoutMs: 300 }, target());
    assert.deepEqual([r.ok, r.detail], [false, 'timed out after 300ms']);
    const pid = Number(readFileSync(join(dir, 'sleeper.pid'), 'utf8'));
    assert.ok(pid > 0);
    await waitFor('background sleep to be killed', () => !processAlive(pid), 3000);
  });
});

describe('HealthMonitor (real server)', () => {
  it('turns healthy, then unhealthy after the server stops answering', async () => {
    let status = 200;
    const server = createServer((_req, res) => {
      res.statusCode = status;
      res.end();
    });
    const port = await listen(server);
    const monitor = new HealthMonitor();
    try {
      const flips: boolean[] = [];
      monitor.onChange((_id, s) => flips.push(s.healthy));
      monitor.watch(
        'web-1',
        { kind: 'http', path: '/', timeoutMs: 500 },
        { host: '127.0.0.1', port, cwd: '/', env: {} },
        { intervalMs: 30, healthyAfter: 2, unhealthyAfter: 2 },
      );
      await waitFor('healthy', () => monitor.get('web-1')?.healthy, 5000);
      status = 503;
      await waitFor('unhealthy', () => monitor.get('web-1')?.healthy === false, 5000);
      const s = monitor.get('web-1')!;
      assert.equal(s.everHealthy, true);
      assert.ok(s.consecutiveFailures >= 2);
      assert.match(s.lastResult!.detail, /→ 503/);
      // first pass (not yet healthy), healthy, first failure (still healthy), unhealthy
      assert.deepEqual(flips.slice(0, 4), [false, true, true, false]);
    } finally {
      await monitor.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
