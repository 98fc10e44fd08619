import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProviderError } from '../analysis/provider.js';
import { SlipwayError } from '../core/errors.js';
import { LATENCY_BUCKETS_MS, type PoolStats, type RouterStats } from '../router/types.js';
import type { FleetMember } from './fleet-runtime.js';
import { fleetStats } from './fleet-stats.js';

const pool = (release: number, ok: number, errors: number): PoolStats => ({
  release,
  requests: ok + errors,
  byClass: { '1xx': 0, '2xx': ok, '3xx': 0, '4xx': 0, '5xx': errors },
  latencyBuckets: LATENCY_BUCKETS_MS.map(() => 0)
    .concat([0])
    .map((_, i) => (i === 2 ? ok + errors : 0)),
  latencySumMs: 3 * (ok + errors),
  inFlight: 0,
});

/** A host whose agent answers `stats` with these counters (or fails as an unreachable host does). */
const host = (name: string, answer: RouterStats | Error): FleetMember =>
  ({
    name,
    agent: { call: async () => (answer instanceof Error ? Promise.reject(answer) : answer) },
  }) as unknown as FleetMember;

describe('a fleet service counters', () => {
  it('sums every host router per release, and changes its boot id when any host router restarts', async () => {
    const stats = (boot: string, p1: PoolStats[]): RouterStats => ({
      bootId: boot,
      services: [
        { service: 'web.production', pools: p1, inFlightByBackend: {} },
        { service: 'api.production', pools: [pool(1, 99, 99)], inFlightByBackend: {} },
      ],
    });
    const a = await fleetStats(
      [host('h1', stats('a', [pool(1, 70, 0), pool(2, 20, 10)])), host('h2', stats('b', [pool(1, 80, 0), pool(2, 30, 5)]))],
      'web.production',
    );
    const [web] = a.services;
    assert.deepEqual(
      web!.pools.map((p) => [p.release, p.requests, p.byClass['5xx'], p.latencyBuckets[2]]),
      [
        [1, 150, 0, 150],
        [2, 65, 15, 65],
      ],
    );
    const b = await fleetStats([host('h1', stats('a', [])), host('h2', stats('c', []))], 'web.production');
    assert.notEqual(a.bootId, b.bootId);
  });

  it('a host that cannot be read fails the reading, naming it: never a pass on the hosts that answered', async () => {
    const lost = SlipwayError.of('SSH_CONNECTION_LOST', 'no answer from 10.0.0.12 for 3s');
    await assert.rejects(
      fleetStats([host('10.0.0.11', { bootId: 'a', services: [] }), host('10.0.0.12', lost)], 'web.production'),
      (err: Error) => err instanceof ProviderError && /10\.0\.0\.12 \(SSH_CONNECTION_LOST/.test(err.message),
    );
  });
});
