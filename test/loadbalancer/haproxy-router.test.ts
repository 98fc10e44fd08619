/**
 * What only the HAProxy TrafficRouter does (the shared behaviour is in router-contract.test.ts):
 * HAProxy's refusals as errors, the read-back check, unsupported routes refused before anything
 * changes, and a start that fails saying why. Real HAProxy, loopback only.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SlipwayError } from '../../src/core/errors.js';
import { freePort } from '../../src/core/free-port.js';
import { HaproxyRouter } from '../../src/loadbalancer/haproxy/haproxy-router.js';
import type { ServiceRoute } from '../../src/router/types.js';

const code = (c: string) => (e: unknown) => e instanceof SlipwayError && e.code === c;

describe('HaproxyRouter (real HAProxy)', () => {
  let dir: string;
  let router: HaproxyRouter;
  const route = (port: number): ServiceRoute => ({
    service: 'web',
    listen: { host: '127.0.0.1', port: 0 },
    pools: [{ release: 1, weight: 1, backends: [{ id: 'web-1-a', host: '127.0.0.1', port }] }],
  });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-haproxy-'));
    router = new HaproxyRouter({ stateDir: join(dir, 'haproxy') });
    await router.ensureRunning();
  });
  afterEach(async () => {
    await router.shutdown().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('turns HAProxy’s text refusals into HAPROXY_COMMAND_FAILED quoting command and answer', async () => {
    await router.setRoute(route(await freePort()));
    await assert.rejects(router.api.setWeight('be_web', 'r9-nope', 5), (e: unknown) => {
      assert.ok(e instanceof SlipwayError && e.code === 'HAPROXY_COMMAND_FAILED');
      assert.match(e.message, /`set weight be_web\/r9-nope 5`: No such server\./);
      return true;
    });
    await assert.rejects(router.api.setWeight('be_web', 'r1-web-1-a', 300), /Absolute weight can only be between 0 and 256/);
  });

  it('reads the state back: a server put in maintenance behind Slipway is a listed difference, and the next setRoute sets it again', async () => {
    const r = route(await freePort());
    await router.setRoute(r);
    await router.api.setState('be_web', 'r1-web-1-a', 'maint');
    await assert.rejects(router.verify((await router.routes())[0]!), (e: unknown) => {
      assert.ok(e instanceof SlipwayError && e.code === 'HAPROXY_STATE_MISMATCH');
      assert.deepEqual((e.details as { differences: string[] }).differences, ['be_web/r1-web-1-a is in maint state, expected ready']);
      return true;
    });
    const h = await router.health();
    assert.equal(h.ok, false);
    assert.match(h.problems[0] ?? '', /is in maint state, expected ready/);
    await router.setRoute(r);
    assert.deepEqual((await router.health()).problems, []);
  });

  it('refuses header rules and sticky cookies before changing anything', async () => {
    const r = route(await freePort());
    await router.setRoute(r);
    const before = await router.api.serverStates('be_web');
    await assert.rejects(
      router.setRoute({ ...r, pools: [], rules: [{ match: { header: { 'x-canary': '1' } }, release: 1 }] }),
      code('HAPROXY_UNSUPPORTED'),
    );
    await assert.rejects(router.setRoute({ ...r, pools: [], stickiness: 'cookie' }), code('HAPROXY_UNSUPPORTED'));
    assert.deepEqual(await router.api.serverStates('be_web'), before);
  });

  it('a listener port taken by another process fails the change with HAProxy’s own reason, and the running HAProxy keeps serving', async () => {
    const taken: Server = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    await router.setRoute(route(await freePort()));
    const pid = router.pid;
    try {
      await assert.rejects(
        router.setRoute({ ...route(await freePort()), service: 'api', listen: { host: '127.0.0.1', port } }),
        (e: unknown) => {
          assert.ok(e instanceof SlipwayError && e.code === 'HAPROXY_START_FAILED', String(e));
          assert.match(e.message, /cannot bind socket|Address already in use/);
          return true;
        },
      );
      assert.equal(router.pid, pid, 'the old HAProxy still serves');
      assert.deepEqual(
        (await router.routes()).map((r) => r.service),
        ['web'],
        'the refused route was not kept',
      );
      assert.equal(router.alive(), true);
    } finally {
      taken.close();
    }
  });
});
