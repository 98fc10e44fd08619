import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { oncePerKey } from './once-per-key.js';

describe('oncePerKey', () => {
  it('reads each distinct key once, however many ask at once, and gives each the answer of its key', async () => {
    const reads: number[] = [];
    const read = oncePerKey(async (n: number) => {
      reads.push(n);
      await new Promise((r) => setImmediate(r));
      return `release ${n}`;
    });
    const asked = [7, 7, 7, 7, 7, 7, 7, 7, 7, 8];
    assert.deepEqual(
      await Promise.all(asked.map(read)),
      asked.map((n) => `release ${n}`),
    );
    assert.deepEqual(reads, [7, 8]);
  });

  it('shares a failed read too: every caller of that key sees the error, and it is not read again', async () => {
    let reads = 0;
    const read = oncePerKey(async (n: number) => {
      reads++;
      throw new Error(`no release ${n}`);
    });
    const results = await Promise.allSettled([read(3), read(3), read(3)]);
    assert.deepEqual(
      results.map((r) => r.status === 'rejected' && (r.reason as Error).message),
      ['no release 3', 'no release 3', 'no release 3'],
    );
    assert.equal(reads, 1);
  });
});
