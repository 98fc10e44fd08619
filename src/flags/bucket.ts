/**
 * Sticky buckets for percentage rollouts and variant weights (ADR 0023, docs/flags.md "Buckets").
 *
 * bucket = murmur3_x86_32(UTF-8 of `${flagKey}:${attributeValue}`, seed) mod 10 000
 *
 * seed 0 places a user for the rollout (in when bucket < percent × 100), seed 1 for the variant
 * (cumulative weights scaled to 10 000). The same user always gets the same buckets, so users in
 * at 10 % stay in at 50 %; the two seeds keep the variant split independent of the rollout. The
 * hash is MurmurHash3 (x86, 32-bit), as Unleash uses, so any language can reproduce the buckets
 * (test/flags/vectors.json lists examples).
 */

export const BUCKETS = 10_000;
export const ROLLOUT_SEED = 0;
export const VARIANT_SEED = 1;

/** The bucket (0 … 9 999) of `value` for flag `key` with `seed`. */
export function bucketOf(key: string, value: string, seed: number): number {
  return murmur3(`${key}:${value}`, seed) % BUCKETS;
}

/** MurmurHash3 x86 32-bit of the UTF-8 bytes of `text`, as an unsigned integer. */
export function murmur3(text: string, seed: number): number {
  const bytes = utf8(text);
  const n = bytes.length;
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = n & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  // The 1 to 3 bytes after the last whole block.
  const tail = n & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= bytes[blocks + 2]! << 16;
    if (tail >= 2) k ^= bytes[blocks + 1]! << 8;
    k ^= bytes[blocks]!;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const encoder = new TextEncoder();
/** ASCII (the usual user id) without allocating through TextEncoder; anything else through it. */
const scratch = new Uint8Array(256);
function utf8(text: string): Uint8Array {
  if (text.length <= scratch.length) {
    let ascii = true;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c > 0x7f) {
        ascii = false;
        break;
      }
      scratch[i] = c;
    }
    if (ascii) return scratch.subarray(0, text.length);
  }
  return encoder.encode(text);
}
