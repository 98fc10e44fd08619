import assert from 'node:assert/strict';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { ManualClock, systemClock, type Clock } from '../../core/clock.js';
import type { Endpoint } from '../provider.js';
import { ProviderError } from '../provider.js';
import { resolveAnalysisSpec } from '../spec.js';
import { httpProvider } from './http-provider.js';
import { probeRelease } from '../../fleet/agent/host-http-probe.js';
import type { InstanceStatus } from '../../drivers/driver.js';

const servers: Server[] = [];

async function instance(handler: RequestListener): Promise<Endpoint> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { host: '127.0.0.1', port: (server.address() as AddressInfo).port };
}

function provider(endpoints: Endpoint[], clock: Clock = systemClock, timeoutMs = 2000) {
  return httpProvider(
    { kind: 'http', path: '/healthz', expect: [200, 204], timeoutMs },
    { service: 'web', release: 3, baseline: 2, spec: resolveAnalysisSpec({ name: 'smoke', metric: 'value' }) },
    {
      stats: () => Promise.reject(new Error('unused')),
      endpoints: (service, release) => (service === 'web' && release === 3 ? endpoints : []),
      clock,
    },
  );
}

const signal = new AbortController().signal;

describe('http provider', () => {
  after(() => {
    for (const s of servers) s.closeAllConnections();
    return Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });

  test('value 1 when every instance answers an expected status on the path', async () => {
    const paths: string[] = [];
    const ok = await instance((req, res) => {
      paths.push(req.url!);
      res.end('ok');
    });
    const empty = await instance((req, res) => {
      paths.push(req.url!);
      res.writeHead(204).end();
    });
    const data = await provider([ok, empty]).measure(signal);
    assert.deepEqual(data, { kind: 'value', value: 1, detail: '2 of 2 instances answered GET /healthz with 200/204' });
    assert.deepEqual(paths, ['/healthz', '/healthz']);
  });

  test('value 0 naming each failing instance with its status and body, or its connection error', async () => {
    const ok = await instance((_req, res) => res.end('ok'));
    const bad = await instance((_req, res) => res.writeHead(503).end('upstream   down\n'));
    const gone = await instance((_req, res) => res.end());
    await new Promise((r) => servers.pop()!.close(r));
    const data = await provider([ok, bad, gone]).measure(signal);
    assert.equal(data.kind, 'value');
    assert.equal(data.kind === 'value' && data.value, 0);
    const detail = data.kind === 'value' ? data.detail : '';
    assert.match(
      detail!,
      new RegExp(
        `^2 of 3 instances failed GET /healthz \\(expected 200/204\\): 127\\.0\\.0\\.1:${bad.port} answered 503 'upstream down'; 127\\.0\\.0\\.1:${gone.port} connect ECONNREFUSED`,
      ),
    );
  });

  test('an instance that does not answer within the timeout fails the check', async () => {
    const clock = new ManualClock();
    let arrived = false;
    const stuck = await instance(() => {
      arrived = true;
    });
    const pending = provider([stuck], clock, 1500).measure(signal);
    for (let i = 0; i < 200 && !arrived; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(arrived, 'the probe reached the instance');
    clock.advance(1500);
    const data = await pending;
    assert.match(
      data.kind === 'value' ? data.detail! : '',
      new RegExp(`1 of 1 instances failed .*127\\.0\\.0\\.1:${stuck.port} GET /healthz timed out after 1500 ms$`),
    );
  });

  test('no instances to probe is a provider error', async () => {
    const p = httpProvider(
      { kind: 'http', path: '/', expect: [200], timeoutMs: 100 },
      { service: 'web', release: 9, baseline: null, spec: resolveAnalysisSpec({ name: 'smoke', metric: 'value' }) },
      { stats: () => Promise.reject(new Error('unused')), endpoints: () => [], clock: systemClock },
    );
    await assert.rejects(
      p.measure(signal),
      (e: unknown) => e instanceof ProviderError && e.message === 'no instances of web release 9 to probe',
    );
  });
  test("instances out of this process' reach are probed where they run (a host agent's probe) and judged alike", async () => {
    const ok = await instance((_req, res) => res.end('ok'));
    const bad = await instance((_req, res) => res.writeHead(500).end('v3 failed'));
    const status = (id: string, e: Endpoint, release = 3): InstanceStatus => ({
      id,
      service: 'web',
      release,
      state: 'running',
      pid: 1,
      port: e.port,
      host: e.host,
      startedAt: 0,
      restarts: 0,
      lastExit: null,
      nextRestartAt: null,
    });
    // Two "hosts", each answering for its own instances as the agent does; release 2 is not asked.
    const hosts = { h1: [status('a', ok), status('old', bad, 2)], h2: [status('b', ok), status('c', bad)] };
    const seen: string[] = [];
    const p = httpProvider(
      { kind: 'http', path: '/', expect: [200], timeoutMs: 2000 },
      { service: 'web', release: 3, baseline: 2, spec: resolveAnalysisSpec({ name: 'smoke', metric: 'value' }) },
      {
        stats: () => Promise.reject(new Error('unused')),
        endpoints: () => [],
        clock: systemClock,
        probeInstances: async (service, release, req) => {
          seen.push(`${service}@${release} ${req.path} ${req.expect.join('/')} ${req.timeoutMs}`);
          const answers = await Promise.all(
            Object.entries(hosts).map(async ([h, list]) =>
              (await probeRelease(list, { service, release, ...req })).map((r) => ({ ...r, where: `${h} ${r.id}` })),
            ),
          );
          return answers.flat();
        },
      },
    );
    const data = await p.measure(signal);
    assert.deepEqual(seen, ['web@3 / 200 2000']);
    assert.deepEqual(data, {
      kind: 'value',
      value: 0,
      detail: "1 of 3 instances failed GET / (expected 200): h2 c answered 500 'v3 failed'",
    });
  });

  test('a host that cannot be asked is a provider error, never a pass', async () => {
    const p = httpProvider(
      { kind: 'http', path: '/', expect: [200], timeoutMs: 100 },
      { service: 'web', release: 3, baseline: null, spec: resolveAnalysisSpec({ name: 'smoke', metric: 'value' }) },
      {
        stats: () => Promise.reject(new Error('unused')),
        endpoints: () => [],
        clock: systemClock,
        probeInstances: () => Promise.reject(new ProviderError('http', 'cannot probe every host: h2 could not be asked')),
      },
    );
    await assert.rejects(p.measure(signal), (e: unknown) => e instanceof ProviderError && /h2 could not be asked/.test(e.message));
  });
});
