import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Balancer } from './balancer.js';
import { ServiceCounters } from './metrics.js';

const be = (id: string) => ({ id, host: '127.0.0.1', port: 1 });

test('least in flight wins; ties rotate round-robin', () => {
  const bal = new Balancer(new ServiceCounters());
  bal.setPools([{ release: 1, weight: 1, backends: [be('a'), be('b'), be('c')] }]);
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map(() => bal.pick(null)!.id),
    ['a', 'b', 'c', 'a', 'b', 'c'],
  );
  bal.backends.get('a')!.inFlight = 2;
  bal.backends.get('b')!.inFlight = 1;
  assert.equal(bal.pick(null)!.id, 'c');
});

test('pools of weight 0 or without backends get nothing; none left means undefined', () => {
  const bal = new Balancer(new ServiceCounters());
  bal.setPools([
    { release: 1, weight: 0, backends: [be('a')] },
    { release: 2, weight: 5, backends: [] },
  ]);
  assert.equal(bal.pick(null), undefined);
  // A retry may still use a weight-0 pool rather than fail the request.
  assert.equal(bal.pick([])!.id, 'a');
});

test('a retry skips the backends already tried, across pools', () => {
  const bal = new Balancer(new ServiceCounters());
  bal.setPools([
    { release: 1, weight: 1, backends: [be('a')] },
    { release: 2, weight: 1, backends: [be('b')] },
  ]);
  const a = bal.backends.get('a')!;
  const b = bal.backends.get('b')!;
  assert.equal(bal.pick([a])!.id, 'b');
  assert.equal(bal.pick([a, b]), undefined);
});

test('a backend that left the table is kept while busy and forgotten once idle', () => {
  const bal = new Balancer(new ServiceCounters());
  bal.setPools([{ release: 1, weight: 1, backends: [be('a'), be('b')] }]);
  bal.backends.get('a')!.inFlight = 1;
  bal.setPools([{ release: 2, weight: 1, backends: [be('c')] }]);
  assert.deepEqual([...bal.backends.keys()].sort(), ['a', 'c']);
  const a = bal.backends.get('a')!;
  a.inFlight = 0;
  bal.released(a);
  assert.deepEqual([...bal.backends.keys()], ['c']);
});
