import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CounterLedger, sumServiceStats } from './stats-sum.js';
import type { PoolStats, ServiceStats } from './types.js';

const pool = (release: number, requests: number, inFlight = 0): PoolStats => ({
  release,
  requests,
  byClass: { '1xx': 0, '2xx': requests, '3xx': 0, '4xx': 0, '5xx': 0 },
  latencyBuckets: [requests, 0, 0],
  latencySumMs: requests * 0.5,
  inFlight,
});
const service = (pools: PoolStats[], inFlight: Record<string, number> = {}, unrouted = 0): ServiceStats => ({
  service: 'web',
  pools,
  inFlightByBackend: inFlight,
  unrouted,
  preview: [pool(1, 1)],
  previewUnrouted: 0,
});
const requests = (s: ServiceStats[]): number[] => s[0]!.pools.map((p) => p.requests);

test('sums every counter, bucket and gauge per service and release', () => {
  const [s] = sumServiceStats([[service([pool(1, 3, 1), pool(2, 5)], { a: 1 }, 2)], [service([pool(2, 7, 2)], { a: 1, b: 2 }, 1)]]);
  assert.deepEqual(
    s!.pools.map((p) => [p.release, p.requests, p.byClass['2xx'], p.latencyBuckets[0], p.latencySumMs, p.inFlight]),
    [
      [1, 3, 3, 3, 1.5, 1],
      [2, 12, 12, 12, 6, 2],
    ],
  );
  assert.deepEqual(s!.inFlightByBackend, { a: 2, b: 2 });
  assert.equal(s!.unrouted, 3);
  assert.equal(s!.preview![0]!.requests, 2);
});

test('a retired worker keeps what it counted, without its requests in flight; the sums never go down', () => {
  const ledger = new CounterLedger();
  ledger.record('w1', [service([pool(1, 10, 2)], { a: 2 })]);
  ledger.record('w2', [service([pool(1, 4)])]);
  assert.deepEqual(requests(ledger.total()), [14]);
  ledger.retire('w1');
  const after = ledger.total();
  assert.deepEqual(requests(after), [14]);
  assert.equal(after[0]!.pools[0]!.inFlight, 0);
  assert.deepEqual(after[0]!.inFlightByBackend, {});
  ledger.record('w3', [service([pool(1, 1)])]); // the replacement
  ledger.record('w2', [service([pool(1, 6)])]);
  assert.deepEqual(requests(ledger.total()), [17]);
  ledger.retire('unknown'); // never read: nothing to keep
  assert.deepEqual(requests(ledger.total()), [17]);
});
