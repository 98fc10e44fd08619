/**
 * The controller's log is JSON (pino) with one line per API request carrying its request id, the
 * same id the answer's X-Request-Id header has (the caller's own, or a new one); no token value is
 * ever written to it, whether the token is good, unknown or malformed.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestProject } from '../support/project.js';
import { waitFor } from '../../src/core/wait-for.js';

interface Line {
  level: string;
  time: string;
  component: string;
  msg: string;
  reqId?: string;
  method?: string;
  path?: string;
  status?: number;
  ms?: number;
  actor?: string | null;
}

describe('controller log: JSON lines, request ids, no token values', () => {
  const p = new TestProject();
  let base = '';
  let admin = '';
  const log = () => readFileSync(join(p.dir, '.slipway/controller.log'), 'utf8');
  const lines = () =>
    log()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Line);

  before(async () => {
    await p.writeConfig({ instances: 1 });
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    base = `http://127.0.0.1:${p.controllerInfo().port}`;
    admin = readFileSync(join(p.dir, '.slipway/token'), 'utf8').trim();
  });
  after(() => p.cleanup());

  it("logs each request with the caller's X-Request-Id and answers with it; makes one up otherwise", async () => {
    const res = await fetch(`${base}/v1/status`, { headers: { authorization: `Bearer ${admin}`, 'x-request-id': 'trace-abc.1' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-request-id'), 'trace-abc.1');
    const other = await fetch(`${base}/v1/health`, { headers: { authorization: `Bearer ${admin}`, 'x-request-id': 'bad id with spaces' } });
    const made = other.headers.get('x-request-id') ?? '';
    assert.match(made, /^[0-9a-f-]{36}$/, 'an unusable id is replaced by a new one');
    const line = await waitFor('the request line', () => lines().find((l) => l.reqId === 'trace-abc.1'));
    assert.equal(line.component, 'api');
    assert.equal(line.method, 'GET');
    assert.equal(line.path, '/v1/status');
    assert.equal(line.status, 200);
    assert.equal(typeof line.ms, 'number');
    assert.match(line.actor ?? '', /^local:/);
    assert.ok(!Number.isNaN(Date.parse(line.time)));
    await waitFor('the made-up id in the log', () => lines().some((l) => l.reqId === made));
    // The controller's own lines are JSON too.
    assert.ok(lines().some((l) => l.component === 'controller' && /listening on 127\.0\.0\.1:\d+/.test(l.msg)));
  });

  it('restart --wait follows the rollout through the event stream (its request is in the log)', async () => {
    const before = lines().filter((l) => l.path === '/v1/events').length;
    const r = await p.cli(['restart', 'web', '--wait']);
    assert.equal(r.code, 0, r.stderr);
    // The stream's line is written when it closes, which the CLI does on exit.
    const events = await waitFor('the event stream request line', () => {
      const l = lines().filter((x) => x.path === '/v1/events');
      return l.length > before && l;
    });
    assert.equal(events.at(-1)!.status, 200);
    assert.match(events.at(-1)!.actor ?? '', /^local:/);
  });

  it('never writes a token value, good, unknown or malformed', async () => {
    const created = await p.cli(['tokens', 'create', '--role', 'viewer', '--name', 'log-test', '--json']);
    assert.equal(created.code, 0, created.stderr);
    const viewer = (JSON.parse(created.stdout) as { value: string }).value;
    const unknown = 'slw_' + 'A'.repeat(43);
    for (const [token, id] of [
      [viewer, 'with-viewer'],
      [unknown, 'with-unknown'],
      ['not a token at all', 'with-garbage'],
    ] as const)
      await fetch(`${base}/v1/status?token=${encodeURIComponent(token)}`, {
        headers: { authorization: `Bearer ${token}`, 'x-request-id': id },
      });
    await waitFor('the three request lines', () =>
      ['with-viewer', 'with-unknown', 'with-garbage'].every((id) => lines().some((l) => l.reqId === id)),
    );
    const text = log();
    for (const v of [viewer, unknown, admin]) assert.ok(!text.includes(v), 'a token value is in controller.log');
    const refused = lines().find((l) => l.reqId === 'with-unknown')!;
    assert.equal(refused.status, 401);
    assert.equal(refused.actor, null);
    assert.equal(lines().find((l) => l.reqId === 'with-viewer')!.actor, 'log-test');
  });
});
