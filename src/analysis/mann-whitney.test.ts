import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EXACT_MAX_WORK, exactDistribution, hodgesLehmannShift, mannWhitneyU, median } from './mann-whitney.js';
import { normalCdf, normalQuantile, normalSf } from './normal.js';

/** |actual − expected| ≤ tol · max(1, |expected|)… but relative for tiny values. */
function close(actual: number, expected: number, rel = 1e-9, message?: string): void {
  const tol = rel * Math.max(Math.abs(expected), 1e-300);
  assert.ok(Math.abs(actual - expected) <= tol, `${message ?? ''} expected ${expected}, got ${actual}`);
}

/**
 * The number of arrangements of m x-values and n y-values with U = u, for every u, as exact
 * integers: the coefficients of the Gaussian binomial [m+n choose m]_q = Π_{k=1..m} (1 − q^(n+k)) / (1 − q^k),
 * multiplied and divided one factor at a time in BigInt (an algorithm independent of the one tested).
 */
function gaussianBinomialCounts(m: number, n: number): bigint[] {
  const poly: bigint[] = new Array<bigint>(m * n + m + n + 2).fill(0n);
  poly[0] = 1n;
  let degree = 0;
  for (let k = 1; k <= m; k++) {
    const step = n + k;
    for (let j = degree + step; j >= step; j--) poly[j]! -= poly[j - step]!;
    const newDegree = degree + n;
    for (let j = k; j <= newDegree; j++) poly[j]! += poly[j - k]!;
    for (let j = newDegree + 1; j <= degree + step; j++) poly[j] = 0n;
    degree = newDegree;
  }
  return poly.slice(0, m * n + 1);
}

/** a / b as the nearest double, for huge integers (keeps 64 significant bits before rounding). */
function ratio(a: bigint, b: bigint): number {
  if (a === 0n) return 0;
  const shift = b.toString(2).length - a.toString(2).length + 64;
  return Number((a << BigInt(shift)) / b) * 2 ** -shift;
}

describe('normal distribution', () => {
  test('survival function matches scipy.stats.norm.sf to ~1e-12 relative, deep into the tail', () => {
    // Reference values: scipy 1.17 norm.sf(z).
    const ref: [number, number][] = [
      [0, 0.5],
      [0.5, 0.3085375387259869],
      [1.96, 0.024997895148220435],
      [2.9, 0.0018658133003840375],
      [3.1, 0.0009676032132183563],
      [5, 2.866515718791933e-7],
      [10, 7.61985302416047e-24],
      [-2, 0.9772498680518208],
    ];
    for (const [z, p] of ref) close(normalSf(z), p, 1e-12, `sf(${z})`);
    close(normalCdf(-1.96), 0.024997895148220435, 1e-12);
  });

  test('quantile inverts the cdf (scipy norm.ppf)', () => {
    close(normalQuantile(0.95), 1.6448536269514722, 1e-12);
    close(normalQuantile(0.975), 1.959963984540054, 1e-12);
    close(normalQuantile(0.001), -3.090232306167813, 1e-12);
  });
});

describe('Mann–Whitney U', () => {
  // The example of scipy.stats.mannwhitneyu's documentation (Conover, Practical Nonparametric
  // Statistics): ages of male and female employees. U1 = 17; exact two-sided p = 1/9.
  const males = [19, 22, 16, 29, 24];
  const females = [20, 11, 17, 12];

  test('exact distribution: the textbook example gives U = 17 and p = 0.1111 (scipy method="exact")', () => {
    const r = mannWhitneyU(males, females, { method: 'exact' });
    assert.equal(r.u1, 17);
    assert.equal(r.u2, 3);
    assert.equal(r.method, 'exact');
    close(r.pValue, 0.1111111111111111, 1e-12);
    close(mannWhitneyU(males, females, { alternative: 'greater' }).pValue, 0.05555555555555555, 1e-12);
    close(mannWhitneyU(males, females, { alternative: 'less' }).pValue, 0.9682539682539683, 1e-12);
  });

  test('normal approximation with continuity correction matches scipy method="asymptotic"', () => {
    const opts = { method: 'asymptotic' } as const;
    close(mannWhitneyU(males, females, opts).pValue, 0.11134688653314041);
    close(mannWhitneyU(males, females, { ...opts, alternative: 'greater' }).pValue, 0.055673443266570206);
    close(mannWhitneyU(males, females, { ...opts, alternative: 'less' }).pValue, 0.9669037101389033);
  });

  test('ties: average ranks and the tie-corrected variance match scipy (U = 31.5)', () => {
    const x = [1, 2, 2, 3, 3, 3, 4, 5, 7, 7];
    const y = [2, 3, 4, 4, 5, 5, 6, 6, 6, 8, 9];
    const r = mannWhitneyU(x, y, { method: 'exact' });
    assert.equal(r.u1, 31.5);
    assert.equal(r.ties, true);
    assert.equal(r.method, 'asymptotic', 'exact is not valid with ties, so it falls back');
    close(r.pValue, 0.10225915059503264);
    close(mannWhitneyU(x, y, { alternative: 'greater' }).pValue, 0.9559067030534808);
    close(mannWhitneyU(x, y, { alternative: 'less' }).pValue, 0.05112957529751632);
  });

  test('exact DP for 15 vs 18 values matches scipy (U = 77, two-sided p = 0.0364)', () => {
    // Drawn with numpy default_rng(1): normal(0,1) × 15 and normal(0.8,1) × 18, rounded to 3 places.
    const a = [0.346, 0.822, 0.33, -1.303, 0.905, 0.446, -0.537, 0.581, 0.365, 0.294, 0.028, 0.547, -0.736, -0.163, -0.482];
    const b = [
      1.399, 0.84, 0.508, 0.018, 0.543, 0.808, 0.524, 2.094, 1.807, -1.911, -1.089, 0.625, 0.378, 1.014, 1.017, 2.918, -0.312, 0.422,
    ];
    const r = mannWhitneyU(a, b);
    assert.equal(r.method, 'exact');
    assert.equal(r.u1, 77);
    close(r.pValue, 0.03636560713315205);
    close(mannWhitneyU(a, b, { alternative: 'less' }).pValue, 0.018182803566576027);
    close(mannWhitneyU(a, b, { alternative: 'greater' }).pValue, 0.9834503328286467);
    close(mannWhitneyU(a, b, { method: 'asymptotic' }).pValue, 0.03762499025733997);
    close(r.shift, -0.494, 1e-12);
  });

  test('exact distribution: the classic 3 × 3 table, sums to 1, symmetric', () => {
    // m = n = 3: counts of U = 0..9 are 1 1 2 3 3 3 3 2 1 1 (a classic table), total C(6,3) = 20.
    assert.deepEqual(
      [...exactDistribution(3, 3).pmf].map((p) => Math.round(p * 20)),
      [1, 1, 2, 3, 3, 3, 3, 2, 1, 1],
    );
    const d = exactDistribution(20, 20);
    close(
      d.pmf.reduce((a, b) => a + b, 0),
      1,
      1e-12,
    );
    for (let u = 0; u <= 400; u++) close(d.pmf[u]!, d.pmf[400 - u]!, 1e-12, `symmetry at ${u}`);
    assert.equal(d.atLeast(0), 1);
    assert.equal(d.atLeast(401), 0);
    close(d.pmf[0]!, 1 / 137846528820, 1e-12, 'U = 0 has one arrangement of C(40, 20)');
  });

  test('exact distribution at 50 × 50 and 100 × 100 equals exact integer counts (BigInt), every value and tail', () => {
    for (const [m, n] of [
      [50, 50],
      [100, 100],
      [30, 70],
    ] as const) {
      const counts = gaussianBinomialCounts(m, n);
      const total = counts.reduce((a, b) => a + b, 0n);
      const d = exactDistribution(m, n);
      let tail = 0n;
      for (let u = m * n; u >= 0; u--) {
        tail += counts[u]!;
        // Every probability and every tail to 1e-11 relative, down to 1/C(200,100) ≈ 1e-59.
        close(d.pmf[u]!, ratio(counts[u]!, total), 1e-11, `${m}×${n} P(U = ${u})`);
        close(d.atLeast(u), ratio(tail, total), 1e-11, `${m}×${n} P(U ≥ ${u})`);
      }
    }
  });

  test('exact p-values match scipy 1.17 method="exact" at 50 × 50, 100 × 100 and 313 × 107', () => {
    // x_i = i + d + 0.5, y_j = j: no ties. References: scipy.stats.mannwhitneyu(x, y, method='exact'), and 'asymptotic'.
    const sample = (m: number, n: number, d: number) =>
      [Array.from({ length: m }, (_, i) => i + d + 0.5), Array.from({ length: n }, (_, j) => j)] as const;
    const ref: [number, number, number, number, number, number, number][] = [
      // m, n, d, U1, two-sided, less, asymptotic two-sided
      [50, 50, 6, 1554, 0.03601780786488047, 0.9822989673546472, 0.036413982444772515],
      [100, 100, 12, 6172, 0.004054778894074808, 0.9979885014487175, 0.004204060060758593],
      [100, 100, 25, 7225, 2.7947156953150243e-8, 0.999999986234897, 5.4698614039932774e-8],
      [100, 100, -3, 4753, 0.5477736437101343, 0.27388682185506713, 0.5469775484511399],
      [313, 107, -140, 12840, 0.0002931695582650438, 0.0001465847791325219, 0.0003151455837815448],
      [313, 107, -175, 9095, 4.3737076996773216e-13, 2.1868538498386608e-13, 1.6960275246549447e-12],
    ];
    for (const [m, n, d, u1, two, less, asymptotic] of ref) {
      const [x, y] = sample(m, n, d);
      const r = mannWhitneyU(x, y, { method: 'exact' });
      assert.equal(r.u1, u1);
      assert.equal(r.method, 'exact');
      close(r.pValue, two, 1e-10, `${m}×${n} two-sided`);
      close(mannWhitneyU(x, y, { method: 'exact', alternative: 'less' }).pValue, less, 1e-10, `${m}×${n} less`);
      // The normal approximation agrees where it is good (p not deep in the tail).
      const approx = mannWhitneyU(x, y, { method: 'asymptotic' }).pValue;
      close(approx, asymptotic, 1e-9, `${m}×${n} asymptotic`);
      if (two > 1e-3) close(r.pValue, approx, 0.1, `${m}×${n} exact near the normal approximation`);
      assert.ok(r.pValue > 0 && r.pValue <= 1);
    }
  });

  test('exact is refused beyond its work bound, naming the way out; auto stays asymptotic there', () => {
    const x = Array.from({ length: 400 }, (_, i) => i + 0.5);
    const y = Array.from({ length: 400 }, (_, j) => j);
    assert.throws(() => mannWhitneyU(x, y, { method: 'exact' }), /400 × 400.*use method 'asymptotic'/);
    assert.equal(mannWhitneyU(x, y).method, 'asymptotic');
    assert.ok((400 * 400 * 400 * 400) / 4 > EXACT_MAX_WORK && (313 * 313 * 107 * 107) / 4 <= EXACT_MAX_WORK);
  });

  test('all values equal: no evidence either way (p = 1)', () => {
    const r = mannWhitneyU([5, 5, 5], [5, 5, 5, 5]);
    assert.equal(r.pValue, 1);
    assert.equal(r.shift, 0);
  });

  test('rejects empty samples and NaN', () => {
    assert.throws(() => mannWhitneyU([], [1]), RangeError);
    assert.throws(() => mannWhitneyU([NaN], [1]), RangeError);
  });
});

describe('Hodges–Lehmann shift', () => {
  test('is the median of all pairwise differences (scipy example: 7)', () => {
    assert.equal(hodgesLehmannShift([19, 22, 16, 29, 24], [20, 11, 17, 12]), 7);
  });

  test('agrees with brute force on random samples, odd and even pair counts', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let trial = 0; trial < 50; trial++) {
      const x = Array.from({ length: 1 + Math.floor(rand() * 30) }, () => Math.round(rand() * 100) / 10);
      const y = Array.from({ length: 1 + Math.floor(rand() * 30) }, () => Math.round(rand() * 100) / 10);
      const diffs: number[] = [];
      for (const a of x) for (const b of y) diffs.push(a - b);
      assert.equal(hodgesLehmannShift(x, y), median(diffs), `trial ${trial}`);
    }
  });
});
