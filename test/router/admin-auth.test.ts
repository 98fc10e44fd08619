/**
 * The router's admin API belongs to the user who runs Slipway: a token from a 0600 file for every
 * endpoint (but the read-only `/metrics`), JSON bodies only, nothing a web page could send, and
 * state files no one else can read.
 */
import assert from 'node:assert/strict';
import { statSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readJsonIfExists } from '../../src/core/atomic-file.js';
import { pidAlive } from '../../src/core/process.js';
import { readToken, type RouterInfoFile } from '../../src/router/state-files.js';
import { route, startRouter, startUpstream, type RouterFixture, type Upstream } from './helpers.js';

interface Raw {
  status: number;
  body: string;
}

function raw(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: { ...headers, ...(body === undefined ? {} : { 'Content-Length': String(Buffer.byteLength(body)) }) },
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const ENDPOINTS: [string, string, string?][] = [
  ['GET', '/v1/health'],
  ['GET', '/v1/routes'],
  ['PUT', '/v1/routes/web', JSON.stringify({ service: 'web', listen: { host: '0.0.0.0', port: 0 }, pools: [] })],
  ['DELETE', '/v1/routes/web'],
  ['POST', '/v1/routes/web/drain', JSON.stringify({ backendIds: ['x'], timeoutMs: 0 })],
  ['GET', '/v1/stats'],
  ['POST', '/v1/shutdown', '{}'],
  ['GET', '/v1/nope'],
];

describe('router admin API authentication', () => {
  let fx: RouterFixture;
  let up: Upstream;
  let port = 0;
  let token = '';
  before(async () => {
    fx = await startRouter();
    up = await startUpstream('app');
    await fx.router.applyRoute(route('web', [{ release: 1, weight: 1, backends: [up.backend('w1')] }]));
    port = readJsonIfExists<RouterInfoFile>(join(fx.stateDir, 'router.json'))!.adminPort;
    token = readToken(fx.stateDir)!;
  });
  after(async () => {
    await up.close();
    await fx.close();
  });

  test('every endpoint answers 401 without the token and with a wrong one', async () => {
    for (const [method, path, body] of ENDPOINTS) {
      const json: Record<string, string> = body === undefined ? {} : { 'Content-Type': 'application/json' };
      const none = await raw(port, method, path, json, body);
      assert.equal(none.status, 401, `${method} ${path} without token: ${none.body}`);
      assert.equal((JSON.parse(none.body) as { error: { code: string } }).error.code, 'ROUTER_UNAUTHORIZED');
      const wrong = await raw(port, method, path, { ...json, Authorization: `Bearer ${token.slice(0, -2)}xx` }, body);
      assert.equal(wrong.status, 401, `${method} ${path} with a wrong token: ${wrong.body}`);
      const basic = await raw(port, method, path, { ...json, Authorization: token }, body);
      assert.equal(basic.status, 401, `${method} ${path} with the token but no Bearer scheme`);
    }
    const routes = await fx.router.routes();
    assert.equal(routes.length, 1, 'nothing changed');
    assert.equal(routes[0]!.listen.host, '127.0.0.1');
    assert.ok(pidAlive(fx.router.pid!), 'still running');
  });

  test('the token works; /metrics needs none (read-only, for Prometheus)', async () => {
    assert.equal((await raw(port, 'GET', '/v1/routes', { Authorization: `Bearer ${token}` })).status, 200);
    const metrics = await raw(port, 'GET', '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /# TYPE slipway_router_requests_total counter/);
    assert.equal(
      (await raw(port, 'POST', '/metrics', { 'Content-Type': 'application/json' }, '{}')).status,
      401,
      'only GET /metrics is open',
    );
  });

  test('a request a web page could send is refused, even with the token', async () => {
    const auth = { Authorization: `Bearer ${token}` };
    // The attack as reported: a cross-origin text/plain POST (a "simple request", no preflight).
    const shutdown = await raw(port, 'POST', '/v1/shutdown', { Origin: 'http://evil.example', 'Content-Type': 'text/plain' }, 'x');
    assert.equal(shutdown.status, 403);
    assert.equal(
      (await raw(port, 'POST', '/v1/shutdown', { ...auth, Origin: 'http://evil.example', 'Content-Type': 'application/json' }, '{}'))
        .status,
      403,
    );
    assert.equal((await raw(port, 'GET', '/metrics', { 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'no-cors' })).status, 403);
    // DNS rebinding: the browser thinks it talks to evil.example.
    const rebound = await raw(port, 'GET', '/v1/routes', { ...auth, Host: `evil.example:${port}` });
    assert.equal(rebound.status, 403);
    assert.match(rebound.body, /ROUTER_FORBIDDEN_ORIGIN/);
    const plain = await raw(port, 'POST', '/v1/shutdown', { ...auth, 'Content-Type': 'text/plain' }, '{}');
    assert.equal(plain.status, 400);
    assert.match(plain.body, /REQUEST_NOT_JSON/);
    const noType = await raw(
      port,
      'PUT',
      '/v1/routes/web',
      auth,
      JSON.stringify({ service: 'web', listen: { host: '0.0.0.0', port: 0 }, pools: [] }),
    );
    assert.equal(noType.status, 400);
    assert.ok(pidAlive(fx.router.pid!), 'still running');
    assert.equal((await fx.router.routes())[0]!.listen.host, '127.0.0.1');
  });

  test('state files are 0600 in a 0700 directory', () => {
    assert.equal(statSync(fx.stateDir).mode & 0o777, 0o700);
    const names = readdirSync(fx.stateDir).sort();
    for (const want of ['router.json', 'router.log', 'routes.json', 'token']) assert.ok(names.includes(want), `${want} exists`);
    for (const name of names) assert.equal(statSync(join(fx.stateDir, name)).mode & 0o777, 0o600, `${name} mode`);
  });
});
