/**
 * Every controller API endpoint refuses a request without the right token: 401 with the stable
 * code UNAUTHORIZED, and nothing done (the shutdown endpoint included). Real controller, real HTTP.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestProject } from '../support/project.js';
import { apiEndpoints } from '../../src/api/server.js';
import type { ControllerFile } from '../../src/controller/paths.js';

/** A concrete path for a pattern: service names become "web", ids "1". */
function examplePath(pattern: RegExp): string {
  return pattern.source
    .replace(/^\^/, '')
    .replace(/\$$/, '')
    .replaceAll('([^/]+)', 'web')
    .replaceAll('(\\d+)', '1')
    .replaceAll('\\/', '/')
    .replaceAll('\\.', '.');
}

describe('controller API authentication (real controller)', () => {
  const p = new TestProject();
  let info: ControllerFile;
  before(async () => {
    await p.writeConfig({ instances: 1 });
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr);
    info = p.controllerInfo();
  });
  after(() => p.cleanup());

  it('answers 401 UNAUTHORIZED on every endpoint without the right token', async () => {
    // The dashboard's static files are public on purpose (they hold no data): test/api/dashboard-static.test.ts.
    const endpoints = apiEndpoints().filter((e) => !e.public);
    assert.ok(endpoints.length >= 16, `only ${endpoints.length} endpoints found`);
    const wrong = info.token.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
    const cases: [string, Record<string, string>][] = [
      ['no token', {}],
      ['wrong token', { authorization: `Bearer ${wrong}` }],
      ['token of another length', { authorization: `Bearer ${info.token}x` }],
      ['token in another scheme', { authorization: `Basic ${info.token}` }],
    ];
    for (const { method, pattern } of endpoints) {
      const path = examplePath(pattern);
      assert.match(path, pattern, `example path for ${pattern}`);
      for (const [what, headers] of cases) {
        const res = await fetch(`http://127.0.0.1:${info.port}${path}`, {
          method,
          headers: { ...headers, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
          body: method === 'POST' ? JSON.stringify({ stopAll: true, full: true }) : undefined,
        });
        const body = (await res.json()) as { error?: { code?: string; kind?: string } };
        assert.equal(res.status, 401, `${method} ${path} with ${what}`);
        assert.equal(body.error?.code, 'UNAUTHORIZED', `${method} ${path} with ${what}`);
        assert.equal(body.error?.kind, 'unauthorized');
      }
    }
    // Nothing was done: the controller still runs and the service still has its instance.
    const status = await fetch(`http://127.0.0.1:${info.port}/v1/status`, { headers: { authorization: `Bearer ${info.token}` } });
    assert.equal(status.status, 200);
    const s = (await status.json()) as { services: { instances: unknown[] }[] };
    assert.equal(s.services[0]?.instances.length, 1);
  });
});
