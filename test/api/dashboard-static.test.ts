/**
 * The controller serves the web dashboard (ADR 0028): the page and its hashed assets without a
 * token, with a strict Content-Security-Policy and the right caching, and nothing else without
 * one; `slipway dashboard` prints a link whose short-lived token rides in the URL's fragment; the
 * two reads the page added answer with what the page needs. Real controller, real HTTP.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { request } from 'node:http';
import { TestProject } from '../support/project.js';
import type { ControllerFile } from '../../src/controller/paths.js';
import type { TrafficResponse, WhoAmIResponse } from '../../src/api/dashboard-types.js';

/** One GET with raw headers (fetch would decompress and hide content-encoding). */
function rawGet(port: number, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { connection: 'close', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the dashboard served by the controller (real controller)', () => {
  const p = new TestProject();
  let info: ControllerFile;
  before(async () => {
    await p.writeConfig({ instances: 1 });
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr);
    info = p.controllerInfo();
  });
  after(() => p.cleanup());

  it('serves the page without a token, with a strict CSP, no inline script and no caching of the page', async () => {
    const page = await rawGet(info.port, '/');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.equal(page.headers['cache-control'], 'no-cache');
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    const html = page.body.toString();
    // Every script is a file of its own: none has a body.
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/);
    assert.doesNotMatch(html, /\sstyle=|<style/);
    assert.match(html, /<script type="module" crossorigin src="\/assets\/[^"]+\.js">/);
  });

  it('serves hashed assets for a year, gzipped when asked, and refuses names that are not asset files', async () => {
    const html = (await rawGet(info.port, '/')).body.toString();
    const js = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const plain = await rawGet(info.port, js);
    assert.equal(plain.status, 200);
    assert.match(String(plain.headers['content-type']), /^text\/javascript/);
    assert.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable');
    const zipped = await rawGet(info.port, js, { 'accept-encoding': 'gzip, br' });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.ok(zipped.body.length < plain.body.length / 2, `gzip: ${zipped.body.length} of ${plain.body.length} bytes`);
    assert.deepEqual(gunzipSync(zipped.body), plain.body);

    const missing = await rawGet(info.port, '/assets/index-nothere.js');
    assert.equal(missing.status, 404);
    assert.equal((JSON.parse(missing.body.toString()) as { error: { code: string } }).error.code, 'NO_SUCH_ENDPOINT');
    // Anything else still needs a token: the public routes are only the page and its assets.
    for (const path of ['/assets/../.slipway/token', '/assets/%2e%2e%2f.slipway%2ftoken', '/index.html', '/v1/status', '/.slipway/token']) {
      const res = await rawGet(info.port, path);
      assert.equal(res.status, 401, path);
    }
  });

  it('`slipway dashboard` prints a link whose token rides in the fragment, an approver for 12 hours by default', async () => {
    const r = await p.cli(['dashboard']);
    assert.equal(r.code, 0, r.stderr);
    const url = new URL(r.stdout.trim());
    assert.equal(url.origin, `http://127.0.0.1:${info.port}`);
    assert.equal(url.pathname, '/');
    assert.equal(url.search, '', 'never in the query string: that would reach server logs');
    const token = decodeURIComponent(/^#token=(.+)$/.exec(url.hash)![1]!);
    assert.match(r.stderr, /approver for all environments, until \S+ \(revoke with: slipway tokens revoke dashboard:/);
    assert.doesNotMatch(r.stderr, new RegExp(token), 'the token is printed once, on stdout');

    const who = (await (
      await fetch(`${url.origin}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as WhoAmIResponse;
    assert.equal(who.role, 'approver');
    assert.match(who.name, /^dashboard:/);
    assert.deepEqual(who.visibleEnvironments, [who.defaultEnvironment]);
    const listed = await p.cli(['tokens', 'list', '--json']);
    const mine = (JSON.parse(listed.stdout) as { tokens: { name: string; expiresAt: number; createdAt: number }[] }).tokens.find(
      (t) => t.name === who.name,
    )!;
    assert.equal(mine.expiresAt - mine.createdAt, 12 * 3_600_000);

    const bad = await p.cli(['dashboard', '--role', 'king']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /"king" is not a role/);
  });

  it('reads per-release counts with latency buckets for the charts; a viewer may, no token may not', async () => {
    for (let i = 0; i < 5; i++) await (await fetch(p.url)).text();
    const created = await p.cli(['tokens', 'create', '--role', 'viewer', '--name', 'wall']);
    assert.equal(created.code, 0, created.stderr);
    const viewer = created.stdout.trim();
    const res = await fetch(`http://127.0.0.1:${info.port}/v1/services/web/traffic`, { headers: { authorization: `Bearer ${viewer}` } });
    assert.equal(res.status, 200);
    const t = (await res.json()) as TrafficResponse;
    assert.equal(t.service, 'web');
    assert.equal(t.pools.length, 1);
    assert.equal(t.pools[0]!.release, 1);
    assert.ok(t.pools[0]!.requests >= 5);
    assert.equal(t.pools[0]!.latencyBuckets.length, t.bucketsMs.length + 1);
    assert.equal((await fetch(`http://127.0.0.1:${info.port}/v1/services/web/traffic`)).status, 401);
    const nope = await fetch(`http://127.0.0.1:${info.port}/v1/services/nope/traffic`, { headers: { authorization: `Bearer ${viewer}` } });
    assert.equal(nope.status, 404);
  });
});
