/**
 * The two-sample Mann–Whitney U test (Wilcoxon rank-sum), the test Netflix Kayenta uses to
 * compare a canary's metric with its baseline. It asks whether values of one sample tend to be
 * larger than values of the other without assuming any distribution, which suits latencies
 * (skewed, long-tailed) far better than a t-test.
 *
 * Conventions follow scipy.stats.mannwhitneyu so results can be checked against it:
 * U1 counts the pairs (xᵢ, yⱼ) with xᵢ > yⱼ (ties count ½); 'greater' means x tends to be larger.
 */
import { normalSf } from './normal.js';

export type Alternative = 'two-sided' | 'greater' | 'less';

export interface MannWhitneyOptions {
  /**
   * 'greater': x tends to be larger than y (e.g. the canary is slower); 'less': smaller.
   * @default 'two-sided'
   */
  alternative?: Alternative;
  /**
   * 'exact' uses the exact null distribution of U (only valid without ties; falls back to
   * 'asymptotic' when there are ties; refused with a RangeError beyond EXACT_MAX_WORK, about
   * 350 × 350 values); 'asymptotic' the normal approximation with tie and
   * continuity correction; 'auto' picks 'exact' when both samples have at most
   * EXACT_MAX_SAMPLE values and there are no ties.
   * @default 'auto'
   */
  method?: 'auto' | 'exact' | 'asymptotic';
}

export interface MannWhitneyResult {
  n1: number;
  n2: number;
  /** U statistic of x: pairs with x > y plus half the tied pairs. */
  u1: number;
  /** U statistic of y: n1·n2 − u1. */
  u2: number;
  alternative: Alternative;
  method: 'exact' | 'asymptotic';
  /**
   * The z score of the normal approximation for the U the alternative looks at (u1 for 'greater',
   * u2 for 'less', the larger for 'two-sided'), with continuity correction; undefined when exact.
   */
  z: number | undefined;
  pValue: number;
  /** True when some values occur more than once (across both samples). */
  ties: boolean;
  /** Hodges–Lehmann estimate of the shift x − y: the median of all pairwise differences. */
  shift: number;
}

/** Largest sample size for which 'auto' uses the exact distribution. */
export const EXACT_MAX_SAMPLE = 20;

/** Runs the test. Both samples must be non-empty; NaN values are not allowed. */
export function mannWhitneyU(x: readonly number[], y: readonly number[], options: MannWhitneyOptions = {}): MannWhitneyResult {
  const alternative = options.alternative ?? 'two-sided';
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('mannWhitneyU: both samples need at least one value');
  if (x.some(Number.isNaN) || y.some(Number.isNaN)) throw new RangeError('mannWhitneyU: samples must not contain NaN');

  const { rankSumX, tieTerm } = rankSum(x, y);
  const u1 = rankSumX - (n1 * (n1 + 1)) / 2;
  const u2 = n1 * n2 - u1;
  const ties = tieTerm > 0;
  const wanted = options.method ?? 'auto';
  const exact = !ties && (wanted === 'exact' || (wanted === 'auto' && n1 <= EXACT_MAX_SAMPLE && n2 <= EXACT_MAX_SAMPLE));
  if (exact && (n1 * n1 * n2 * n2) / 4 > EXACT_MAX_WORK) {
    throw new RangeError(
      `mannWhitneyU: method 'exact' for ${n1} × ${n2} values needs ${((n1 * n1 * n2 * n2) / 4).toExponential(1)} steps (limit ${EXACT_MAX_WORK.toExponential(0)}); use method 'asymptotic' (accurate at these sizes) or 'auto'`,
    );
  }

  let pValue: number;
  let z: number | undefined;
  if (exact) {
    const dist = exactDistribution(n1, n2);
    const sf = (u: number) => dist.atLeast(u);
    if (alternative === 'greater') pValue = sf(u1);
    else if (alternative === 'less') pValue = sf(u2);
    else pValue = Math.min(1, 2 * sf(Math.max(u1, u2)));
  } else {
    const n = n1 + n2;
    const mu = (n1 * n2) / 2;
    const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
    // scipy's form: each alternative looks at the U of the side it suspects, minus ½ for continuity.
    const u = alternative === 'greater' ? u1 : alternative === 'less' ? u2 : Math.max(u1, u2);
    if (sigma === 0) {
      // Every value is the same: nothing distinguishes the samples.
      z = 0;
      pValue = 1;
    } else {
      z = (u - mu - 0.5) / sigma;
      pValue = Math.min(1, (alternative === 'two-sided' ? 2 : 1) * normalSf(z));
    }
  }
  return { n1, n2, u1, u2, alternative, method: exact ? 'exact' : 'asymptotic', z, pValue, ties, shift: hodgesLehmannShift(x, y) };
}

/** Sum of the (average) ranks of x in the pooled sample, and Σ(t³ − t) over groups of t ties. */
function rankSum(x: readonly number[], y: readonly number[]): { rankSumX: number; tieTerm: number } {
  const pooled: { v: number; fromX: boolean }[] = [];
  for (const v of x) pooled.push({ v, fromX: true });
  for (const v of y) pooled.push({ v, fromX: false });
  pooled.sort((a, b) => a.v - b.v);
  let rankSumX = 0;
  let tieTerm = 0;
  for (let i = 0; i < pooled.length;) {
    let j = i + 1;
    while (j < pooled.length && pooled[j]!.v === pooled[i]!.v) j++;
    const t = j - i;
    const averageRank = (i + 1 + j) / 2; // ranks i+1 … j
    for (let k = i; k < j; k++) if (pooled[k]!.fromX) rankSumX += averageRank;
    tieTerm += t * t * t - t;
    i = j;
  }
  return { rankSumX, tieTerm };
}

/**
 * Largest m²·n²/4 (the number of additions `exactDistribution` performs) for which 'exact' is
 * computed; beyond it (e.g. 400 × 400) 'exact' is refused with a RangeError and 'auto' uses the
 * normal approximation, which is then accurate (both samples are large). 313 × 107 costs 2.8e8
 * additions, about half a second.
 */
export const EXACT_MAX_WORK = 1e9;

/**
 * The exact null distribution of U for sample sizes m and n (no ties), as probabilities.
 *
 * Built with the recurrence on the largest pooled value: it belongs to x with probability
 * i/(i+j), and then beats all j values of y, or to y with probability j/(i+j):
 *   P(i, j; u) = i/(i+j) · P(i−1, j; u−j) + j/(i+j) · P(i, j−1; u).
 * Every step is a convex combination of non-negative numbers: no subtraction, so no
 * cancellation (the product formula Π (1 − q^(n+k)) / (1 − q^k) subtracts counts of size
 * C(m+n, m) from each other and loses every digit of the tail beyond about 40 × 40), and no
 * overflow (counts would pass 1e308 near 515 × 515). Each probability passes through at most
 * m + n combinations, each adding at most 2 ulp of relative error, so every P(u), and every tail
 * sum of them, is accurate to about 2(m + n + mn)·2⁻⁵³ relative (4e-12 at 313 × 107) until it
 * underflows below ~1e-308, where p-values are reported as (near) 0.
 * Work is m²n²/4 additions; see EXACT_MAX_WORK.
 */
export function exactDistribution(m: number, n: number): { pmf: Float64Array; atLeast(u: number): number } {
  if (!Number.isInteger(m) || !Number.isInteger(n) || m < 1 || n < 1)
    throw new RangeError(`exactDistribution: sizes must be positive integers, got ${m} × ${n}`);
  const maxU = m * n;
  // U's distribution is the same for (m, n) and (n, m): iterate over the smaller size.
  const small = Math.min(m, n);
  const large = Math.max(m, n);
  // rows[i] holds P(i, j; ·) for the current j, length i·j + 1.
  const rows: Float64Array[] = Array.from({ length: small + 1 }, (_, i) => new Float64Array(i * large + 1));
  for (const r of rows) r[0] = 1; // j = 0: U = 0 for sure
  for (let j = 1; j <= large; j++) {
    // Ascending i: rows[i − 1] already holds column j, rows[i] still holds column j − 1.
    for (let i = 1; i <= small; i++) {
      const cur = rows[i]!;
      const prev = rows[i - 1]!;
      const a = i / (i + j);
      const b = j / (i + j);
      const top = i * j;
      // Entries above a row's current top are still 0, so no bounds tests are needed.
      for (let u = 0; u <= top; u++) cur[u]! *= b;
      for (let u = j; u <= top; u++) cur[u]! += a * prev[u - j]!;
    }
  }
  const pmf = rows[small]!.slice(0, maxU + 1);
  // Tail sums from the top so small p-values keep their precision.
  const tail = new Float64Array(maxU + 2);
  for (let u = maxU; u >= 0; u--) tail[u] = tail[u + 1]! + pmf[u]!;
  return {
    pmf,
    atLeast(u: number): number {
      const k = Math.ceil(u - 1e-9);
      if (k <= 0) return 1;
      if (k > maxU) return 0;
      return Math.min(1, tail[k]!);
    },
  };
}

/**
 * The Hodges–Lehmann estimate of the shift between two samples: the median of the n1·n2
 * differences xᵢ − yⱼ, found without materialising them (bisection on the value with an
 * O(n1 + n2) count per step), so it stays cheap for samples of many thousands.
 */
export function hodgesLehmannShift(x: readonly number[], y: readonly number[]): number {
  const xs = [...x].sort((a, b) => a - b);
  const ys = [...y].sort((a, b) => a - b);
  const total = xs.length * ys.length;
  if (total === 0) return NaN;
  const lower = kthDifference(xs, ys, Math.floor((total + 1) / 2));
  const upper = total % 2 === 1 ? lower : kthDifference(xs, ys, total / 2 + 1);
  return (lower + upper) / 2;
}

/** The k-th smallest (1-based) of the differences xs[i] − ys[j] of two sorted arrays. */
function kthDifference(xs: number[], ys: number[], k: number): number {
  // How many differences are ≤ d. As xs[i] grows, the first j with xs[i] − ys[j] ≤ d moves right.
  const countAtMost = (d: number): number => {
    let count = 0;
    let j = 0;
    for (const xi of xs) {
      while (j < ys.length && xi - ys[j]! > d) j++;
      count += ys.length - j;
    }
    return count;
  };
  let lo = xs[0]! - ys[ys.length - 1]!;
  let hi = xs[xs.length - 1]! - ys[0]!;
  if (countAtMost(lo) >= k) return lo;
  // Invariant: countAtMost(lo) < k ≤ countAtMost(hi).
  for (let i = 0; i < 200; i++) {
    const mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) break;
    if (countAtMost(mid) >= k) hi = mid;
    else lo = mid;
  }
  // The answer is the smallest actual difference above lo (no difference lies in (lo, hi) but it).
  let best = Infinity;
  let j = ys.length - 1;
  for (let i = xs.length - 1; i >= 0; i--) {
    const xi = xs[i]!;
    // The largest ys[j] with xi − ys[j] > lo gives this xi's smallest difference above lo.
    while (j >= 0 && !(xi - ys[j]! > lo)) j--;
    if (j < 0) break;
    best = Math.min(best, xi - ys[j]!);
  }
  return best;
}

/** The median of a sample (average of the two middle values for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
