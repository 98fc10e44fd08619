import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfigText } from './load.js';
import { problemsOf } from './config-testing.js';

const base = `app: a
services:
  web: { source: ., start: node s.js, port: 8080 }
`;

describe('loadBalancer: in slipway.yaml', () => {
  test('haproxy with its defaults; absent means the built-in router', () => {
    assert.equal(parseConfigText(base, 'slipway.yaml', { dir: '/app' }).config.loadBalancer, undefined);
    const c = parseConfigText(`${base}loadBalancer:\n  haproxy: { healthPath: /healthz }\n`, 'slipway.yaml', { dir: '/app' }).config;
    assert.deepEqual(c.loadBalancer, { haproxy: { healthPath: '/healthz', checkInterval: 1000 } });
  });

  test('bad values are problems at their line and column, with the allowed keys suggested', () => {
    const problems = problemsOf(
      `${base}loadBalancer:\n  haproxy:\n    healthPath: "/a b"\n    checkInterval: 10ms\n    chekInterval: 1s\n`,
    );
    assert.deepEqual(
      problems.map((p) => `${p.line}:${p.column} ${p.path}`),
      ['6:17 loadBalancer.haproxy.healthPath', '7:20 loadBalancer.haproxy.checkInterval', '8:5 loadBalancer.haproxy.chekInterval'],
    );
    assert.match(problems[0]!.message, /without spaces/);
    assert.match(problems[1]!.message, /at least 100ms/);
    assert.match(problems[2]!.suggestion ?? '', /checkInterval/);
  });
});
