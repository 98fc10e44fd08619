import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { crc32Combine } from './crc32-combine.js';

test('crc32Combine gives the CRC of the concatenation, for empty, small and large parts', () => {
  for (const [a, b] of [
    [0, 0],
    [0, 5],
    [7, 0],
    [1, 1],
    [513, 4096],
    [100_000, 70_001],
    [3, 1 << 20],
  ] as const) {
    const A = randomBytes(a);
    const B = randomBytes(b);
    assert.equal(crc32Combine(crc32(A), crc32(B), b), crc32(Buffer.concat([A, B])), `${a} + ${b} bytes`);
  }
});
