/**
 * Differential HTTP conformance: every case in conformance/cases.ts goes through the router and
 * through nginx to the same recording backend. The oracle, for the router: the backend never
 * receives a request the client did not send, nor more or fewer body bytes than the client framed,
 * nor framing a lenient backend could read differently; no client receives bytes of another
 * exchange (a fresh "victim" request after each case gets exactly its own answer); and where
 * nginx refuses a request, the router refuses it too (differences are listed per case and in
 * docs/router.md).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CASES, type ConformanceCase } from './conformance/cases.js';
import { nginxInstalled, startNginx, type Nginx } from './conformance/nginx.js';
import { exchangeRaw, type RawResult } from './conformance/raw-client.js';
import { echo, RecordingBackend, type ReceivedRequest } from './conformance/recording-backend.js';
import { route, startRouter, type RouterFixture } from './helpers.js';

interface Outcome {
  statuses: Array<number | null>;
  received: ReceivedRequest[];
  violations: string[];
  result: RawResult;
  victimOk: boolean;
}

let backend: RecordingBackend;
let router: RouterFixture;
let routerPort = 0;
let nginx: Nginx | null = null;
let victims = 0;
const table: string[] = [];

async function run(port: number, c: ConformanceCase): Promise<Outcome> {
  backend.reset(c.respond ?? echo);
  const want = c.responses ?? 1;
  const result = await exchangeRaw(port, c.steps, {
    wantResponses: want,
    headMethods: c.headMethods,
    readDelayMs: c.readDelayMs,
    deadlineMs: c.deadlineMs,
  });
  const received = backend.requests.slice();
  const violations = backend.violations.slice();
  const statuses: Array<number | null> = result.responses.map((r) => r.status);
  while (statuses.length < c.status.length) statuses.push(null);
  const victim = `/victim-${++victims}`;
  const v = await exchangeRaw(port, [{ send: `GET ${victim} HTTP/1.1\r\nHost: x\r\n\r\n` }], { wantResponses: 1, deadlineMs: 5000 });
  const r = v.responses[0];
  const victimOk =
    v.responses.length === 1 &&
    r!.status === 200 &&
    r!.body.toString() === `echo GET ${victim} 0\n` &&
    !r!.raw.includes('ATTACKER') &&
    v.rest === '';
  return { statuses, received, violations, result, victimOk };
}

const show = (o: Outcome) =>
  `${o.statuses.map((s) => s ?? 'cut').join(',')}${o.received.length ? ` fwd ${o.received.length}` : ''}${o.violations.length ? ' VIOLATION' : ''}${o.victimOk ? '' : ' VICTIM-FAIL'}`;

describe('HTTP conformance: router vs nginx', { concurrency: false }, () => {
  before(async () => {
    backend = await new RecordingBackend().start();
    router = await startRouter(['--grace-ms', '1000', '--upstream-timeout-ms', '3000', '--body-timeout-ms', '1500']);
    const installed = await router.router.applyRoute({
      ...route('conf', [{ release: 1, weight: 1, backends: [{ id: 'b1', host: '127.0.0.1', port: backend.port }] }]),
    });
    routerPort = installed.listen.port;
    if (nginxInstalled()) nginx = await startNginx(backend.port, { body: 2, upstream: 2 });
    else console.log('# nginx is not installed (scripts/install-system-deps.sh): the router is checked alone');
  });

  after(async () => {
    if (table.length) console.log(`case | router | nginx ${nginx?.version ?? ''}\n${table.join('\n')}`);
    await router?.close();
    await nginx?.close();
    await backend?.close();
  });

  for (const c of CASES) {
    test(c.name, async () => {
      const o = await run(routerPort, c);
      const n = nginx === null ? null : await run(nginx.port, c);
      table.push(`${c.name} | ${show(o)} | ${n === null ? '-' : show(n)}`);

      assert.deepEqual(o.violations, [], 'the backend received framing a lenient backend could read differently');
      const smuggled = o.received.filter((r) => r.target.includes('SMUGGLED'));
      assert.deepEqual(
        smuggled.map((r) => r.target),
        [],
        'a request the client never sent reached the backend',
      );
      assert.deepEqual(
        o.received.map((r) => ({ method: r.method, target: r.target, body: r.body.toString('latin1') })),
        c.forwarded.map((e) => ({ method: e.method, target: e.target, body: e.body ?? '' })),
        'what the backend received',
      );
      assert.deepEqual(o.statuses, c.status, 'what the client was answered');
      assert.ok(o.victimOk, 'the next client got exactly its own answer');
      const problem = c.check?.(o.result) ?? null;
      assert.equal(problem, null);
      const nginxStatus = n?.statuses[0] ?? null;
      if (n !== null && n.received.length === 0 && nginxStatus !== null && nginxStatus >= 400 && c.forwarded.length > 0) {
        assert.ok(c.nginx, `nginx refuses this request (${nginxStatus}) but the router forwards it`);
      }
    });
  }
});
