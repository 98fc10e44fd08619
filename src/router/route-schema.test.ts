import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SlipwayError } from '../core/errors.js';
import { parseServiceRoute } from './route-schema.js';

const ok = {
  service: 'web',
  listen: { host: '127.0.0.1', port: 8080 },
  pools: [{ release: 1, weight: 1, backends: [{ id: 'i1', host: '127.0.0.1', port: 9000 }] }],
};

test('a valid route parses unchanged', () => {
  assert.deepEqual(parseServiceRoute(ok, 'web'), ok);
});

test('every problem is reported at once, with its path', () => {
  const bad = {
    service: 'web',
    listen: { host: '', port: 8080 },
    extra: 1,
    pools: [
      { release: 1, weight: 1, backends: [{ id: 'i1', host: 'h', port: 0 }] },
      { release: 1, weight: 1, backends: [{ id: 'i1', host: 'h', port: 1 }] },
    ],
  };
  assert.throws(
    () => parseServiceRoute(bad),
    (e: SlipwayError) => {
      assert.equal(e.code, 'ROUTE_INVALID');
      assert.equal(e.httpStatus, 400);
      assert.match(e.message, /listen\.host/);
      assert.match(e.message, /pools\.0\.backends\.0\.port/);
      assert.match(e.message, /extra/);
      return true;
    },
  );
  const dup = { ...ok, pools: [ok.pools[0], { ...ok.pools[0] }] };
  assert.throws(() => parseServiceRoute(dup), /release 1 appears in more than one pool.*backend "i1" appears more than once/);
  assert.throws(() => parseServiceRoute(ok, 'api'), /does not match the URL's service "api"/);
});

test('rules, stickiness and preview are validated with every problem reported', () => {
  const full = {
    ...ok,
    rules: [{ match: { header: { 'X-Canary': 'yes' } }, release: 2 }],
    stickiness: 'cookie',
    preview: { host: '127.0.0.1', port: 0, release: 2 },
  };
  assert.deepEqual(parseServiceRoute(full, 'web'), full);
  const bad = {
    ...ok,
    rules: [
      { match: { header: {} }, release: -1 },
      { match: { header: { 'bad name': 'x', 'X-A': 'a', 'x-a': 'b' } }, release: 1 },
      { match: {}, release: 1 },
    ],
    stickiness: 'session',
    preview: { host: '127.0.0.1', port: 8080, release: 1.5 },
  };
  assert.throws(
    () => parseServiceRoute(bad, 'web'),
    (e: SlipwayError) => {
      assert.equal(e.code, 'ROUTE_INVALID');
      for (const path of [
        /rules\.0\.match\.header: expected at least one/,
        /rules\.0\.release/,
        /rules\.1\.match\.header\.bad name/,
        /rules\.2\.match\.header/,
        /stickiness/,
        /preview\.release/,
      ])
        assert.match(e.message, path);
      return true;
    },
  );
  // Cross-field checks run once the shapes are right.
  const clash = {
    ...ok,
    rules: [{ match: { header: { 'X-A': 'a', 'x-a': 'b' } }, release: 1 }],
    preview: { host: '0.0.0.0', port: 8080, release: 1 },
  };
  assert.throws(
    () => parseServiceRoute(clash, 'web'),
    /rules\.0\.match\.header\.x-a: header "x-a" appears more than once.*preview\.port: port 8080 is already the service's listen port/,
  );
});
