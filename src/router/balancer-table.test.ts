/**
 * Table tests of Balancer.pick, argo-rollouts style: pools and weights × the weighted draw ×
 * requests in flight × backends already tried → the backend chosen.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Balancer } from './balancer.js';
import { ServiceCounters } from './metrics.js';
import type { Pool } from './types.js';

const pool = (release: number, weight: number, ids: string[]): Pool => ({
  release,
  weight,
  backends: ids.map((id) => ({ id, host: '127.0.0.1', port: 1 })),
});

interface Row {
  name: string;
  pools: Pool[];
  /** The weighted draw, in [0, 1). */
  draw: number;
  inFlight?: Record<string, number>;
  tried?: string[];
  want: string | undefined;
}

const rows: Row[] = [
  { name: 'one pool: the least loaded backend', pools: [pool(1, 1, ['a', 'b'])], draw: 0.99, inFlight: { a: 3, b: 1 }, want: 'b' },
  { name: '1:3 weights, draw in the first quarter → release 1', pools: [pool(1, 1, ['a']), pool(2, 3, ['b'])], draw: 0.2, want: 'a' },
  { name: '1:3 weights, draw past the first quarter → release 2', pools: [pool(1, 1, ['a']), pool(2, 3, ['b'])], draw: 0.3, want: 'b' },
  { name: 'weight 0 gets nothing whatever the draw', pools: [pool(1, 0, ['a']), pool(2, 1, ['b'])], draw: 0, want: 'b' },
  { name: 'a pool without backends gets nothing', pools: [pool(1, 5, []), pool(2, 1, ['b'])], draw: 0, want: 'b' },
  { name: 'no live pool: nothing', pools: [pool(1, 0, ['a'])], draw: 0.5, want: undefined },
  {
    name: 'inside the chosen pool, fewest in flight wins over the other pool being idle',
    pools: [pool(1, 1, ['a', 'b']), pool(2, 1, ['c'])],
    draw: 0.1,
    inFlight: { a: 2, b: 1, c: 0 },
    want: 'b',
  },
  {
    name: 'retry: the weighted pool with an untried backend',
    pools: [pool(1, 1, ['a']), pool(2, 1, ['b'])],
    draw: 0.1,
    tried: ['a'],
    want: 'b',
  },
  {
    name: 'retry: inside a pool, an untried backend even if busier',
    pools: [pool(1, 1, ['a', 'b'])],
    draw: 0.5,
    inFlight: { a: 0, b: 5 },
    tried: ['a'],
    want: 'b',
  },
  {
    name: 'retry: falls back to a weight-0 pool rather than fail',
    pools: [pool(1, 1, ['a']), pool(2, 0, ['z'])],
    draw: 0.5,
    tried: ['a'],
    want: 'z',
  },
  {
    name: 'retry: everything tried → nothing',
    pools: [pool(1, 1, ['a']), pool(2, 0, ['z'])],
    draw: 0.5,
    tried: ['a', 'z'],
    want: undefined,
  },
  {
    name: 'retry among weighted pools follows the weights of the untried ones',
    pools: [pool(1, 1, ['a']), pool(2, 1, ['b']), pool(3, 2, ['c'])],
    draw: 0.4,
    tried: ['a'],
    want: 'c',
  },
];

for (const r of rows) {
  test(`Balancer.pick: ${r.name}`, () => {
    const bal = new Balancer(new ServiceCounters(), () => r.draw);
    bal.setPools(r.pools);
    for (const [id, n] of Object.entries(r.inFlight ?? {})) bal.backends.get(id)!.inFlight = n;
    const tried = r.tried === undefined ? null : r.tried.map((id) => bal.backends.get(id)!);
    assert.equal(bal.pick(tried)?.id, r.want);
  });
}
