/**
 * CRC-32 (the gzip polynomial) of a concatenation from the CRCs of its parts, as zlib's
 * `crc32_combine` computes it: crc(A‖B) = crc(A)·x^(8·|B|) ⊕ crc(B) in GF(2)[x] modulo the
 * polynomial. Node exposes `zlib.crc32` but not the combine, and an archive made of cached segments
 * (ADR 0015) needs the CRC of the whole tar without reading the cached parts again.
 */

/** The reflected CRC-32 polynomial. */
const POLY = 0xedb88320;

/** a·b modulo the polynomial (both reflected, as zlib's multmodp). */
function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** x^(2^k) modulo the polynomial, for k = 0…31. */
const X2N: number[] = (() => {
  const table: number[] = [];
  let p = 0x40000000; // x^1
  table.push(p);
  for (let k = 1; k < 32; k++) table.push((p = multModP(p, p)));
  return table;
})();

/** x^(n·2^k) modulo the polynomial. */
function x2nModP(n: number, k: number): number {
  let p = 0x80000000; // x^0
  while (n > 0) {
    if (n % 2 === 1) p = multModP(X2N[k & 31]!, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

/** x^(8·n) by length: tar entries are whole 512-byte blocks, so an archive has few distinct lengths. */
const shifts = new Map<number, number>();

/** The CRC-32 of A‖B, given crc(A), crc(B) and the length of B in bytes. */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  let shift = shifts.get(lengthB);
  if (shift === undefined) {
    shift = x2nModP(lengthB, 3);
    if (shifts.size < 4096) shifts.set(lengthB, shift);
  }
  return (multModP(shift, crcA >>> 0) ^ crcB) >>> 0;
}
