import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { healthCheckFromConfig } from './health-check.js';

const base = { interval: 1000, timeout: 2000, healthyAfter: 1, unhealthyAfter: 3 };

describe('healthCheckFromConfig', () => {
  it('defaults to HTTP GET / when no probe is given', () => {
    assert.deepEqual(healthCheckFromConfig(base), { kind: 'http', path: '/', timeoutMs: 2000 });
  });
  it('maps path, tcp and command', () => {
    assert.deepEqual(healthCheckFromConfig({ ...base, path: '/healthz' }), { kind: 'http', path: '/healthz', timeoutMs: 2000 });
    assert.deepEqual(healthCheckFromConfig({ ...base, tcp: true }), { kind: 'tcp', timeoutMs: 2000 });
    assert.deepEqual(healthCheckFromConfig({ ...base, command: 'true', timeout: 500 }), {
      kind: 'command',
      command: 'true',
      timeoutMs: 500,
    });
  });
});
